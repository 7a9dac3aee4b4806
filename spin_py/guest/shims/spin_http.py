"""The original Spin Python API's ``spin_http`` module (spin-python-sdk before
it was on PyPI; ``spin py2wasm``), for apps that ``from spin_http import Response``.

As there: ``headers`` is a dict of str to str (lower-case names; a request
header sent more than once arrives once, its values joined with ", "), and
``body`` is bytes (a request always has one, maybe empty) or None.
"""

from collections.abc import Mapping
from dataclasses import dataclass

from spin_py_guest import host
from spin_py_guest.bindings import outbound_http


@dataclass
class Request:
    """An HTTP request"""

    method: str
    uri: str
    headers: Mapping[str, str]
    body: bytes | None


@dataclass
class Response:
    """An HTTP response"""

    status: int
    headers: Mapping[str, str]
    # The old engine's pyo3 class took a trailing Option as optional: Response(404, {}) worked
    # (spin-python-sdk old-sdk: examples/KV/app.py relies on it).
    body: bytes | None = None


def http_send(request: Request) -> Response:
    """Send an HTTP request and return a response or raise an error"""
    # The old engine (spin-python-sdk old-sdk, crates/spin-python-engine/src/lib.rs) sent it with
    # the Spin Rust SDK's outbound_http::send_request and raised AssertionError(f"{error:?}"):
    # the http-error's wit-bindgen 0.8 Display, e.g. "destination-not-allowed (error 1)".
    try:
        status, headers, body = outbound_http.send("spin", request.method, request.uri, request.headers.items(), request.body)
    except host.HostError as error:
        raise AssertionError(_error_text(error)) from None
    return Response(status, dict(headers), body)


def _error_text(error: host.HostError) -> str:
    """The old engine's text, and for a runtime-error what went wrong: Spin's guest learns only
    ``runtime-error`` (crates/factor-outbound-http/src/spin.rs, log_reqwest_error, which says the
    rest on the host's log as "Outbound HTTP connection error: URL ..., error detail ..."), where
    spin-sdk 3's ``send`` names the wasi:http error-code (``DnsError``, ``ConnectionRefused``, ...).
    The host's message is "<error-code>: <detail>" (spin_py/capabilities/outbound_http)."""
    if error.kind not in _HTTP_ERRORS:  # refused in the guest (bindings/outbound_http.py), before the host
        return f"runtime-error (error 4): {error.kind}: {error.message}"
    text = f"{_kebab(error.kind)} (error {_HTTP_ERRORS[error.kind]})"
    return f"{text}: {error.message}" if error.kind == "RuntimeError" and error.message else text


# fermyon:spin/http-types http-error, in WIT order.
_HTTP_ERRORS = {"Success": 0, "DestinationNotAllowed": 1, "InvalidUrl": 2, "RequestError": 3, "RuntimeError": 4,
                "TooManyRequests": 5}


def _kebab(name: str) -> str:
    return "".join("-" + char.lower() if char.isupper() else char for char in name).lstrip("-")
