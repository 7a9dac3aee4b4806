"""How a frame crosses a worker's channel (a socketpair); frames.py says what they carry.

A frame is a fixed header ``(json_length, body_length)`` as two big-endian
uint32s, then a UTF-8 JSON object, then ``body_length`` raw bytes.

Standard library only (see the package's docstring).
"""

import json
import socket
import struct
from collections.abc import Mapping
from typing import Any

from .frames import MAX_BODY, MAX_JSON, PIECE

HEADER = struct.Struct(">II")
# Which end this module is: the host imports it as spin_py.wire.framing, a worker loads the
# wire package by path under its own name (spin_py/host/launch.py).
_END_LIMIT = PIECE if __name__ == "spin_py.wire.framing" else MAX_BODY
_CHUNK = 64 * 1024  # one recv's worth for small frames (below malloc's mmap threshold)
_BIG_CHUNK = 4 * 1024 * 1024


# How every frame's JSON starts: its first key is the op.
FRAME_START = b'{"op":"'


class ProtocolError(ValueError):
    """The peer sent something that is not a frame of this protocol."""


# One encoder for every frame: json.dumps with arguments builds a new one each call.
_ENCODER = json.JSONEncoder(separators=(",", ":"))


def encode(message: Mapping[str, Any], body: bytes | bytearray | memoryview = b"") -> bytes:
    data = _ENCODER.encode(message).encode("utf-8")
    return HEADER.pack(len(data), len(body)) + data + bytes(body)


class Channel:
    """One end of a worker's channel. Reads are buffered here (not in a file
    object), so the host can tell whether a whole frame has already arrived
    and wait on the socket itself with a deadline; a frame is written with one
    sendall."""

    def __init__(self, sock: socket.socket, max_body: int | None = None) -> None:
        """``max_body``: the largest frame body this end accepts; by default PIECE at the
        host's end, MAX_BODY at the guest's. A frame announcing more is a ProtocolError
        before any of its body is read."""
        self.sock = sock
        self.max_body = _END_LIMIT if max_body is None else max_body
        self._buffer = bytearray()
        self._frame: tuple[int, int] | None = None  # (json_length, body_length) of the frame at the front, once its header is in
        self._skipping = False  # resync(): looking for the next frame start

    def fileno(self) -> int:
        return self.sock.fileno()

    def send(self, message: Mapping[str, Any], body: bytes | bytearray | memoryview = b"") -> None:
        self.sock.sendall(encode(message, body))

    def _missing(self) -> int:
        """Bytes still to come before the frame at the front of the buffer is whole (0: it is)."""
        if self._skipping and not self._skip_to_frame():
            return 1  # more bytes, then look again
        if self._frame is None:
            if len(self._buffer) < HEADER.size:
                return HEADER.size - len(self._buffer)
            json_length, body_length = HEADER.unpack_from(self._buffer)
            if json_length > MAX_JSON:
                raise ProtocolError(f"a frame of {json_length} bytes of JSON is over the {MAX_JSON}-byte limit")
            if body_length > self.max_body:
                raise ProtocolError(f"a frame announced a {body_length}-byte body, over the {self.max_body}-byte "
                                    "limit for one frame")
            self._frame = (json_length, body_length)
        json_length, body_length = self._frame
        return max(0, HEADER.size + json_length + body_length - len(self._buffer))

    def frame_ready(self) -> bool:
        """Has a whole frame arrived (nothing to wait for)?"""
        return self._missing() == 0

    def has_data(self) -> bool:
        """Is anything buffered, even part of a frame?"""
        return bool(self._buffer)

    def _chunk(self) -> int:
        return min(max(_CHUNK, self._missing()), _BIG_CHUNK)

    def fill(self) -> None:
        """Wait for the next bytes (one recv); raises EOFError when the peer is gone."""
        data = self.sock.recv(self._chunk())
        if not data:
            raise EOFError("channel closed")
        self._buffer += data

    def fill_nowait(self) -> bool:
        """Take in what has already arrived, without waiting: True when some did."""
        try:
            data = self.sock.recv(self._chunk(), socket.MSG_DONTWAIT)
        except (BlockingIOError, InterruptedError):
            return False
        if not data:
            raise EOFError("channel closed")
        self._buffer += data
        return True

    def recv(self) -> tuple[dict[str, Any], bytes]:
        """Read one frame: returns ``(message, body)``; raises EOFError when the peer is
        gone and ProtocolError when what arrived is not a frame."""
        while self._missing():
            self.fill()
        return self.take()

    def take(self) -> tuple[dict[str, Any], bytes]:
        """The whole frame at the front of the buffer (call once frame_ready() is true)."""
        assert self._frame is not None, "take() before frame_ready()"
        json_length, body_length = self._frame
        start, end = HEADER.size, HEADER.size + json_length
        data = self._buffer[start:end]
        if body_length:
            with memoryview(self._buffer) as view:
                body = bytes(view[end:end + body_length])  # one copy, also for a large body
        else:
            body = b""
        del self._buffer[:end + body_length]
        self._frame = None
        try:
            message = json.loads(data)
        except (ValueError, RecursionError) as error:  # RecursionError: JSON nested too deep
            raise ProtocolError(f"a frame is not valid JSON ({type(error).__name__}: {str(error)[:200]})") from None
        if not isinstance(message, dict):
            raise ProtocolError(f"a frame is a JSON {type(message).__name__}, not an object")
        return message, body

    def resync(self) -> None:
        """After a ProtocolError: skip bytes up to the next place a frame may start (a
        header with lengths in bounds, then JSON opening with FRAME_START, as every frame
        ``encode`` writes for the guest does), waiting for more bytes while none is
        buffered. Only for a channel known to carry a stray writer's bytes between whole
        frames (spin_py/host/worker.py)."""
        self._frame = None
        del self._buffer[:1]  # not where the broken frame started
        self._skipping = True

    def _skip_to_frame(self) -> bool:
        """True once the buffer starts where a frame may; else keeps only what could begin one."""
        position = self._buffer.find(FRAME_START, HEADER.size)
        while position != -1:
            start = position - HEADER.size
            json_length, body_length = HEADER.unpack_from(self._buffer, start)
            if len(FRAME_START) <= json_length <= MAX_JSON and body_length <= self.max_body:
                del self._buffer[:start]
                self._skipping = False
                return True
            position = self._buffer.find(FRAME_START, position + 1)
        del self._buffer[:max(0, len(self._buffer) - (HEADER.size + len(FRAME_START) - 1))]
        return False

    def close(self) -> None:
        self.sock.close()
