from spin_py.wire.rust_text import *  # noqa: F403
