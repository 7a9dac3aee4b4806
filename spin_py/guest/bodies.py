"""Request and response bodies as they cross the worker's channel (see spin_py/wire/frames.py):
a body of at most PIECE bytes comes whole in one frame; a larger or unknown one
is pulled from the host piece by piece (``StreamedBody``), and a response body
over PIECE bytes goes out in pieces (``pieces``), so neither process holds more
than a piece of a body the handler itself does not hold."""

from collections.abc import Iterator
from typing import Any

from spin_py_wire import frames

from . import host


class StreamedBody:
    """A request body the host streams: ``read()`` pulls its next piece (b"" once it ended)."""

    def __init__(self) -> None:
        self.ended = False

    def read(self, size: int = frames.PIECE) -> bytes:
        """At most ``size`` bytes, as they arrive from the client; raises host.BodyReadError."""
        if self.ended:
            return b""
        piece, self.ended = host.read_body(max(1, min(size, frames.PIECE)))
        return piece


def whole(body) -> bytes:
    """The whole body, for a handler that takes it in one piece (as every SDK's buffered
    Request does: Spin's SDKs read the body to its end before calling handle_request)."""
    if isinstance(body, (bytes, bytearray, memoryview)):
        return bytes(body)
    data = bytearray()
    while not body.ended:
        data += body.read()
    return bytes(data)


def is_small(payload) -> bool:
    """Does a response body go out in the ``response`` frame itself?"""
    return isinstance(payload, (bytes, bytearray, memoryview)) and len(payload) <= frames.PIECE


def pieces(payload: Any) -> Iterator[memoryview]:
    """A response body's pieces of at most PIECE bytes: ``payload`` is bytes, or an
    object whose ``pieces()`` yields them as the handler writes them."""
    if isinstance(payload, (bytes, bytearray, memoryview)):
        view = memoryview(payload)
        for start in range(0, len(view), frames.PIECE):
            yield view[start:start + frames.PIECE]
        return
    for piece in payload.pieces():
        view = memoryview(piece)
        for start in range(0, len(view), frames.PIECE):
            yield view[start:start + frames.PIECE]
