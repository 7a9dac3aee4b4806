"""The framing spoken over a worker's private channel (a socketpair).

A frame is a fixed header ``(json_length, body_length)`` as two big-endian
uint32s, then a UTF-8 JSON object, then ``body_length`` raw bytes. The JSON
carries the message, the raw bytes carry an HTTP body untouched, so bodies are
binary-safe and never base64-encoded.

Messages (``op`` key):
  guest -> host  ``ready``       ``files``: the handler module imported (these are the app's
                                 source files it loaded); the worker takes requests
  guest -> host  ``load-failed`` ``error``: importing the app failed (text with file and line)
  host -> guest  ``http``        ``method``, ``uri``, ``headers`` [[name, value], ...]; body
  guest -> host  ``response``    ``status``, ``headers``; body
  guest -> host  ``failed``      ``error``: the handler raised or exited; the worker then exits
  guest -> host  ``call``        ``capability``, ``function``, ``args``: a host function
  host -> guest  ``return``      ``value``
  host -> guest  ``error``       ``kind``, ``message``: the host function failed

The channel itself is the worker's identity: no message names a component.

Standard library only (this module runs in the guest, and the host imports it too).
"""

import json
import struct

HEADER = struct.Struct(">II")
MAX_JSON = 64 * 1024 * 1024


def encode(message, body=b""):
    data = json.dumps(message, separators=(",", ":")).encode("utf-8")
    return HEADER.pack(len(data), len(body)) + data + bytes(body)


class Channel:
    """One end of a worker's channel. Reads are buffered, so a frame usually
    costs one recv; a frame is written with one sendall."""

    def __init__(self, sock):
        self.sock = sock
        self._file = sock.makefile("rb")

    def send(self, message, body=b""):
        self.sock.sendall(encode(message, body))

    def _read(self, size):
        data = self._file.read(size)
        if len(data) < size:
            raise EOFError("channel closed")
        return data

    def recv(self):
        """Read one frame: returns ``(message, body)``; raises EOFError when the peer is gone."""
        json_length, body_length = HEADER.unpack(self._read(HEADER.size))
        if json_length > MAX_JSON:
            raise ValueError("frame header of %d bytes is over the limit" % json_length)
        message = json.loads(self._read(json_length))
        body = self._read(body_length) if body_length else b""
        return message, body

    def close(self):
        self._file.close()
        self.sock.close()
