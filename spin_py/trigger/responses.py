"""A component's response, checked in the host as Spin's host checks it, and put
in the shape WSGI sends. The guest is not trusted: whatever a worker sends,
the client gets a well-formed answer.

Spin's rules, and where they come from:
- the status: wasi:http's ``set-status-code`` takes what the http crate's
  ``StatusCode::from_u16`` takes, 100 to 999; hyper then refuses to send a 1xx as
  the final response and answers 500 instead (hyper's h1 role.rs: "response
  with 1xx status code not supported"). Spin's executor for the original API
  answers 500 above 600 (trigger-http spin.rs); the guest knows which API a
  handler uses, so that narrower rule is not repeated here.
- headers: see ``headers.wire_header``.
- ``content-length``: wasmtime-wasi-http counts the body bytes against it and
  fails the body (hyper then cuts the connection after the headers) when they
  differ. For a body that came whole, spin-py answers 500 naming the header
  instead of a cut response; a streamed body is counted as it goes
  (``CountedBody``) and the connection is cut, as Spin does.
"""

from collections.abc import Callable, Iterable, Iterator
from typing import Any, NoReturn

from werkzeug.http import HTTP_STATUS_CODES

from spin_py.trigger.body import content_length, format_size
from spin_py.trigger.headers import BadResponseHeader, wire_header

# The most one response may carry (Spin has no limit). No body is held whole by the host
# any more (one over frames.PIECE streams), so this only stops a runaway handler: a
# response over it is cut.
MAX_RESPONSE_BODY = 4 * 1024 * 1024 * 1024
_NO_BODY_STATUSES = (204, 304)


class BadResponse(Exception):
    """The component's response is one Spin would refuse; the text says why, in one line."""


def status_line(status: int) -> str:
    return f"{status} {HTTP_STATUS_CODES.get(status, 'Unknown')}"


def wire_response(status: Any, headers: Any, body: Any, *, method: str,
                  max_body: int = MAX_RESPONSE_BODY) -> tuple[str, list[tuple[str, str]], "Iterable[bytes]"]:
    """``(status line, [(name, value), ...], [body])`` for start_response; BadResponse otherwise."""
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 999:
        raise BadResponse(f"the response status {_show(status)} is not an HTTP status code (an integer from 100 to 999)")
    if status < 200:
        raise BadResponse(f"the response status {status} is informational (1xx): it cannot be the final answer")
    streamed = not isinstance(body, (bytes, bytearray))
    if streamed and not hasattr(body, "__iter__"):
        raise BadResponse(f"the response body is {type(body).__name__}, not bytes")
    if not streamed and len(body) > max_body:
        raise BadResponse(
            f"the response body of {len(body)} bytes is over spin-py's {format_size(max_body)} limit for one response"
        )
    if not isinstance(headers, (list, tuple)) or not all(isinstance(p, (list, tuple)) and len(p) == 2 for p in headers):
        raise BadResponse(f"the response headers {_show(headers)} are not a list of [name, value] pairs")
    try:
        wire = [wire_header(name, value) for name, value in headers]
    except BadResponseHeader as error:
        raise BadResponse(str(error)) from None
    sends_body = method != "HEAD" and status not in _NO_BODY_STATUSES
    lengths = [value for name, value in wire if name == "content-length"]
    if len(lengths) > 1:
        raise BadResponse(f"the response has {len(lengths)} content-length headers")
    if lengths:
        if content_length(lengths[0]) is None:
            shown = repr(lengths[0]) if len(lengths[0]) <= 40 else f"{len(lengths[0])} characters long"
            raise BadResponse(f"response header 'content-length' is {shown}, not a number of bytes")
        if sends_body and not streamed and int(lengths[0]) != len(body):
            raise BadResponse(
                f"response header 'content-length' says {lengths[0]} bytes but the body has {len(body)}"
            )
    elif status not in _NO_BODY_STATUSES and not streamed:
        wire.append(("content-length", str(len(body))))
    if streamed:  # no content-length: the server sends it chunked
        declared = int(lengths[0]) if lengths and sends_body else None
        return status_line(status), wire, CountedBody(body, declared, max_body, sends_body)
    return status_line(status), wire, [bytes(body)] if sends_body and body else []


class BodyCut(ConnectionAbortedError):
    """A streamed response broke a rule on the way: the connection is cut (the text says why)."""


class CountedBody:
    """A streamed response body on its way to the client, counted as it goes. Over its
    content-length, short of it at the end, or over ``max_body``: ``problem`` is set and the
    connection cut (BodyCut), as hyper does when wasmtime-wasi-http fails the body. For HEAD,
    204 and 304 the pieces are drained, not sent."""

    def __init__(self, stream: Iterable[bytes], declared: int | None, max_body: int, sends_body: bool) -> None:
        self.stream = stream
        self.declared = declared
        self.max_body = max_body
        self.sends_body = sends_body
        self.sent = 0
        self.problem: str | None = None
        self.on_problem: Callable[[str], object] | None = None  # called with the text, once

    def _cut(self, text: str) -> NoReturn:
        self.problem = text
        if self.on_problem is not None:
            self.on_problem(text)
        raise BodyCut(text)

    def __iter__(self) -> Iterator[bytes]:
        if not self.sends_body and not getattr(self.stream, "must_drain", True):
            return  # a file's pieces: nobody waits for them to be taken
        for piece in self.stream:
            self.sent += len(piece)
            if self.declared is not None and self.sent > self.declared:
                self._cut(f"response header 'content-length' says {self.declared} bytes but the body has more")
            if self.sent > self.max_body:
                self._cut(f"the response body is over spin-py's {format_size(self.max_body)} limit for one response")
            if self.sends_body:
                yield bytes(piece)
        if self.declared is not None and self.sent != self.declared:
            self._cut(f"response header 'content-length' says {self.declared} bytes but the body has {self.sent}")

    def close(self) -> None:
        close = getattr(self.stream, "close", None)
        if close is not None:
            close()


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
