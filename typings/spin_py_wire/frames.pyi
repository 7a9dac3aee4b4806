from spin_py.wire.frames import *  # noqa: F403
