"""The handler styles a Spin Python app can have, each called the way its own
SDK's export calls it, so the app runs unchanged. HTTP:

- spin-sdk 4 and 5: ``class HttpHandler(spin_sdk.http.Handler)``, whose
  ``async def handle_request(request)`` the SDK awaits (componentize-py exports
  wasi:http/handler as ``http-handler``, hence the class name);
- spin-sdk 2 and 3: ``class IncomingHandler(spin_sdk.http.IncomingHandler)``,
  whose ``def handle_request(request)`` the SDK calls (world ``spin-http``);
- the raw exports: wasi:http 0.3's ``HttpHandler.handle(request)`` (spin-sdk 4
  and 5), and wasi:http 0.2's ``handle(request, response_out)`` (spin-sdk 2 and 3's
  ``IncomingHandler`` overriding ``handle``, 4 and 5's ``WasiHttpIncomingHandler020``);
- the original API (``spin py2wasm``): a module-level ``handle_request(request)``
  taking and returning ``spin_http`` objects.

Redis (a message published on a ``[[trigger.redis]]`` channel):

- spin-sdk 4 and 5: ``class RedisHandler(spin_sdk.wit.exports.RedisHandler)``
  with ``async def handle_message(message)`` (spin:redis/inbound-redis@3.0.0,
  exported as ``redis-handler``), or ``class FermyonSpinInboundRedis`` with a
  plain ``def`` (fermyon:spin/inbound-redis);
- spin-sdk 2 and 3: ``class InboundRedis(spin_sdk.wit.exports.InboundRedis)``
  with ``def handle_message(message)``.

The original API has no Redis export (its engine exports only ``handle_request``,
spin-python-sdk old-sdk crates/spin-python-engine), so Spin cannot run it on a
Redis trigger, and neither does spin-py.

componentize-py creates the exported class's instance once, when the component
initialises, and calls that instance for every request: so does the worker.

An HTTP handler takes ``(method, uri, headers, body)``, headers as
``[[name, value], ...]``, and returns ``(status, headers, body)``. A Redis
handler takes the message bytes and returns None, or why it failed without
raising: the ``Err`` it raised (the WIT result's error), or a missing export
(Spin logs either, and the worker stays).
"""

import asyncio
import importlib
import inspect
import os
import sys
from types import ModuleType
from typing import Any

from . import async_support
from .bodies import whole


class LoadError(Exception):
    """The module imported, but spin-py finds no handler it can call in it."""


class Handlers:
    """What a module exports: ``http`` and ``redis`` are always callable; the one the
    module lacks answers with the error Spin would give."""

    def __init__(self, http, redis) -> None:
        self.http = http
        self.redis = redis


def find_handlers(module) -> Handlers:
    """The module's HTTP and Redis handlers; LoadError when it has neither (or a broken one)."""
    where = f"module '{module.__name__}' ({getattr(module, '__file__', None) or 'no file'})"
    http = _http_handler(module, where)
    redis = _redis_handler(module, where)
    if http is None and redis is None:
        raise LoadError(
            f"{where} has no HTTP handler and no Redis handler: spin-py looks for a class HttpHandler (spin-sdk 4 "
            "and later), a class IncomingHandler (spin-sdk 2 and 3), a class WasiHttpIncomingHandler020 (spin-sdk 4 "
            "and later's wasi:http 0.2 export) or a function handle_request (the original spin_http API); and for a "
            "class RedisHandler (spin-sdk 4 and later) or InboundRedis (spin-sdk 2 and 3)."
        )
    return Handlers(http or NoHttpHandler(where), redis or NoRedisHandler(module))


def _http_handler(module: ModuleType, where: str) -> Any:
    for name, base, adapter in (
        ("HttpHandler", "spin-sdk 4 and later (spin_sdk.http.Handler)", AsyncSdkHandler),
        ("IncomingHandler", "spin-sdk 2 and 3 (spin_sdk.http.IncomingHandler)", SdkHandler),
        ("WasiHttpIncomingHandler020", None, None),
    ):
        cls = getattr(module, name, None)
        if not isinstance(cls, type):
            continue
        if name != "HttpHandler" and _own_handle(cls):
            # The raw wasi:http 0.2 export (spin-python-sdk's `streaming` example on its v2.0 and stable
            # branches): componentize-py calls `handle(request, response_out)`, which spin_sdk.http's
            # IncomingHandler implements by calling handle_request, so a class that overrides it is raw.
            from .bindings import wasi_http_02

            return WasiHttp02Handler(cls(), wasi_http_02.types_for(name))
        if adapter is None or not callable(getattr(cls, "handle_request", None)):
            if name == "HttpHandler" and callable(getattr(cls, "handle", None)):
                # The raw wasi:http 0.3 export (spin-python-sdk's `streaming` example).
                from .bindings import wasi_http

                return WasiHttpHandler(cls(), wasi_http.types_for(module))
            raise LoadError(
                f"{where}: class {name} has neither a handle_request method nor its own handle method. spin-py "
                f"runs handlers written against {base or 'wasi:http 0.2'}, spin-sdk 4 and later's raw wasi:http 0.3 "
                "`HttpHandler.handle(request)`, and the raw wasi:http 0.2 `handle(request, response_out)`."
            )
        return adapter(cls(), importlib.import_module("spin_sdk.http").Request)
    function = getattr(module, "handle_request", None)
    if callable(function):
        return OriginalApiHandler(function)
    return None


def _own_handle(cls) -> bool:
    """Does ``cls`` implement ``handle`` itself (or through a class of the app's), rather than
    inherit spin_sdk.http's adapter or the generated export's abstract method?"""
    for klass in cls.__mro__:
        if "handle" in vars(klass):
            return callable(vars(klass)["handle"]) and not (klass.__module__ or "").startswith("spin_sdk.")
    return False


# The Redis exports, as componentize-py names their classes: (class, awaited?).
_REDIS_EXPORTS = (
    ("RedisHandler", True),  # spin-sdk 4 and 5: spin:redis/inbound-redis@3.0.0
    ("FermyonSpinInboundRedis", False),  # spin-sdk 4 and 5: fermyon:spin/inbound-redis
    ("InboundRedis", False),  # spin-sdk 2 and 3: fermyon:spin/inbound-redis
)


def _redis_handler(module: ModuleType, where: str) -> Any:
    found = [(name, awaited) for name, awaited in _REDIS_EXPORTS if isinstance(getattr(module, name, None), type)]
    if not found:
        return None
    if len(found) > 1:
        # crates/trigger-redis/src/lib.rs, HandlerType::from_instance_pre
        return NoRedisHandler(module, "component exports multiple Redis interfaces")
    name, awaited = found[0]
    cls = getattr(module, name)
    if not callable(getattr(cls, "handle_message", None)):
        raise LoadError(f"{where}: class {name} has no handle_message method")
    return RedisMessageHandler(cls(), name, awaited)


class SdkHandler:
    """spin-sdk 2.x and 3.x. Their ``IncomingHandler.handle`` export builds
    ``Request(method, path_with_query or "/", dict(header entries), bytes(body))``:
    header names are lower case, and a repeated header keeps its last value."""

    style = "IncomingHandler.handle_request"

    def __init__(self, instance, request_class) -> None:
        self.instance = instance
        self.request_class = request_class

    def request(self, method: str, uri: str, headers: list[list[str]], body: Any) -> Any:
        return self.request_class(method, uri or "/", {name.lower(): value for name, value in headers}, whole(body))

    def __call__(self, method, uri, headers, body) -> Any:
        result = self.instance.handle_request(self.request(method, uri, headers, body))
        if inspect.isawaitable(result):
            getattr(result, "close", lambda: None)()
            raise TypeError(
                f"{self.style} returned an awaitable: spin-sdk 2 and 3 call it without awaiting, so it must be "
                "a plain `def` (async handlers are spin-sdk 4's `class HttpHandler(spin_sdk.http.Handler)`)"
            )
        return response_parts(result, "spin_sdk.http.Response")

    def after_response(self) -> None:
        pass


class AsyncSdkHandler(SdkHandler):
    """spin-sdk 4.x and 5.x: the same Request, and ``Handler.handle`` awaits
    ``handle_request``. It runs on a real event loop that lives as long as the
    worker, so module-level asyncio objects keep working across requests."""

    style = "HttpHandler.handle_request"

    def __call__(self, method, uri, headers, body) -> Any:
        result = self.instance.handle_request(self.request(method, uri, headers, body))
        if not inspect.isawaitable(result):
            raise TypeError(f"{self.style} must be `async def`: spin-sdk 4 and later await it")
        return response_parts(worker_loop().run_until_complete(result), "spin_sdk.http.Response")

    def after_response(self) -> None:
        async_support.finish_spawned(worker_loop())


class WasiHttpHandler:
    """spin-sdk 4.x and 5.x's raw export, ``class HttpHandler(spin_sdk.wit.exports.HttpHandler)``
    with ``async def handle(request) -> Response`` on wasi:http 0.3's resources: the request
    body is a stream the handler reads as the client sends it, and the response body a
    stream the worker sends on as the handler (or a task it spawned) writes it."""

    style = "HttpHandler.handle"

    def __init__(self, instance, types) -> None:
        self.instance = instance
        self.types = types

    def __call__(self, method, uri, headers, body) -> Any:
        from .bindings import wasi_http

        result = self.instance.handle(wasi_http.incoming_request(self.types, method, uri, headers, body))
        if not inspect.isawaitable(result):
            raise TypeError(f"{self.style} must be `async def`: spin-sdk 4 and later await it")
        loop = worker_loop()
        return wasi_http.outgoing_response(loop.run_until_complete(result), loop)

    def after_response(self) -> None:
        async_support.finish_spawned(worker_loop())


class WasiHttp02Handler:
    """The raw wasi:http 0.2 export: ``IncomingHandler.handle(request, response_out)``
    (``WasiHttpIncomingHandler020`` in spin-sdk 4 and 5), run as componentize-py runs it,
    on wasi:http 0.2's resources (bindings/wasi_http_02.py). The request body is a stream
    pulled from the host as the handler reads it; the response goes to the client when
    the handler sets it, its body as the handler flushes it, and its end when the handler
    finishes it, all sent by the handler's own calls (the payload is then ``SENT``). The
    handler may go on after its response: the turn ends when it returns."""

    style = "IncomingHandler.handle"

    def __init__(self, instance, types) -> None:
        self.instance = instance
        self.types = types

    def __call__(self, method: str, uri: str, headers: list, body) -> tuple:
        from .bindings import wasi_http_02

        return wasi_http_02.Exchange().serve(self.instance.handle, self.types, method, uri, headers, body)

    def after_response(self) -> None:
        pass


class OriginalApiHandler:
    """The original API (spin-python-sdk before PyPI): its engine built
    ``spin_http.Request(method, path_with_query, headers, body)`` with headers
    as a dict whose repeated names are joined with ", ", and body as bytes."""

    def __init__(self, function) -> None:
        self.function = function
        self.request_class = importlib.import_module("spin_http").Request

    def __call__(self, method, uri, headers, body) -> Any:
        joined: dict[str, str] = {}
        for name, value in headers:
            name = name.lower()
            joined[name] = f"{joined[name]}, {value}" if name in joined else value
        result = self.function(self.request_class(method, uri, joined, whole(body)))
        if inspect.isawaitable(result):
            getattr(result, "close", lambda: None)()
            raise TypeError("handle_request returned an awaitable: the original Spin Python API calls it without awaiting")
        return response_parts(result, "spin_http.Response")

    def after_response(self) -> None:
        pass


class NoHttpHandler:
    """An HTTP request to a module with only a Redis handler (Spin would refuse it at
    startup): a 500 that says so, and the worker stays."""

    def __init__(self, where) -> None:
        self.text = (
            f"{where} has no HTTP handler: spin-py looks for a class HttpHandler (spin-sdk 4 and later), "
            "a class IncomingHandler (spin-sdk 2 and 3), a class WasiHttpIncomingHandler020 (spin-sdk 4 and later's "
            "wasi:http 0.2 export) or a function handle_request (the original spin_http API)."
        )

    def __call__(self, method, uri, headers, body) -> tuple:
        print(self.text, file=sys.stderr, flush=True)
        return 500, [["content-type", "text/plain; charset=utf-8"]], (self.text + "\n").encode("utf-8")

    def after_response(self) -> None:
        pass


class RedisMessageHandler:
    """spin-sdk 2 to 5: the exported class's ``handle_message(message: bytes)``,
    awaited for spin-sdk 4's RedisHandler. An ``Err`` it raises is the WIT
    result's error: Spin logs "Redis handler returned an error" and goes on."""

    def __init__(self, instance, name, awaited) -> None:
        self.instance = instance
        self.style = f"{name}.handle_message"
        self.awaited = awaited

    def __call__(self, message) -> str | None:
        try:
            result = self.instance.handle_message(bytes(message))
            if self.awaited:
                if not inspect.isawaitable(result):
                    raise TypeError(f"{self.style} must be `async def`: spin-sdk 4 and later await it")
                result = worker_loop().run_until_complete(result)
            elif inspect.isawaitable(result):
                getattr(result, "close", lambda: None)()
                raise TypeError(
                    f"{self.style} returned an awaitable: it is called without awaiting, so it must be a plain `def` "
                    "(async handlers are spin-sdk 4's `class RedisHandler(spin_sdk.wit.exports.RedisHandler)`)"
                )
        except Exception as error:
            if type(error).__name__ == "Err" and hasattr(error, "value"):  # spin_sdk.wit.types / componentize_py_types
                # crates/trigger-redis/src/lib.rs: .context("Redis handler returned an error")
                return f"Redis handler returned an error: {error.value!r}"
            raise
        return None

    def after_response(self) -> None:
        if self.awaited:
            async_support.finish_spawned(worker_loop())


class NoRedisHandler:
    """A Redis message for a module without a Redis export: Spin's error for it
    (crates/trigger-redis/src/lib.rs, HandlerType::from_instance_pre), per message."""

    def __init__(self, module, problem="component does not export a Redis interface") -> None:
        self.problem = problem
        original_api = callable(getattr(module, "handle_request", None)) and not any(
            hasattr(module, name) for name in ("HttpHandler", "IncomingHandler")
        )
        if original_api and problem.endswith("interface"):
            self.problem += (
                " (the original Spin Python API exports only handle_request; a Redis handler needs spin-sdk 2 or "
                "later: class InboundRedis(spin_sdk.wit.exports.InboundRedis), or with spin-sdk 4 and later "
                "class RedisHandler(spin_sdk.wit.exports.RedisHandler))"
            )

    def __call__(self, message) -> Any:
        return self.problem

    def after_response(self) -> None:
        pass


_loop = None
_loop_pid = None  # the process that made _loop
_inherited: list[asyncio.AbstractEventLoop] = []  # loops a fork brought along: kept, never closed (see worker_loop)


def worker_loop() -> asyncio.AbstractEventLoop:
    """The one event loop of this process, for every async handler, made on first use
    and kept as long as the process, so module-level asyncio objects keep working
    across requests. A process forked from the one that made it makes its own: the
    inherited loop's epoll instance is shared with the parent across the fork, so
    registrations made in either would wake the other. The inherited one is kept
    referenced and never closed, since closing it (as its finalizer would) removes
    the parent's registrations from that shared instance."""
    global _loop, _loop_pid
    pid = os.getpid()
    if _loop_pid != pid:
        if _loop is not None:
            _inherited.append(_loop)
        _loop, _loop_pid = asyncio.new_event_loop(), pid
    return _loop


def response_parts(response: Any, expected: str) -> tuple[int, list[list[str]], Any]:
    """``(status, [[name, value], ...], body)`` from the handler's Response, with
    the checks Spin makes when it converts one: what Spin would refuse fails here
    too, with a message that says why, rather than working only under spin-py."""
    if not all(hasattr(response, field) for field in ("status", "headers", "body")):
        raise TypeError(f"the handler returned {_short(response)}, not a {expected}")
    status = response.status
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 999:
        raise ValueError(f"the Response status {_short(status)} is not an HTTP status code (an int from 100 to 999)")
    headers = response.headers
    if not hasattr(headers, "items"):
        raise TypeError(f"the Response headers are {_short(headers)}: Spin needs a dict of str to str")
    pairs = []
    for name, value in headers.items():
        if not isinstance(name, str) or not isinstance(value, str):
            raise TypeError(f"the Response header {_short(name)}: {_short(value)} is not str: str, as Spin needs")
        pairs.append([name.lower(), value])
    body = response.body
    if body is None:
        body = b""
    elif isinstance(body, str):
        raise TypeError("the Response body is a str: Spin needs bytes or None (for example body.encode('utf-8'))")
    elif not isinstance(body, (bytes, bytearray, memoryview)):
        raise TypeError(f"the Response body is {_short(body)}: Spin needs bytes or None")
    return status, pairs, bytes(body)


def _short(value) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text if len(text) <= 80 else text[:77] + '...'}"
