from spin_py.wire.control import *  # noqa: F403
