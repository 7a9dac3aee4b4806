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


def send(sock, message, body=b""):
    sock.sendall(encode(message, body))


def _read_exactly(sock, size):
    chunks = []
    remaining = size
    while remaining:
        chunk = sock.recv(min(remaining, 1 << 20))
        if not chunk:
            raise EOFError("channel closed")
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def recv(sock):
    """Read one frame: returns ``(message, body)``; raises EOFError when the peer is gone."""
    json_length, body_length = HEADER.unpack(_read_exactly(sock, HEADER.size))
    if json_length > MAX_JSON:
        raise ValueError("frame header of %d bytes is over the limit" % json_length)
    message = json.loads(_read_exactly(sock, json_length))
    body = _read_exactly(sock, body_length) if body_length else b""
    return message, body
