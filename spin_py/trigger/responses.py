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
  differ. spin-py holds the whole body, so it answers 500 naming the header
  instead of a cut response.
"""

import re

from werkzeug.http import HTTP_STATUS_CODES

from spin_py.trigger.body import format_size
from spin_py.trigger.headers import BadResponseHeader, wire_header

# The most a worker may answer with in one response frame. The channel carries a
# body whole, so the host holds it whole: this bounds what one request can cost.
MAX_RESPONSE_BODY = 256 * 1024 * 1024
_DIGITS = re.compile(r"[0-9]+")
_NO_BODY_STATUSES = (204, 304)


class BadResponse(Exception):
    """The component's response is one Spin would refuse; the text says why, in one line."""


def status_line(status: int) -> str:
    return f"{status} {HTTP_STATUS_CODES.get(status, 'Unknown')}"


def wire_response(status, headers, body, *, method: str, max_body: int = MAX_RESPONSE_BODY):
    """``(status line, [(name, value), ...], [body])`` for start_response; BadResponse otherwise."""
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 999:
        raise BadResponse(f"the response status {_show(status)} is not an HTTP status code (an integer from 100 to 999)")
    if status < 200:
        raise BadResponse(f"the response status {status} is informational (1xx): it cannot be the final answer")
    if not isinstance(body, (bytes, bytearray)):
        raise BadResponse(f"the response body is {type(body).__name__}, not bytes")
    if len(body) > max_body:
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
        if not _DIGITS.fullmatch(lengths[0]):
            raise BadResponse(f"response header 'content-length' is {lengths[0]!r}, not a number of bytes")
        if sends_body and int(lengths[0]) != len(body):
            raise BadResponse(
                f"response header 'content-length' says {lengths[0]} bytes but the body has {len(body)}"
            )
    elif status not in _NO_BODY_STATUSES:
        wire.append(("content-length", str(len(body))))
    return status_line(status), wire, [bytes(body)] if sends_body and body else []


def _show(value):
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
