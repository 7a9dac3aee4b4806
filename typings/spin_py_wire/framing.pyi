from spin_py.wire.framing import *  # noqa: F403
