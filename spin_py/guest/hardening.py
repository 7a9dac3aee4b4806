"""Cheap hardening of a worker, set up before any app code runs.

Not a sandbox (spin-py runs the developer's own code; see the README's threat
model), but it stops the accidents a Wasm component could not commit:

- the worker is not dumpable (``prctl(PR_SET_DUMPABLE, 0)``), so other
  processes of the same user, sibling workers included, cannot read its
  /proc/<pid>/environ or memory, nor take its channel with pidfd_getfd;
- the app's manifest and runtime config file cannot be written, renamed or
  removed through Python's file APIs (an audit hook refuses them);
- the worker never outlives its host: a watchdog thread ends the worker and
  the rest of its process group (what its handlers forked) once the host's end
  of the channel is closed, whether the host stopped it or died (the host's
  own thread-bound PR_SET_PDEATHSIG would fire when the thread that started
  the worker ends, so it is not used).
"""

import ctypes
import os
import select
import signal
import sys
import threading

PR_SET_DUMPABLE = 4


def not_dumpable():
    """True when the kernel took it (Linux); elsewhere nothing to do."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _identity(path):
    try:
        stat = os.stat(path)
    except (OSError, ValueError):
        return None
    return stat.st_dev, stat.st_ino


class _Protected:
    """The files a component may not change, by real path and by inode (a hard
    or symbolic link to them is the same file)."""

    def __init__(self, paths):
        self.paths = {os.path.realpath(path): path for path in paths}
        self.identities = {_identity(path): path for path in paths} if paths else {}
        self.identities.pop(None, None)

    def match(self, path):
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

    def refuse(self, path, what):
        raise PermissionError(
            f"spin-py: a component may not {what} {path}: it is the app's configuration, outside what a Spin "
            "component can reach"
        )


_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC


def _writes(mode, flags):
    if isinstance(mode, str):
        return any(letter in mode for letter in "wax+")
    return isinstance(flags, int) and bool(flags & _WRITE_FLAGS)


def protect(paths):
    """Refuse writes to ``paths`` (and renaming or removing them) from Python code."""
    paths = [path for path in paths if path]
    if not paths:
        return
    protected = _Protected(paths)

    def hook(event, args):
        if event == "open":
            path, mode, flags = args
            if _writes(mode, flags) and protected.match(path):
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


def end_group():
    """Kill the other processes of the worker's group: what its handlers forked.
    (The worker leads its own session and group; the host kills the group too
    when it stops a worker, but not when the host itself died.)"""
    me, group = os.getpid(), os.getpgrp()
    if group != me:
        return  # not started by spin-py's host: the group is not ours
    for _ in range(5):  # a child may fork while we look
        found = False
        for name in os.listdir("/proc"):
            if not name.isdigit() or int(name) == me:
                continue
            try:
                with open(f"/proc/{name}/stat", "rb") as stat:
                    fields = stat.read().rsplit(b")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == group:
                found = True
                try:
                    os.kill(int(name), signal.SIGKILL)
                except OSError:
                    pass
        if not found:
            return


def _watch(fd, end):
    poller = select.poll()
    poller.register(fd, select.POLLRDHUP)
    while True:
        events = poller.poll()
        if any(event & (select.POLLHUP | select.POLLRDHUP | select.POLLERR | select.POLLNVAL) for _, event in events):
            break
    end_group()
    end(0)


def die_with_host(fd, end):
    """Start the watchdog on the worker's end of its channel (``fd``); ``end(code)`` exits."""
    threading.Thread(target=_watch, args=(fd, end), name="spin-py-watchdog", daemon=True).start()
