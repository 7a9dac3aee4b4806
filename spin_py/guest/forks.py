"""The fork server: how a worker makes fresh instances of an imported app.

Spin instantiates the app's pre-initialized snapshot afresh for every request
(componentize-py imports the app once, at build time, under Wizer). A guest
does the same with fork: a process that has imported the app never serves a
request itself; on the host's word it forks a child, and that child, a copy of
the post-import state, serves one request and exits. Two levels share the
mechanism (see worker.py): the *base* process imports spin-py's guest, the
SDK and the app's third-party packages and forks one *zygote* per load of the
app's code; the zygote imports the app and forks one *instance* per request.

The host speaks to a fork server over its ``control`` channel, whose messages
spin_py/wire/control.py lists; ``ready`` / ``load-failed`` are the server's own
first message (worker.py).

A server that sees its control channel close without ``close`` (the host died or
gave up on it) exits at once: its children die with it (PR_SET_PDEATHSIG).
Nothing here starts a thread, so a fork never copies a lock another thread held.

Standard library only.
"""

import collections
import ctypes
import importlib
import os
import select
import signal
import sys

from spin_py_wire.control import Control

# The exit statuses of children that have ended, kept until the host asks (bounded:
# the host asks only about a child that failed, and rarely).
_MOST_STATUSES = 4096
PR_SET_PDEATHSIG = 1

# Kept: the app's world has neither (wasm_world.py), the guest still forks and reaps.
fork_process = os.fork
wait_process = os.waitpid
_libc = ctypes.CDLL(None, use_errno=True)


def die_with_parent(parent: int) -> None:
    """SIGKILL this process when its parent (a fork server: one thread) exits."""
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # it died before the line above
        os._exit(1)


def _code(status: int) -> int:
    return -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)


class ForkServer:
    """Forks a child for each ``fork`` message; ``child(message, fds)`` runs in it and never returns."""

    def __init__(self, control: Control, child) -> None:
        self.control = control
        self.child = child
        self.children: set[int] = set()
        self.statuses: collections.OrderedDict[int, int] = collections.OrderedDict()

    def _reap(self) -> None:
        """Collect the children that have exited (one system call when none has)."""
        while self.children:
            try:
                pid, status = wait_process(-1, os.WNOHANG)
            except ChildProcessError:
                self.children.clear()
                return
            if not pid:
                return
            self.children.discard(pid)
            self.statuses[pid] = _code(status)
            if len(self.statuses) > _MOST_STATUSES:
                self.statuses.popitem(last=False)

    def serve(self) -> None:
        """Answer the host until it closes the channel; then exit (never returns)."""
        while True:
            message, fds = self.control.recv()
            self._reap()
            if message is None:
                os._exit(0)  # the host is gone: the children go with this process
            op = message.get("op")
            if op == "fork":
                self._fork(message, fds)
            else:
                for fd in fds:
                    os.close(fd)
                if op == "status":
                    pid = message.get("pid")
                    status = self.statuses.get(pid) if isinstance(pid, int) else None
                    self.control.send({"op": "status", "pid": pid, "status": status})
                elif op == "preload":
                    preload(message.get("modules", ()))
                elif op == "close":
                    self._drain()

    def _fork(self, message: dict, fds: list) -> None:
        parent = os.getpid()
        pid = fork_process()
        if pid == 0:
            try:
                die_with_parent(parent)
                self.control.close()
                self.child(message, fds)
            finally:
                os._exit(1)  # the child's function ends the process itself
        self.children.add(pid)
        for fd in fds:
            os.close(fd)

    def _drain(self) -> None:
        """Fork no more: exit once the children have (the requests they serve end first),
        or at once if the host goes away meanwhile."""
        poller = select.poll()
        poller.register(self.control.fileno(), select.POLLIN | select.POLLHUP)
        while True:
            self._reap()
            if not self.children:
                os._exit(0)
            if poller.poll(100):
                message, fds = self.control.recv()
                for fd in fds:
                    os.close(fd)
                if message is None:
                    os._exit(0)


def preload(modules) -> None:
    """Import what the app's code imported from outside its own folders, so that later
    loads find it imported (a failure here only means the app's own import will show it)."""
    for name in modules:
        if isinstance(name, str) and name not in sys.modules:
            try:
                importlib.import_module(name)
            except BaseException:  # whatever it is, the app's own import reports it
                pass
