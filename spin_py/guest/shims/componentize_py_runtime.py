"""CPython stand-in for componentize-py's built-in `componentize_py_runtime`:
spin-sdk 4.x and 5.x import it, but its functions only exist inside a
WebAssembly component. Any of them called here says so instead of crashing
at import time."""


def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(name)

    def unavailable(*args, **kwargs):
        raise NotImplementedError(f"componentize_py_runtime.{name} exists only inside a WebAssembly component")

    unavailable.__name__ = name
    return unavailable
