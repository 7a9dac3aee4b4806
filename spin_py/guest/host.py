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

import os
import threading

_channel = None
_lock = threading.Lock()
_turn = None  # the number of the request being served, None while idle
_pid = None  # the worker's own process: a forked child has another


class HostError(Exception):
    """A host function failed: ``kind`` is the WIT error variant (e.g. InvalidInput)."""

    def __init__(self, kind, message):
        super().__init__(message)
        self.kind = kind
        self.message = message


def connect(channel):
    """``channel``: the worker's protocol.Channel."""
    global _channel, _pid
    _channel = channel
    _pid = os.getpid()


def _forked():
    """In a child the handler forked: the channel belongs to the worker, not to it.
    Its copy of the descriptor is closed, so nothing the child does (returning
    from the handler included) can write into the worker's conversation."""
    global _channel, _turn, _lock
    channel, _channel, _turn = _channel, None, None
    _lock = threading.Lock()  # another thread may have held it at the fork
    if channel is not None:
        try:
            os.close(channel.sock.detach())
        except OSError:
            pass


os.register_at_fork(after_in_child=_forked)


def _require_channel():
    if _channel is None:
        raise OSError("the worker's channel is not open in this process")


def begin(turn):
    global _turn
    with _lock:
        _turn = turn


def send(message, body=b"", end=False):
    """Send a frame of the current turn; with ``end`` the frame says ``done`` too and
    the turn is over (the worker is idle again)."""
    global _turn
    _require_channel()
    with _lock:
        message["turn"] = _turn
        if end:
            message["done"] = True
            _turn = None
        _channel.send(message, body)


def end():
    """The turn is over: say ``done``; host calls made from now on are refused."""
    global _turn
    _require_channel()
    with _lock:
        turn, _turn = _turn, None
        _channel.send({"op": "done", "turn": turn})


class BodyReadError(Exception):
    """The host could not read the request body from its client (cut short, malformed,
    over --max-request-body): the host answers the client itself."""


def read_body(size):
    """The next piece of a streamed request body (at most ``size`` bytes) and whether it
    was the last: ``(bytes, ended)``. Raises BodyReadError."""
    message, piece = _exchange({"op": "read", "max": size}, "the request body")
    if message.get("op") == "body":
        return piece, bool(message.get("end"))
    if message.get("op") == "error":
        raise BodyReadError(message.get("message", "the request body could not be read"))
    raise RuntimeError(f"unexpected answer from the host: {message.get('op')!r}")


def _exchange(message, what):
    """Send one frame of the current turn and return the host's answer ``(message, body)``."""
    if _pid is not None and os.getpid() != _pid:
        raise RuntimeError(f"{what} is not available in a process the handler forked")
    if _channel is None:
        raise RuntimeError(f"{what} is only available while spin-py serves a request")
    with _lock:
        turn = _turn
        if turn is None:
            raise RuntimeError(f"{what} is only available while spin-py serves a request")
        message["turn"] = turn
        _channel.send(message)
        answer, body = _channel.recv()
    if answer.get("turn") != turn:
        raise RuntimeError(f"the host answered turn {answer.get('turn')!r} during turn {turn!r}")
    return answer, body


def call(capability, function, args):
    if _pid is not None and os.getpid() != _pid:
        raise RuntimeError("host functions are not available in a process the handler forked")
    if _channel is None:
        raise RuntimeError("host functions are only available while spin-py serves a request")
    with _lock:
        turn = _turn
        if turn is None:
            raise RuntimeError(
                "host functions are only available while spin-py serves a request "
                "(after the response, only tasks spawned with componentize_py_async_support.spawn may call them)"
            )
        _channel.send({"op": "call", "turn": turn, "capability": capability, "function": function, "args": args})
        message, _ = _channel.recv()
    if message.get("turn") != turn:
        raise RuntimeError(f"the host answered turn {message.get('turn')!r} during turn {turn!r}")
    if message.get("op") == "return":
        return message.get("value")
    if message.get("op") == "error":
        raise HostError(message.get("kind", "RuntimeError"), message.get("message", ""))
    raise RuntimeError(f"unexpected answer from the host: {message.get('op')!r}")


def caller(capability, module, to_error):
    """``run(function, **args)``: a call to ``capability`` whose HostError is raised as
    ``to_error(module, error)``, the error type of the SDK interface ``module``."""

    def run(function, **args):
        try:
            return call(capability, function, args)
        except HostError as error:
            raise to_error(module, error) from None

    return run
