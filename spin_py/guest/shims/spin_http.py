"""The original Spin Python API's ``spin_http`` module (spin-python-sdk before
it was on PyPI; ``spin py2wasm``), for apps that ``from spin_http import Response``.

As there: ``headers`` is a dict of str to str (lower-case names; a request
header sent more than once arrives once, its values joined with ", "), and
``body`` is bytes (a request always has one, maybe empty) or None.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Optional

from spin_py_guest import host
from spin_py_guest.bindings import outbound_http


@dataclass
class Request:
    """An HTTP request"""

    method: str
    uri: str
    headers: Mapping[str, str]
    body: Optional[bytes]


@dataclass
class Response:
    """An HTTP response"""

    status: int
    headers: Mapping[str, str]
    # The old engine's pyo3 class took a trailing Option as optional: Response(404, {}) worked
    # (spin-python-sdk old-sdk: examples/KV/app.py relies on it).
    body: Optional[bytes] = None


def http_send(request: Request) -> Response:
    """Send an HTTP request and return a response or raise an error"""
    # The old engine (spin-python-sdk old-sdk, crates/spin-python-engine/src/lib.rs) sent it with
    # the Spin Rust SDK's outbound_http::send_request and raised AssertionError(f"{error:?}"):
    # the http-error's wit-bindgen 0.8 Display, e.g. "destination-not-allowed (error 1)".
    try:
        status, headers, body = outbound_http.send("spin", request.method, request.uri, request.headers.items(), request.body)
    except host.HostError as error:
        code = _HTTP_ERRORS.get(error.kind, 4)
        raise AssertionError(f"{_kebab(error.kind if error.kind in _HTTP_ERRORS else 'RuntimeError')} (error {code})") from None
    return Response(status, dict(headers), body)


# fermyon:spin/http-types http-error, in WIT order.
_HTTP_ERRORS = {"Success": 0, "DestinationNotAllowed": 1, "InvalidUrl": 2, "RequestError": 3, "RuntimeError": 4,
                "TooManyRequests": 5}


def _kebab(name):
    return "".join("-" + char.lower() if char.isupper() else char for char in name).lstrip("-")
