"""Calls from the guest to host functions (Serverless AI, ...), over the
worker's channel. The message names no component: the host knows the caller
by the channel."""

import threading

_channel = None
_lock = threading.Lock()


class HostError(Exception):
    """A host function failed: ``kind`` is the WIT error variant (e.g. InvalidInput)."""

    def __init__(self, kind, message):
        super().__init__(message)
        self.kind = kind
        self.message = message


def connect(channel):
    """``channel``: the worker's protocol.Channel."""
    global _channel
    _channel = channel


def call(capability, function, args):
    if _channel is None:
        raise RuntimeError("host functions are only available while spin-py serves a request")
    with _lock:
        _channel.send({"op": "call", "capability": capability, "function": function, "args": args})
        message, _ = _channel.recv()
    if message.get("op") == "return":
        return message.get("value")
    if message.get("op") == "error":
        raise HostError(message.get("kind", "RuntimeError"), message.get("message", ""))
    raise RuntimeError(f"unexpected answer from the host: {message.get('op')!r}")
