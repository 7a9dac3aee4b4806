"""Error texts for the developer: Python's own traceback format, minus the
frames that belong to spin-py, importlib and asyncio, which say nothing about
the app. Plain text, so it reads the same in a terminal and in a browser."""

import asyncio
import importlib
import linecache
import os
import tokenize
import traceback

_HIDDEN = (
    os.path.dirname(os.path.abspath(__file__)) + os.sep,
    os.path.dirname(os.path.abspath(asyncio.__file__)) + os.sep,
    os.path.dirname(os.path.abspath(importlib.__file__)) + os.sep,
    "<frozen importlib",
)


def _trim(exception, seen) -> None:
    if exception is None or id(exception) in seen:
        return
    seen.add(id(exception))
    frames = [frame for frame in exception.stack if not frame.filename.startswith(_HIDDEN)]
    exception.stack = traceback.StackSummary.from_list(frames)
    _trim(exception.__cause__, seen)
    _trim(exception.__context__, seen)
    for member in getattr(exception, "exceptions", None) or ():
        _trim(member, seen)


def describe(error: BaseException) -> str:
    """The traceback of ``error`` (with its causes) as Python would print it, app frames only."""
    summary = traceback.TracebackException.from_exception(error)
    _trim(summary, set())
    return "".join(summary.format())


def keep_sources(paths) -> None:
    """Keep the source lines of ``paths`` for tracebacks, once an instance's filesystem no
    longer has them. linecache drops an entry whose file it cannot stat, except one with no
    modification time (the kind a module's loader provides), so that is how they are kept."""
    for path in paths:
        try:
            with tokenize.open(path) as file:
                lines = file.readlines()
        except (OSError, SyntaxError, UnicodeDecodeError):
            continue
        linecache.cache[path] = (sum(map(len, lines)), None, lines, path)
