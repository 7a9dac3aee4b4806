"""CPython stand-in for ``componentize_py_runtime``, the native module that
componentize-py links into a component. spin-sdk 4.x and 5.x import it (through
their ``componentize_py_async_support``) when they are imported, and call it
only to drive Component Model tasks, streams and futures, which exist only
inside a WebAssembly host. Importing it works; calling any of its functions
says plainly that it cannot work here."""

from collections.abc import Callable
from typing import Any, NoReturn


def _unavailable(name: str) -> Callable[..., Any]:
    def function(*args: Any, **kwargs: Any) -> NoReturn:
        raise NotImplementedError(
            f"componentize_py_runtime.{name}: Component Model streams, futures and tasks exist only "
            "inside a WebAssembly component, and spin-py does not run the SDK code that needs them"
        )

    function.__name__ = function.__qualname__ = name
    return function


# Every function spin-sdk 4.x and 5.x call, so that each is listed in dir() and help().
for _name in (
    "call_task_return",
    "context_get",
    "context_set",
    "future_drop_readable",
    "future_drop_writable",
    "future_read",
    "future_write",
    "promise_get_result",
    "stream_drop_readable",
    "stream_drop_writable",
    "stream_read",
    "stream_write",
    "subtask_drop",
    "waitable_join",
    "waitable_set_drop",
    "waitable_set_new",
):
    globals()[_name] = _unavailable(_name)
del _name


def __getattr__(name: str) -> Callable[..., Any]:
    # Newer componentize-py glue may call functions not listed above.
    if name.startswith("__"):
        raise AttributeError(name)
    return _unavailable(name)
