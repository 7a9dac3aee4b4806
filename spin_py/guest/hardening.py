"""Cheap hardening of a worker, set up before any app code runs.

Not a sandbox (spin-py runs the developer's own code; see the README's threat
model), but it stops the accidents a Wasm component could not commit:

- the worker is not dumpable (``prctl(PR_SET_DUMPABLE, 0)``), so other
  processes of the same user, sibling workers included, cannot read its
  /proc/<pid>/environ or memory, nor take its channel with pidfd_getfd;
- the app's manifest and runtime config file cannot be written, renamed or
  removed through Python's file APIs (an audit hook refuses them).

A worker never outlives its host: the base exits when its control channel
closes, and each zygote and instance is killed when its parent exits
(forks.py).
"""

import ctypes
import os
import sys
from typing import Any, NoReturn

PR_SET_DUMPABLE = 4


def not_dumpable() -> bool:
    """True when the kernel took it (Linux); elsewhere nothing to do."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _identity(path: str) -> tuple[int, int] | None:
    try:
        stat = os.stat(path)
    except (OSError, ValueError):
        return None
    return stat.st_dev, stat.st_ino


class _Protected:
    """The files a component may not change, by real path and by inode (a hard
    or symbolic link to them is the same file)."""

    def __init__(self, paths) -> None:
        self.paths = {os.path.realpath(path): path for path in paths}
        self.identities = {_identity(path): path for path in paths} if paths else {}
        self.identities.pop(None, None)

    def match(self, path: Any) -> str | None:
        """The protected file ``path`` names, or None."""
        if isinstance(path, int):
            return None
        try:
            path = os.fsdecode(path)
        except TypeError:
            return None
        found = self.paths.get(os.path.realpath(path))
        if found is None and self.identities:
            found = self.identities.get(_identity(path))
        return found

    def refuse(self, path, what) -> NoReturn:
        raise PermissionError(
            f"spin-py: a component may not {what} {path}: it is the app's configuration, outside what a Spin "
            "component can reach"
        )


_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC


def opens_to_write(mode, flags) -> bool:
    """Does an ``open`` audit event with these ``mode`` and ``flags`` write?"""
    if isinstance(mode, str):
        return any(letter in mode for letter in "wax+")
    return isinstance(flags, int) and bool(flags & _WRITE_FLAGS)


def protect(paths) -> None:
    """Refuse writes to ``paths`` (and renaming or removing them) from Python code."""
    paths = [path for path in paths if path]
    if not paths:
        return
    protected = _Protected(paths)

    def hook(event, args) -> None:
        if event == "open":
            path, mode, flags = args
            if opens_to_write(mode, flags) and protected.match(path):
                protected.refuse(protected.match(path), "write")
        elif event == "os.rename":
            for path in args[:2]:
                if protected.match(path):
                    protected.refuse(protected.match(path), "rename or replace")
        elif event in ("os.remove", "os.truncate"):
            if protected.match(args[0]):
                protected.refuse(protected.match(args[0]), "remove or truncate")
        elif event == "shutil.rmtree":
            folder = args[0]
            if isinstance(folder, (str, bytes, os.PathLike)):
                root = os.path.realpath(os.fsdecode(folder)) + os.sep
                for real, path in protected.paths.items():
                    if real.startswith(root):
                        protected.refuse(path, "remove the folder holding")

    sys.addaudithook(hook)
