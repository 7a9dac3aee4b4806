"""How a host call keeps to its request's limits (seam.Instance.ended: the time
limit, the client, the end of the turn).

A host call runs in its request's thread, so nothing else in that thread looks at
the clock or the client while the call waits. Two ways the call is stopped anyway:

- what the call runs itself looks now and then: SQLite's progress and busy
  handlers, and ``acquire`` for a lock another request holds (a database's turn);
- a driver that waits on a server's socket cannot look, so ``watched`` hands the
  call to one watcher thread for the whole host, which looks at every call waiting
  now each CLIENT_CHECK_INTERVAL and stops one whose request has ended: first as
  the server is asked to (PostgreSQL's cancel request, MySQL's KILL QUERY), so that
  the server lets go of what the statement holds; then, when the call still waits
  GRACE seconds later (a server that does not answer), by cutting its socket.
"""

import contextlib
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator

from spin_py.capabilities.seam import CLIENT_CHECK_INTERVAL

GRACE = 2.0  # seconds from asking the server to stop a statement to cutting the connection


def acquire(lock: threading.Lock, ended: Callable[[], str | None] | None) -> str | None:
    """Take ``lock``, giving up when the request ends meanwhile: None once held, else why not."""
    if ended is None:
        lock.acquire()
        return None
    while not lock.acquire(timeout=CLIENT_CHECK_INTERVAL):
        reason = ended()
        if reason is not None:
            return reason
    return None


def cut_socket(fd: int) -> None:
    """Shut a socket down both ways, so a read waiting on it in another thread returns at
    once; the descriptor stays open (its owner closes it)."""
    if fd is None or fd < 0:
        return
    duplicate = socket.socket(fileno=os.dup(fd))
    try:
        duplicate.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # already closed or never connected: nothing waits on it
    finally:
        duplicate.close()


class _Call:
    __slots__ = ("busy", "done", "ended", "lock", "reason", "steps", "stopped_at")

    def __init__(self, ended: Callable[[], str | None], steps: tuple) -> None:
        self.ended = ended
        self.steps = list(steps)
        self.lock = threading.Lock()  # held while a step runs: the call's owner waits for it before going on
        self.done = False
        self.busy = False  # a step is under way
        self.stopped_at: float | None = None
        self.reason: str | None = None  # why the watcher stopped the call, once it has


class _Watcher:
    def __init__(self) -> None:
        self._calls: set[_Call] = set()
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None

    def add(self, call: _Call) -> None:
        with self._changed:
            self._calls.add(call)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="spin-py host call watcher", daemon=True)
                self._thread.start()
            self._changed.notify()

    def discard(self, call: _Call) -> None:
        with self._changed:
            self._calls.discard(call)

    def _run(self) -> None:
        while True:
            with self._changed:
                while not self._calls:
                    self._changed.wait()
                calls = list(self._calls)
            for call in calls:
                _look(call)
            time.sleep(CLIENT_CHECK_INTERVAL)


def _look(call: _Call) -> None:
    """Start the call's next step when it is due, in a thread of its own: a step talks to a
    server (PostgreSQL's cancel request waits up to GRACE), and the other calls are not kept
    waiting meanwhile."""
    if not call.lock.acquire(blocking=False):
        return  # a step is under way, or the call is returning
    try:
        if call.done or call.busy or not call.steps:
            return
        now = time.monotonic()
        if call.stopped_at is None:
            reason = call.ended()
            if reason is None:
                return
            call.reason = reason
        elif now - call.stopped_at < GRACE:
            return
        call.stopped_at = now
        call.busy = True
        step = call.steps.pop(0)
    finally:
        call.lock.release()
    threading.Thread(target=_take, args=(call, step), name="spin-py host call stop", daemon=True).start()


def _take(call: _Call, step: Callable[[], None]) -> None:
    with call.lock:
        try:
            if not call.done:  # a call that ended meanwhile has nothing left to stop (its connection may serve another)
                step()
        except Exception:  # the next step (or the driver's own timeout) still ends the call
            pass
        finally:
            call.busy = False
            call.stopped_at = time.monotonic()


_watcher = _Watcher()


@contextlib.contextmanager
def watched(ended: Callable[[], str | None] | None, *steps: Callable[[], None]) -> Iterator[_Call | None]:
    """Run the body as a call the watcher stops, with ``steps`` in turn (GRACE apart),
    once ``ended()`` gives a reason. Nothing is watched without ``ended``."""
    if ended is None or not steps:
        yield None
        return
    call = _Call(ended, steps)
    _watcher.add(call)
    try:
        yield call
    finally:
        with call.lock:
            call.done = True
        _watcher.discard(call)
