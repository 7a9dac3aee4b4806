"""Reading a request body whatever the client sends: in bounded pieces, with a
size limit, and with the framing checked (Content-Length or chunked).

hyper, under Spin, parses the framing and answers 400 to a bad Content-Length
before the component runs; a bad chunk surfaces only while the component
reads its body (Spin then answers 500). spin-py reads a small body (a
Content-Length up to STREAM_ABOVE) before handing it to a worker, so its
framing mistakes are a 400 with a one-line text and a client that goes away
mid-body costs no worker anything. A larger or chunked body streams to the
worker as its handler reads it (``StreamedBody``); a mistake found on the way
still gets its 400 or 413 when the handler has not answered yet.

``iter_body`` yields the body in pieces of at most ``PIECE`` bytes.
"""

import re
from collections.abc import Iterator
from typing import Protocol

from spin_py.wire.frames import PIECE as STREAM_ABOVE

DEFAULT_LIMIT = 100 * 1024 * 1024  # --max-request-body
PIECE = 64 * 1024
_MAX_LINE = 4096  # a chunk-size line with its extensions, or one trailer line
_MAX_TRAILERS = 64 * 1024  # all trailer lines together
_DIGITS = re.compile(r"[0-9]+")
_HEX = re.compile(r"[0-9A-Fa-f]{1,16}")


class Stream(Protocol):
    """What a body is read from: the connection's buffered reader, or another server's input."""

    def read(self, size: int = ..., /) -> bytes: ...

    def readline(self, size: int = ..., /) -> bytes: ...


class BodyError(Exception):
    """The request body cannot be read: ``status`` and a one-line ``text`` answer it."""

    status = 400


class MalformedBody(BodyError):
    status = 400


class BodyTooLarge(BodyError):
    status = 413


class ClientGone(BodyError):
    """The connection closed or stalled before the body ended (the answer may reach nobody)."""

    status = 400


class ClientTimeout(ClientGone):
    status = 408


def format_size(size: int) -> str:
    for unit, factor in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= factor and size % factor == 0:
            return f"{size // factor} {unit}"
    return f"{size} bytes"


def content_length(value: str) -> int | None:
    """A Content-Length value as hyper reads it (digits only, a u64), else None."""
    if not _DIGITS.fullmatch(value) or len(value.lstrip("0")) > 20:
        return None  # also spares int() a number of thousands of digits (Python refuses those)
    number = int(value)
    return number if number < 1 << 64 else None


def framing(headers: list[tuple[str, str]]) -> tuple[str, int | None]:
    """``("chunked", None)``, ``("length", n)`` or ``("none", 0)`` from the request's
    ``[(lower-case name, value), ...]``; MalformedBody when they contradict each other.

    RFC 9112 6.1 and 6.3: a Transfer-Encoding whose last coding is not chunked
    cannot be framed (400); chunked wins over Content-Length; several
    Content-Length values must all be the same number (hyper's rules).
    """
    codings = [c.strip().lower() for name, value in headers if name == "transfer-encoding" for c in value.split(",")]
    codings = [c for c in codings if c]
    if codings:
        if codings[-1] != "chunked":
            raise MalformedBody(f"Transfer-Encoding {', '.join(codings)!r} does not end with chunked: the body has no framing")
        return "chunked", None
    lengths = {v.strip() for name, value in headers if name == "content-length" for v in value.split(",")}
    if not lengths:
        return "none", 0
    for value in lengths:
        if content_length(value) is None:
            shown = repr(value) if len(value) <= 40 else f"of {len(value)} characters"
            raise MalformedBody(f"Content-Length {shown} is not a number of bytes")
    if len({int(value) for value in lengths}) > 1:
        raise MalformedBody(f"Content-Length has different values: {', '.join(sorted(lengths))}")
    return "length", int(lengths.pop())


def iter_body(stream: Stream, headers: list[tuple[str, str]], limit: int = DEFAULT_LIMIT) -> Iterator[bytes]:
    """The body's pieces, read from the connection's raw ``stream``; raises a BodyError."""
    kind, length = framing(headers)
    if kind == "length" and length is not None:
        if length > limit:
            raise _too_large(limit, f"Content-Length {length}")
        yield from _fixed(stream, length)
    elif kind == "chunked":
        yield from _chunked(stream, limit)
    ended = getattr(stream, "body_ended", None)
    if ended is not None:  # the connection may serve another request now (trigger/http_server.py)
        ended()


def read_body(stream: Stream, headers: list[tuple[str, str]], limit: int = DEFAULT_LIMIT) -> bytes:
    return b"".join(iter_body(stream, headers, limit))


def read_to_end(stream: Stream, limit: int = DEFAULT_LIMIT) -> bytes:
    """A body whose end is the end of ``stream`` (a server that dechunked it already)."""
    pieces: list[bytes] = []
    received = 0
    while piece := _read(stream, PIECE):
        received += len(piece)
        if received > limit:
            raise _too_large(limit, "chunked")
        pieces.append(piece)
    return b"".join(pieces)


def _too_large(limit: int, what: str) -> "BodyTooLarge":
    return BodyTooLarge(f"request body over the {format_size(limit)} limit ({what}); spin-py up --max-request-body sets it")


def _read(stream: Stream, size: int) -> bytes:
    try:
        return stream.read(size)
    except TimeoutError:
        raise ClientTimeout("the client sent nothing for too long in the middle of its body") from None
    except (OSError, ValueError):  # reset, or the stream was closed under us
        raise ClientGone("the connection broke before the end of the request body") from None


def _fixed(stream: Stream, length: int, chunked: bool = False) -> Iterator[bytes]:
    left = length
    while left:
        piece = _read(stream, min(left, PIECE))
        if not piece:
            if chunked:
                raise ClientGone("the client closed the connection before the end of its chunked body")
            raise ClientGone(f"the client closed the connection after {length - left} of {length} body bytes")
        left -= len(piece)
        yield piece


def _line(stream: Stream, what: str) -> bytes:
    try:
        line = stream.readline(_MAX_LINE + 1)
    except TimeoutError:
        raise ClientTimeout("the client sent nothing for too long in the middle of its body") from None
    except (OSError, ValueError):
        raise ClientGone("the connection broke before the end of the request body") from None
    if not line.endswith(b"\n"):
        if len(line) > _MAX_LINE:
            raise MalformedBody(f"a chunked body's {what} line is longer than {_MAX_LINE} bytes")
        raise ClientGone("the client closed the connection before the end of its chunked body")
    return line


def _chunked(stream: Stream, limit: int) -> Iterator[bytes]:
    received = 0
    while True:
        line = _line(stream, "chunk-size")
        text = line.split(b";", 1)[0].strip(b" \t\r\n").decode("latin-1")
        if not _HEX.fullmatch(text):
            raise MalformedBody(f"invalid chunk size {text[:40]!r} in the chunked request body")
        size = int(text, 16)
        if size == 0:
            break
        if received + size > limit:
            raise _too_large(limit, "chunked")
        received += size
        yield from _fixed(stream, size, chunked=True)
        if _line(stream, "chunk-end") not in (b"\r\n", b"\n"):
            raise MalformedBody("a chunk of the chunked request body is longer than its size says")
    trailers = 0  # read and dropped, as Spin's components never see request trailers through the SDKs
    while True:
        line = _line(stream, "trailer")
        if line in (b"\r\n", b"\n"):
            return
        trailers += len(line)
        if trailers > _MAX_TRAILERS:
            raise MalformedBody(f"the chunked request body's trailers are over {format_size(_MAX_TRAILERS)}")


class StreamedBody:
    """A request body a worker pulls as its handler reads it: read from the connection
    only when asked for, so the host holds at most one piece of it."""

    def __init__(self, stream: Stream, headers: list[tuple[str, str]], limit: int = DEFAULT_LIMIT) -> None:
        self._pieces = iter_body(stream, headers, limit)
        self._rest = b""
        self.received = 0

    def read(self, size: int) -> bytes:
        """At most ``size`` bytes, b"" at the end; raises a BodyError."""
        if not self._rest:
            self._rest = next(self._pieces, b"")
        piece, self._rest = self._rest[:size], self._rest[size:]
        self.received += len(piece)
        return piece


def body_for_worker(stream: Stream, headers: list[tuple[str, str]], limit: int = DEFAULT_LIMIT) -> "bytes | StreamedBody":
    """The body whole (bytes) when it is small and its length known, else a StreamedBody;
    raises a BodyError for framing the headers already show is wrong or too large."""
    kind, length = framing(headers)
    if length is not None and length > limit:
        raise _too_large(limit, f"Content-Length {length}")
    if kind == "none" or (length is not None and length <= STREAM_ABOVE):
        return read_body(stream, headers, limit)
    return StreamedBody(stream, headers, limit)
