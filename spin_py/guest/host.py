"""The guest's end of its channel to the host: host calls (Serverless AI, ...)
and the frames of the current turn.

Everything the worker sends goes through here, under one lock, stamped with
the current turn: a host call can come from the handler, from a task it spawned
or from a thread it started, and each waits for its own answer before anyone
else writes. Outside a turn (the worker is idle) and in a process the handler
forked, host calls are refused here instead of reaching the channel, where they
would be read as part of someone else's request. The message names no
component: the host knows the caller by the channel.
"""

import mmap
import os
import threading
import time
from collections.abc import Callable
from typing import Any

from spin_py_wire.frames import PROGRESS, QUIET_FIRST, CallFrame, HandledFrame
from spin_py_wire.framing import Channel

from . import forks

# A run of quiet turns is told to the host at least this often (seconds), so that the
# host's time limit for a Redis message stays a limit on that message.
QUIET_FLUSH = 0.05

_channel: Channel | None = None
_lock = threading.Lock()
_turn: int | None = None  # the number of the request being served, None while idle
_called = False  # the current turn made a host call
_quiet: tuple[int, int] | None = None  # (first, last): turns that ended quietly (see quietly_handled), not yet told to the host
_quiet_since = 0.0  # when the first of them ended
_progress: mmap.mmap | None = None  # the progress map the host reads when this worker dies (frames.PROGRESS)
_pid: int | None = None  # the worker's own process: a forked child has another


class HostError(Exception):
    """A host function failed: ``kind`` is the WIT error variant (e.g. InvalidInput)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


def connect(channel: Channel, progress: mmap.mmap | None = None) -> None:
    """``channel``: the worker's framing.Channel; ``progress``: its progress map (an mmap)."""
    global _channel, _pid, _progress
    _channel = channel
    _pid = os.getpid()
    _progress = progress


_own_fork = False  # fork_turn is forking: the child is the worker's, not the handler's


def _forked() -> None:
    """In a child the handler forked: the channel belongs to the worker, not to it.
    Its copy of the descriptor is closed, so nothing the child does (returning
    from the handler included) can write into the worker's conversation."""
    global _channel, _turn, _lock, _progress, _quiet
    if _own_fork:
        return
    channel, _channel, _turn = _channel, None, None
    _progress = _quiet = None  # the worker's progress is its own
    _lock = threading.Lock()  # another thread may have held it at the fork
    if channel is not None:
        try:
            os.close(channel.sock.detach())
        except OSError:
            pass


os.register_at_fork(after_in_child=_forked)


def fork_turn() -> int:
    """Fork the process that serves the next turn of a batch (worker.py): it keeps the
    channel, and the run of quiet turns so far, which it may extend; 0 in the child."""
    global _own_fork, _pid
    parent = os.getpid()
    _own_fork = True
    try:
        pid = forks.fork_process()
    finally:
        _own_fork = False
    if pid == 0:
        forks.die_with_parent(parent)
        _pid = os.getpid()
    return pid


def flush_quiet_to_parent() -> None:
    """In a turn's own process, before it ends: leave the run of quiet turns not yet told
    to the host in the progress map's second slot, for the parent to carry on."""
    if _progress is not None:
        QUIET_FIRST.pack_into(_progress, PROGRESS.size, _quiet[0] if _quiet is not None else 0)


def after_turn_fork(turn: int) -> None:
    """In the batch's parent, once the process of ``turn`` has ended cleanly: take over its run of quiet turns."""
    global _quiet, _quiet_since
    first = QUIET_FIRST.unpack_from(_progress, PROGRESS.size)[0] if _progress is not None else 0
    if not first:
        _quiet = None
        return
    if _quiet is None or _quiet[0] != first:
        _quiet_since = time.monotonic()
    _quiet = (first, turn)


def _require_channel() -> Channel:
    if _channel is None:
        raise OSError("the worker's channel is not open in this process")
    return _channel


def begin(turn: int) -> None:
    global _turn, _called
    with _lock:
        _turn = turn
        _called = False


def quietly_handled() -> bool:
    """End the current turn, a Redis message handled without error, without a frame of
    its own when it made no host call: one ``handled`` frame (with ``first``) tells the
    host of a run of such turns, sent before anything else, at the end of the batch
    (``flush``) and at least every QUIET_FLUSH seconds; meanwhile the progress map says
    how far the run goes, should the worker die first. False (nothing done) when the
    turn made a host call: its instance has resources to close now."""
    global _turn, _quiet, _quiet_since
    with _lock:
        turn = _turn
        if _called or _channel is None or turn is None:  # (no channel: a process the handler forked; send refuses it)
            return False
        if _quiet is None:
            _quiet, _quiet_since = (turn, turn), time.monotonic()
        else:
            _quiet = (_quiet[0], turn)
        if _progress is not None:
            PROGRESS.pack_into(_progress, 0, turn)
        _turn = None
        if time.monotonic() - _quiet_since >= QUIET_FLUSH:
            _flush_locked()
        return True


def flush() -> None:
    """Tell the host of the turns that ended quietly (before anything else is sent)."""
    with _lock:
        _flush_locked()


def _flush_locked() -> None:
    global _quiet
    if _quiet is not None and _channel is not None:
        first, last = _quiet
        _quiet = None
        frame: HandledFrame = {"op": "handled", "turn": last, "first": first, "error": None, "done": True}
        _channel.send(frame)


def send(message: dict[str, Any], body: bytes | bytearray | memoryview = b"", end: bool = False) -> None:
    """Send a frame of the current turn; with ``end`` the frame says ``done`` too and
    the turn is over (the worker is idle again)."""
    global _turn
    channel = _require_channel()
    with _lock:
        _flush_locked()
        message["turn"] = _turn
        if end:
            message["done"] = True
            _turn = None
        channel.send(message, body)


def end() -> None:
    """The turn is over: say ``done``; host calls made from now on are refused."""
    global _turn
    channel = _require_channel()
    with _lock:
        _flush_locked()
        turn, _turn = _turn, None
        channel.send({"op": "done", "turn": turn})


class BodyReadError(Exception):
    """The host could not read the request body from its client (cut short, malformed,
    over --max-request-body): the host answers the client itself."""


def read_body(size: int) -> tuple[bytes, bool]:
    """The next piece of a streamed request body (at most ``size`` bytes) and whether it
    was the last: ``(bytes, ended)``. Raises BodyReadError."""
    message, piece = _exchange({"op": "read", "max": size}, "the request body")
    if message.get("op") == "body":
        return piece, bool(message.get("end"))
    if message.get("op") == "error":
        raise BodyReadError(message.get("message", "the request body could not be read"))
    raise RuntimeError(f"unexpected answer from the host: {message.get('op')!r}")


def _exchange(message: dict[str, Any], what: str) -> tuple[dict[str, Any], bytes]:
    """Send one frame of the current turn and return the host's answer ``(message, body)``."""
    if _pid is not None and os.getpid() != _pid:
        raise RuntimeError(f"{what} is not available in a process the handler forked")
    channel = _channel
    if channel is None:
        raise RuntimeError(f"{what} is only available while spin-py serves a request")
    with _lock:
        turn = _turn
        if turn is None:
            raise RuntimeError(f"{what} is only available while spin-py serves a request")
        message["turn"] = turn
        channel.send(message)
        answer, body = channel.recv()
    if answer.get("turn") != turn:
        raise RuntimeError(f"the host answered turn {answer.get('turn')!r} during turn {turn!r}")
    return answer, body


def call(capability: str, function: str, args: dict[str, Any]) -> Any:
    if _pid is not None and os.getpid() != _pid:
        raise RuntimeError("host functions are not available in a process the handler forked")
    channel = _channel
    if channel is None:
        raise RuntimeError("host functions are only available while spin-py serves a request")
    global _called
    with _lock:
        turn = _turn
        if turn is None:
            raise RuntimeError(
                "host functions are only available while spin-py serves a request "
                "(after the response, only tasks spawned with componentize_py_async_support.spawn may call them)"
            )
        _called = True
        _flush_locked()
        frame: CallFrame = {"op": "call", "turn": turn, "capability": capability, "function": function, "args": args}
        channel.send(frame)
        message, _ = channel.recv()
    if message.get("turn") != turn:
        raise RuntimeError(f"the host answered turn {message.get('turn')!r} during turn {turn!r}")
    if message.get("op") == "return":
        return message.get("value")
    if message.get("op") == "error":
        raise HostError(message.get("kind", "RuntimeError"), message.get("message", ""))
    raise RuntimeError(f"unexpected answer from the host: {message.get('op')!r}")


def caller(capability: str, module: Any, to_error: Callable[[Any, HostError], Exception]) -> Callable[..., Any]:
    """``run(function, **args)``: a call to ``capability`` whose HostError is raised as
    ``to_error(module, error)``, the error type of the SDK interface ``module``."""

    def run(function: str, **args: Any) -> Any:
        try:
            return call(capability, function, args)
        except HostError as error:
            raise to_error(module, error) from None

    return run
