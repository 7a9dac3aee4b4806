"""Type stubs: a worker loads spin_py/wire by path under this name (spin_py/host/launch.py); mypy reads it as spin_py.wire."""
