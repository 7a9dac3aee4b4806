"""The three handler styles a Spin Python app can have, each called the way
its SDK's own export would call it.

1. spin-sdk 4.x/5.x: ``class HttpHandler(spin_sdk.http.Handler)`` with ``async def handle_request``.
2. spin-sdk 2.x/3.x: ``class IncomingHandler(spin_sdk.http.IncomingHandler)`` with ``def handle_request``.
3. The original API: a module-level ``handle_request(request)`` returning ``spin_http.Response``.

Each adapter takes ``(method, uri, headers, body)`` with headers as
``[[name, value], ...]`` in lower case, and returns ``(status, headers, body)``.
"""

import asyncio
import sys


class NoHandler(Exception):
    pass


def find_handler(module):
    http_handler = getattr(module, "HttpHandler", None)
    if isinstance(http_handler, type):
        return AsyncSdkHandler(http_handler())
    incoming_handler = getattr(module, "IncomingHandler", None)
    if isinstance(incoming_handler, type):
        return SdkHandler(incoming_handler())
    handle_request = getattr(module, "handle_request", None)
    if callable(handle_request):
        return OriginalApiHandler(handle_request)
    raise NoHandler(
        f"module '{module.__name__}' ({getattr(module, '__file__', '?')}) has no HTTP handler: expected a class "
        "HttpHandler (spin-sdk 4 and later), a class IncomingHandler (spin-sdk 2 and 3) "
        "or a function handle_request (the original spin_http API)"
    )


def _response_parts(response, style):
    if response is None or not hasattr(response, "status"):
        raise TypeError(f"the handler returned {response!r}, not a {style} Response")
    headers = response.headers or {}
    pairs = headers.items() if hasattr(headers, "items") else headers
    body = response.body
    if isinstance(body, str):
        body = body.encode("utf-8")
    return int(response.status), [[str(name), str(value)] for name, value in pairs], bytes(body or b"")


def _sdk_request_class():
    from spin_sdk.http import Request

    return Request


class SdkHandler:
    """spin-sdk 2.x/3.x: the SDK's ``IncomingHandler.handle`` builds its ``Request``
    from the path with query, a dict of headers (a repeated header keeps its
    last value) and the whole body, then calls ``handle_request``."""

    def __init__(self, instance):
        self.instance = instance
        self.request_class = _sdk_request_class()

    def __call__(self, method, uri, headers, body):
        request = self.request_class(method, uri, dict(headers), body)
        return _response_parts(self.instance.handle_request(request), "spin_sdk.http")


class AsyncSdkHandler(SdkHandler):
    """spin-sdk 4.x/5.x: the same Request, an ``async`` handler run on a real
    event loop that lives as long as the worker."""

    def __init__(self, instance):
        super().__init__(instance)
        self.loop = asyncio.new_event_loop()

    def __call__(self, method, uri, headers, body):
        release_componentize_loop()
        request = self.request_class(method, uri, dict(headers), body)
        response = self.loop.run_until_complete(self.instance.handle_request(request))
        return _response_parts(response, "spin_sdk.http")


class OriginalApiHandler:
    """The original API: ``spin_http.Request(method, uri, headers, body)`` with
    headers as a dict whose repeated names are joined with ", "."""

    def __init__(self, function):
        self.function = function
        from spin_http import Request

        self.request_class = Request

    def __call__(self, method, uri, headers, body):
        joined = {}
        for name, value in headers:
            joined[name] = f"{joined[name]}, {value}" if name in joined else value
        response = self.function(self.request_class(method, uri, joined, body))
        return _response_parts(response, "spin_http")


def release_componentize_loop():
    """spin-sdk 4.x/5.x ship componentize-py's async support, which at import
    time installs a stand-in event loop as the running loop: right inside a
    component, wrong in CPython, where it makes asyncio.run and any real loop
    fail. Clear it so the handler runs on a real loop."""
    support = sys.modules.get("componentize_py_async_support")
    if support is None:
        return
    loop = getattr(support, "_loop", None)
    if loop is not None and asyncio.events._get_running_loop() is loop:
        asyncio.events._set_running_loop(None)
    try:
        current = asyncio.get_event_loop_policy().get_event_loop()
    except RuntimeError:
        return
    if current is loop:
        asyncio.set_event_loop(None)
