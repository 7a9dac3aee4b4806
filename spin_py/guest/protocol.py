"""The framing spoken over a worker's private channel (a socketpair).

A frame is a fixed header ``(json_length, body_length)`` as two big-endian
uint32s, then a UTF-8 JSON object, then ``body_length`` raw bytes. The JSON
carries the message, the raw bytes carry an HTTP body untouched, so bodies are
binary-safe and never base64-encoded (so is a Redis message's payload).

Every request is one *turn*, numbered by the host; every frame of a turn
carries its number in ``turn``, and the turn ends explicitly: with a
``response`` or ``handled`` that says ``done: true`` (the handler left nothing
going, the usual case: one frame), with ``done`` after it, or with ``failed``. Nothing is sent outside a turn except ``ready``/``load-failed``.

Messages (``op`` key):
  guest -> host  ``ready``       ``files``: the handler module imported (these are the app's
                                 source files it loaded); the worker takes requests
  guest -> host  ``load-failed`` ``error``: importing the app failed (text with file and line)
  host -> guest  ``http``        ``turn``, ``method``, ``uri``, ``headers`` [[name, value], ...]; body: the
                                 whole request body, or with ``stream: true`` none: the guest pulls it
  guest -> host  ``read``        ``turn``, ``max``: the next piece of a streamed request body
  host -> guest  ``body``        ``turn``, ``end``; body: that piece (at most ``max`` bytes; ``end``: it is
                                 the last, maybe empty); or ``error`` (``kind`` BodyError): the client's
                                 body could not be read, and the host answers the client itself
  host -> guest  ``redis``       ``turn``; body: the payload of a message published on a Redis trigger's channel;
                                 or with ``sizes`` [n, ...] the payloads of that many messages one after
                                 another, each a turn of its own numbered on from ``turn`` (the guest starts
                                 the next once the previous has ended; the host sends nothing new meanwhile)
  guest -> host  ``call``        ``turn``, ``capability``, ``function``, ``args``: a host function
  host -> guest  ``return``      ``turn``, ``value``
  host -> guest  ``error``       ``turn``, ``kind``, ``message``: the host function failed
  guest -> host  ``response``    ``turn``, ``status``, ``headers``; body (once per ``http`` turn); with
                                 ``stream: true`` the body follows in pieces:
  guest -> host  ``body``        ``turn``; body: the next piece of a streamed response (at most PIECE bytes)
  guest -> host  ``end``         ``turn``: the streamed response body is complete (``done: true`` as for
                                 ``response``)
  guest -> host  ``handled``     ``turn``, ``error``: None, or why the message failed without the handler
                                 raising (its ``Err``, a missing export); once per ``redis`` turn, in
                                 place of ``response``; or with ``first``: the turns ``first`` to ``turn``
                                 of a batch all ended handled, without error or host call (one frame for
                                 the run; the progress map says how far a run got, see PROGRESS)
  guest -> host  ``done``        ``turn``: what the handler started after its answer has finished;
                                 the worker is idle
  guest -> host  ``failed``      ``turn``, ``error``: the handler raised or exited; the worker then exits

The channel itself is the worker's identity: no message names a component.

Flow control: the host sends nothing during a turn but answers (to ``call`` and
``read``), so a piece of the request body crosses only when the guest asks for
it; the guest's pieces of a response wait in the socket until the host has
written the previous ones to its client. Neither side holds more than a piece
or two, whatever the size of a body. A body of at most PIECE bytes, the usual
case, still crosses in the one ``http`` or ``response`` frame.

Standard library only (this module runs in the guest, and the host imports it too).
"""

import json
import socket
import struct

HEADER = struct.Struct(">II")
# The worker's progress map (a shared 8-byte memory file beside the channel): the number of
# the last Redis turn it ended quietly, without a frame of its own (see guest/host.py), so
# that the host knows which messages were handled when the worker dies before it says so.
# The host reads it only within the batch it sent that worker: a worker that writes nonsense
# there can only lose its own messages, as a handler that ignores them would.
PROGRESS = struct.Struct("<q")
# The map's second slot is the guest's own: the first turn of a run of quiet turns not yet
# told to the host, handed from a turn's process to its parent (guest/host.py, fork_turn).
QUIET_FIRST = struct.Struct("<q")
PROGRESS_MAP_SIZE = PROGRESS.size + QUIET_FIRST.size
MAX_JSON = 64 * 1024 * 1024
PIECE = 1024 * 1024  # the most one body piece carries, and the largest body sent in one frame
# The largest body a frame may announce. What the guest sends the host never carries more
# than PIECE (a response body, or one piece of it), so the host's end refuses anything larger
# before buffering it: a worker cannot make the host hold what it likes. The guest's end takes
# up to MAX_BODY, for a Redis message (one message crosses whole, however large).
MAX_BODY = 1024 * 1024 * 1024
# Which end this module is: the host imports it as spin_py.guest.protocol, a worker loads the
# guest package by path under its own name (spin_py/host/launch.py).
_END_LIMIT = PIECE if __name__ == "spin_py.guest.protocol" else MAX_BODY
_CHUNK = 64 * 1024  # one recv's worth for small frames (below malloc's mmap threshold)
_BIG_CHUNK = 4 * 1024 * 1024


# How every frame's JSON starts: its first key is the op.
FRAME_START = b'{"op":"'


class ProtocolError(ValueError):
    """The peer sent something that is not a frame of this protocol."""


# One encoder for every frame: json.dumps with arguments builds a new one each call.
_ENCODER = json.JSONEncoder(separators=(",", ":"))


def encode(message, body=b""):
    data = _ENCODER.encode(message).encode("utf-8")
    return HEADER.pack(len(data), len(body)) + data + bytes(body)


class Channel:
    """One end of a worker's channel. Reads are buffered here (not in a file
    object), so the host can tell whether a whole frame has already arrived
    and wait on the socket itself with a deadline; a frame is written with one
    sendall."""

    def __init__(self, sock, max_body: int | None = None):
        """``max_body``: the largest frame body this end accepts; by default PIECE at the
        host's end, MAX_BODY at the guest's. A frame announcing more is a ProtocolError
        before any of its body is read."""
        self.sock = sock
        self.max_body = _END_LIMIT if max_body is None else max_body
        self._buffer = bytearray()
        self._frame = None  # (json_length, body_length) of the frame at the front, once its header is in
        self._skipping = False  # resync(): looking for the next frame start

    def fileno(self):
        return self.sock.fileno()

    def send(self, message, body=b""):
        self.sock.sendall(encode(message, body))

    def _missing(self):
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

    def frame_ready(self):
        """Has a whole frame arrived (nothing to wait for)?"""
        return self._missing() == 0

    def has_data(self):
        """Is anything buffered, even part of a frame?"""
        return bool(self._buffer)

    def _chunk(self):
        return min(max(_CHUNK, self._missing()), _BIG_CHUNK)

    def fill(self):
        """Wait for the next bytes (one recv); raises EOFError when the peer is gone."""
        data = self.sock.recv(self._chunk())
        if not data:
            raise EOFError("channel closed")
        self._buffer += data

    def fill_nowait(self):
        """Take in what has already arrived, without waiting: True when some did."""
        try:
            data = self.sock.recv(self._chunk(), socket.MSG_DONTWAIT)
        except (BlockingIOError, InterruptedError):
            return False
        if not data:
            raise EOFError("channel closed")
        self._buffer += data
        return True

    def recv(self):
        """Read one frame: returns ``(message, body)``; raises EOFError when the peer is
        gone and ProtocolError when what arrived is not a frame."""
        while self._missing():
            self.fill()
        return self.take()

    def take(self):
        """The whole frame at the front of the buffer (call once frame_ready() is true)."""
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

    def _skip_to_frame(self):
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

    def close(self):
        self.sock.close()
