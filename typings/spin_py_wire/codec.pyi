from spin_py.wire.codec import *  # noqa: F403
