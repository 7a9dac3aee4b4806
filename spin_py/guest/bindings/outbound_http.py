"""Outbound HTTP for every spin-sdk generation: the SDK's high-level ``send`` forwards the
request (method, URL, headers, body) to the host's ``outbound_http`` capability, which
checks allowed_outbound_hosts and makes it, and builds the SDK's own Response from the
answer; errors are the SDK's own:

- spin-sdk 2.x/3.x ``spin_sdk.http.send`` (and 3.x ``send_async``), 4.x/5.x ``async send``:
  ``Err(ErrorCode_<variant>)`` of wasi:http (``ErrorCode<variant>`` in 2.0), e.g.
  ``ErrorCode_HttpRequestDenied()`` for a destination the manifest does not allow;
- 4.x/5.x ``fermyon_spin_http.send_request`` (fermyon:spin/http): ``Err(HttpError.<VALUE>)``;
- the original API's ``spin_http.http_send``: shims/spin_http.py.

What each SDK's ``send`` does to the request before it reaches the host is kept: spin-sdk
3+ adds ``content-length`` when missing, 2.0 drops the query and refuses a body.

wasi:http 0.3's ``client.send`` (spin-sdk 4.x/5.x, which the ``streaming`` example calls
itself) goes through ``send`` too: bindings/wasi_http.py; so does wasi:http 0.2's
``outgoing_handler.handle`` (``OutgoingRequest``, spin-sdk 2.x/3.x's ``poll_loop.send``):
bindings/wasi_http_02.py.
"""

import inspect
import sys
from typing import Any

from spin_py_wire.codec import decode_bytes, encode_bytes

from .. import host

CAPABILITY = "outbound_http"
# As the host's limit (spin_py/capabilities/outbound_http/client.py): the body crosses the channel in one frame.
MAX_BODY = 32 * 1024 * 1024
# fermyon:spin/http http-error values.
_HTTP_ERRORS = {"DestinationNotAllowed": "DESTINATION_NOT_ALLOWED", "InvalidUrl": "INVALID_URL",
                "RequestError": "REQUEST_ERROR", "RuntimeError": "RUNTIME_ERROR", "TooManyRequests": "TOO_MANY_REQUESTS"}


def send(api, method, uri, headers, body) -> tuple:
    """``(status, [(name, value)], body bytes)``; raises host.HostError(kind, text)."""
    if body is not None and len(body) > MAX_BODY:
        raise host.HostError("HttpRequestBodySize", f"the request body is over spin-py's {MAX_BODY}-byte limit")
    value = host.call(CAPABILITY, "send", {
        "api": api,
        "method": method,
        "uri": uri,
        "headers": [[str(name), str(value)] for name, value in headers],
        "body": None if body is None else encode_bytes(body),
    })
    return value["status"], [tuple(pair) for pair in value["headers"]], decode_bytes(value["body"])


# --- wasi:http (spin-sdk 2.x-5.x spin_sdk.http) --------------------------------------------------------
def _types_module(module) -> Any:
    """The wasi:http types module this ``spin_sdk.http`` imports (0.2.0, 0.3.0-rc or 0.3.0)."""
    return sys.modules[module.Fields.__module__]


def _err_class() -> Any:
    for name in ("componentize_py_types", "spin_sdk.wit.types"):
        found = sys.modules.get(name)
        if found is not None and hasattr(found, "Err"):
            return found.Err
    raise RuntimeError("spin-py: the SDK's Err type was not found")


def wasi_error(types, error) -> Any:
    """``Err(ErrorCode_<kind>(...))`` as the SDK raises it."""
    variant = getattr(types, f"ErrorCode_{error.kind}", None) or getattr(types, f"ErrorCode{error.kind}", None)
    if variant is None:
        variant = getattr(types, "ErrorCode_InternalError", None) or types.ErrorCodeInternalError
        return _err_class()(variant(f"{error.kind}: {error.message}"))
    if error.kind == "DnsError":
        return _err_class()(variant(types.DnsErrorPayload("address not available", 0)))
    if error.kind == "InternalError":
        return _err_class()(variant(error.message))
    if error.kind in ("HttpResponseBodySize", "HttpRequestBodySize"):
        return _err_class()(variant(None))
    return _err_class()(variant())


def bind_sdk_http(module) -> None:
    """``spin_sdk.http``: ``send`` (sync in 2.x/3.x, async in 4.x/5.x) and 3.x's ``send_async``."""
    original = getattr(module, "send", None)
    if not inspect.isfunction(original):
        return
    types = _types_module(module)
    old_sdk = hasattr(types, "ErrorCodeHttpRequestDenied")  # spin-sdk 2.0: no query, no body, no content-length

    def body(request) -> Any:
        headers = dict(request.headers)
        uri = request.uri
        if old_sdk:
            if request.body is not None:
                raise NotImplementedError("todo: handle outgoing request bodies")
            uri = uri.partition("?")[0]
        elif headers.get("content-length") is None:
            headers["content-length"] = str(len(request.body) if request.body is not None else 0)
        try:
            status, pairs, data = send("wasi", request.method, uri, headers.items(), request.body)
        except host.HostError as error:
            raise wasi_error(types, error) from None
        # As the SDK builds it: a dict, so a repeated header keeps its last value.
        return module.Response(status, dict(pairs), data)

    if inspect.iscoroutinefunction(original):
        async def send_request(request) -> Any:
            return body(request)
    else:
        def send_request(request) -> Any:  # type: ignore[misc]  # the plain twin of an async function: their types differ by nature
            return body(request)

    send_request.__name__, send_request.__doc__ = "send", original.__doc__
    module.send = send_request
    if inspect.isfunction(getattr(module, "send_async", None)):
        async def send_async(request) -> Any:
            return body(request)

        module.send_async = send_async


# --- fermyon:spin/http (spin-sdk 4.x/5.x fermyon_spin_http) -------------------------------------------
def bind_spin_http(module) -> None:
    types = module.fermyon_spin_http_types

    def send_request(req) -> Any:
        try:
            status, pairs, data = send("spin", req.method.name, req.uri, req.headers, req.body)
        except host.HostError as error:
            raise module.Err(types.HttpError[_HTTP_ERRORS.get(error.kind, "RUNTIME_ERROR")]) from None
        return types.Response(status, list(pairs), data)

    send_request.__doc__ = module.send_request.__doc__
    module.send_request = send_request


BINDINGS = {
    "spin_sdk.http": bind_sdk_http,
    "spin_sdk.wit.imports.fermyon_spin_http": bind_spin_http,
}
