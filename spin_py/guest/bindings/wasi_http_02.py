"""wasi:http 0.2 under CPython: the raw ``incoming-handler`` export and the resources it
works with, filled in where the generated bindings only raise NotImplementedError.

That export is ``class IncomingHandler`` with ``def handle(self, request, response_out)``
in spin-sdk 2.x and 3.x (spin-python-sdk's ``streaming`` example on its v2.0 and stable
branches, which drives the SDK's own ``PollLoop`` over ``wasi:io/poll``), and
``class WasiHttpIncomingHandler020`` in 4.x and 5.x. The modules: spin-sdk 2.x/3.x
``spin_sdk.wit.imports.types``, ``streams``, ``poll``, ``error``, ``outgoing_handler`` and
``monotonic_clock``; 4.x/5.x the same interfaces as ``wasi_http_types_0_2_0`` and so on.

Under Spin the guest's ``handle`` runs while the host serves the response it sets: the
head goes out when ``ResponseOutparam.set`` is called, the body as it is written and
flushed, and ``handle`` may go on working after that. So here the handler sends its
response itself, on the worker's channel, as it goes: the ``response`` frame (streamed)
when it sets it, a ``body`` frame when it flushes (or CAPACITY bytes wait), ``end`` when
it finishes the body; its ``__call__`` then returns SENT and the worker only ends the
turn (worker.py ``_serve``). An instance has no threads, so everything runs on the one.

What waits, and for what:

- reading the request body: a read that has nothing buffered pulls the next piece from
  the host, after sending what the handler wrote and did not flush yet, so a client that
  waits for its echo before sending more is not kept waiting;
- ``outgoing-handler.handle``: the request goes to the host's outbound_http capability
  (allowed_outbound_hosts, service chaining; the body whole, at most 32 MiB, as for
  ``spin_sdk.http.send``) once its body is finished, when the handler polls for it;
- a monotonic-clock pollable sleeps until its time.

Everything else is ready at once. ``poll`` with nothing that can ever become ready
raises instead of waiting forever. Trailers are not carried: an incoming body has none,
and the ones a handler gives ``OutgoingBody.finish`` are dropped.
"""

import importlib
import sys
import time
from collections.abc import Callable
from types import ModuleType
from typing import Any

from spin_py_wire import frames

from .. import host
from . import outbound_http, wasi_http
from .wasi_http import case

# The modules of each interface: spin-sdk 2.x/3.x's name first, then 4.x/5.x's.
_PREFIX = "spin_sdk.wit.imports."
TYPES = tuple(_PREFIX + name for name in ("types", "wasi_http_types_0_2_0", "wasi_http_types_0_2_6"))
STREAMS = tuple(_PREFIX + name for name in ("streams", "wasi_io_streams_0_2_0", "wasi_io_streams_0_2_6"))
POLL = tuple(_PREFIX + name for name in ("poll", "wasi_io_poll_0_2_0", "wasi_io_poll_0_2_6"))
ERRORS = tuple(_PREFIX + name for name in ("error", "wasi_io_error_0_2_0", "wasi_io_error_0_2_6"))
OUTGOING = tuple(_PREFIX + name for name in (
    "outgoing_handler", "wasi_http_outgoing_handler_0_2_0", "wasi_http_outgoing_handler_0_2_6"))
CLOCKS = tuple(_PREFIX + name for name in (
    "monotonic_clock", "wasi_clocks_monotonic_clock_0_2_0", "wasi_clocks_monotonic_clock_0_2_6"))

# Response bytes a handler may write before it flushes (sent then without a flush), and
# before it sets its response (check-write says 0 past it).
CAPACITY = frames.PIECE


class _Sent:
    """The payload of a response the handler has sent itself (worker.py ``_serve``)."""

    sent = True


SENT = _Sent()


def _sibling(module: ModuleType, attribute: str) -> ModuleType:
    """The generated module that ``module`` imports and that defines ``attribute``
    (the streams, poll or error module of the same SDK generation)."""
    for value in vars(module).values():
        if isinstance(value, ModuleType) and value.__name__.startswith(_PREFIX) and attribute in vars(value):
            return value
    raise RuntimeError(f"spin-py: {module.__name__} imports no module defining {attribute}")


def _new(cls: type, **state) -> Any:
    """An instance of a generated resource class, made without its constructor (which only raises)."""
    instance = cls.__new__(cls)  # type: ignore[call-overload]  # a generated class, whatever its own __new__
    instance.__dict__.update(state)
    return instance


def _exit(self, *exc) -> None:
    return None


def _ok(module: ModuleType, value) -> Any:
    return module.Ok(value)


def _closed(streams: ModuleType) -> Exception:
    return streams.Err(case(streams, "StreamError", "Closed")())


def _failed(streams: ModuleType, text: str) -> Exception:
    error = _new(_sibling(streams, "Error").Error, _text=text)
    return streams.Err(case(streams, "StreamError", "LastOperationFailed")(error))


class HandlerDeadlock(RuntimeError):
    """``poll`` was asked to wait for pollables none of which can ever become ready."""


# --- the handler's request --------------------------------------------------------------------

class Exchange:
    """One request's ``handle(request, response_out)`` and what it has sent of its response."""

    def __init__(self) -> None:
        self.head = None  # (status, headers), sent when the handler set its response
        self.body = None  # that response's _OutBody
        self.refused = None  # the error code it set instead of a response

    def serve(self, handle: Callable, types: ModuleType, method: str, uri: str, headers: list, body) -> tuple:
        """Run ``handle``: ``(status, headers, payload)``, SENT as the payload when the
        handler sent its response itself (all of it: the body was finished)."""
        request = incoming_request(types, self, method, uri, headers, body)
        handle(request, _new(types.ResponseOutparam, _exchange=self, _used=False))
        if self.head is not None:
            if not self.body.finished:
                # wasi:http/types outgoing-body: dropped without finish, "the implementation should treat the
                # body as corrupted" (wasmtime aborts the response)
                raise RuntimeError("IncomingHandler.handle returned without finishing its response body "
                                   "(OutgoingBody.finish): the response is cut short")
            return self.head[0], self.head[1], SENT
        if self.refused is not None:
            # crates/trigger-http/src/wasi.rs: response.context("guest failed to produce a response")
            text = f"guest failed to produce a response: {self.refused!r}"
            print(text, file=sys.stderr, flush=True)
            return 500, [["content-type", "text/plain; charset=utf-8"]], (text + "\n").encode("utf-8")
        # crates/trigger-http/src/wasi.rs: Err(_) => ... "guest failed to produce a response prior to returning"
        raise RuntimeError("guest failed to produce a response prior to returning (IncomingHandler.handle must call "
                           "ResponseOutparam.set)")

    def send_written(self) -> None:
        """Before the handler waits on the host: what it wrote goes to the client first."""
        if self.body is not None:
            self.body.send()


# --- pollables ------------------------------------------------------------------------------------

class _Ready:
    """A pollable that is ready from the start."""

    def ready(self) -> bool:
        return True

    def advance(self) -> bool:
        return False


_READY = _Ready()


class _Writable:
    """``output-stream.subscribe``: ready when ``check-write`` allows a write."""

    def __init__(self, stream) -> None:
        self.stream = stream

    def ready(self) -> bool:
        return self.stream.dropped or self.stream.body.finished or self.stream.body.room() > 0

    def advance(self) -> bool:
        return False


class _Responded:
    """``future-incoming-response.subscribe``: ready once the response (or error) is in hand."""

    def __init__(self, pending: "_Pending") -> None:
        self.pending = pending

    def ready(self) -> bool:
        return self.pending.result is not None

    def advance(self) -> bool:
        if self.pending.sendable():
            self.pending.send()
            return True
        return False


class _Deadline:
    """A monotonic-clock pollable."""

    def __init__(self, when: int) -> None:
        self.when = when

    def ready(self) -> bool:
        return time.monotonic_ns() >= self.when

    def advance(self) -> bool:
        return False


def _pollable(poll: ModuleType, source) -> Any:
    return _new(poll.Pollable, _source=source)


def _poll(pollables: list) -> list:
    """The indexes of the ready pollables, waiting (doing the work that makes them ready) for one."""
    if not pollables:
        raise ValueError("poll needs at least one pollable")
    sources = [pollable._source for pollable in pollables]
    while True:
        ready = [index for index, source in enumerate(sources) if source.ready()]
        if ready:
            return ready
        if any(source.advance() for source in sources):
            continue
        deadlines = [source.when for source in sources if isinstance(source, _Deadline)]
        if deadlines:
            time.sleep(max(0, min(deadlines) - time.monotonic_ns()) / 1e9)
            continue
        raise HandlerDeadlock(
            "poll would wait forever: none of its pollables can become ready (a response body written past "
            f"{CAPACITY} bytes before ResponseOutparam.set, or an outgoing request whose body is not finished)")


def bind_poll(module: Any) -> None:  # a generated module: its functions are filled in here
    pollable = module.Pollable
    pollable.ready = lambda self: self._source.ready()
    pollable.block = lambda self: _poll([self]) and None
    pollable.__exit__ = _exit
    module.poll = lambda in_: _poll(in_)


def bind_error(module: ModuleType) -> None:
    module.Error.to_debug_string = lambda self: self._text
    module.Error.__exit__ = _exit


# --- streams --------------------------------------------------------------------------------------

class _OutBody:
    """What is written to an outgoing body: a response's (sent on as it is flushed, once
    the response is set) or an outgoing request's (sent whole when it is finished)."""

    def __init__(self, limit: int | None = None) -> None:
        self.data = bytearray()
        self.limit = limit  # an outgoing request's: the most the host takes
        self.total = 0
        self.finished = False
        self.streaming = False  # the response's body, once set: its head has gone out

    def room(self) -> int:
        """``check-write``: how many more bytes a write may give now."""
        if self.limit is not None:
            return CAPACITY
        return max(0, CAPACITY - len(self.data))

    def send(self) -> None:
        """Send what was written on to the client (a flush of the response body)."""
        if self.streaming and self.data:
            data, self.data = self.data, bytearray()
            if len(data) <= frames.PIECE:
                host.send({"op": "body"}, data)
                return
            with memoryview(data) as view:
                for start in range(0, len(view), frames.PIECE):
                    host.send({"op": "body"}, view[start:start + frames.PIECE])


def _out_stream(streams: ModuleType, body: _OutBody) -> Any:
    return _new(streams.OutputStream, body=body, dropped=False, _streams=streams)


def _writable(stream) -> _OutBody:
    if stream.dropped or stream.body.finished:
        raise _closed(stream._streams)
    return stream.body


def _check_write(self) -> int:
    return _writable(self).room()


def _write(self, contents: bytes) -> None:
    body = _writable(self)
    body.total += len(contents)
    if body.limit is not None and body.total > body.limit:
        raise _failed(self._streams, f"the request body is over spin-py's {body.limit}-byte limit for outgoing requests")
    body.data += contents
    if body.streaming and len(body.data) >= CAPACITY:
        body.send()


def _flush(self) -> None:
    _writable(self).send()


def _blocking_write_and_flush(self, contents: bytes) -> None:
    _write(self, contents)
    _flush(self)


def _splice(self, src, length: int) -> int:
    room = _check_write(self)
    if body_room := min(length, room):
        data = src.read(body_room)
        _write(self, data)
        return len(data)
    return 0


def _blocking_splice(self, src, length: int) -> int:
    while not _check_write(self):
        _poll([_out_subscribe(self)])
    return _splice(self, src, length)


def _out_subscribe(self) -> Any:
    return _pollable(_sibling(self._streams, "Pollable"), _Writable(self))


def _out_drop(self, *exc) -> None:
    self.dropped = True
    return None


class _InSource:
    """The bytes an input stream reads: whole, or pulled from the host piece by piece."""

    def __init__(self, data: bytes | bytearray | memoryview, pull=None, exchange: "Exchange | None" = None) -> None:
        self.view = memoryview(bytes(data))
        self.pull = pull  # guest/bodies.StreamedBody, for a request body the host streams
        self.exchange = exchange

    def read(self, size: int) -> bytes | None:
        if not self.view and self.pull is not None and not self.pull.ended:
            if self.exchange is not None:
                self.exchange.send_written()
            try:
                piece = self.pull.read(frames.PIECE)
            except host.BodyReadError:
                piece = b""  # the host answers the client itself; the handler sees the body end
                self.pull.ended = True
            self.view = memoryview(piece)
        if not self.view:
            return None
        piece = bytes(self.view[:size])
        self.view = self.view[len(piece):]
        return piece


def _in_stream(streams: ModuleType, source: _InSource) -> Any:
    return _new(streams.InputStream, _source=source, _streams=streams)


def _read(self, length: int) -> bytes:
    if length <= 0:
        return b""
    piece = self._source.read(length)
    if piece is None:
        raise _closed(self._streams)
    return piece


def _skip(self, length: int) -> int:
    return len(_read(self, length))


def _in_subscribe(self) -> Any:
    return _pollable(_sibling(self._streams, "Pollable"), _READY)


def bind_streams(module: ModuleType) -> None:
    source, sink = module.InputStream, module.OutputStream
    source.read = source.blocking_read = _read
    source.skip = source.blocking_skip = _skip
    source.subscribe = _in_subscribe
    source.__exit__ = _exit
    for name, function in (("check_write", _check_write), ("write", _write), ("flush", _flush),
                           ("blocking_flush", _flush), ("blocking_write_and_flush", _blocking_write_and_flush),
                           ("subscribe", _out_subscribe), ("splice", _splice), ("blocking_splice", _blocking_splice),
                           ("write_zeroes", lambda self, length: _write(self, bytes(length))),
                           ("blocking_write_zeroes_and_flush",
                            lambda self, length: _blocking_write_and_flush(self, bytes(length)))):
        setattr(sink, name, function)
    sink.__exit__ = _out_drop


# --- wasi:http/types ------------------------------------------------------------------------------

def _err_none(types: ModuleType) -> Exception:
    return types.Err(None)


def _take(resource, attribute: str, types: ModuleType) -> Any:
    """A child a resource gives at most once (``consume``, ``body``, ``stream``, ``write``)."""
    value = getattr(resource, attribute, None)
    if value is None:
        raise _err_none(types)
    setattr(resource, attribute, None)
    return value


def _method(types: ModuleType, name: str) -> Any:
    title = name.title()
    if name.upper() == name and title in ("Get", "Head", "Post", "Put", "Delete", "Connect", "Options", "Trace", "Patch"):
        return case(types, "Method", title)()
    return case(types, "Method", "Other")(name)


def _method_name(method) -> str:
    name = type(method).__name__
    if name in ("Method_Other", "MethodOther"):
        return method.value
    return name.removeprefix("Method").lstrip("_").upper()


def _scheme_name(scheme) -> str:
    name = type(scheme).__name__.removeprefix("Scheme").lstrip("_")
    return scheme.value if name == "Other" else name.lower()


def _incoming_body(types: ModuleType, source: _InSource) -> Any:
    streams = _sibling(types, "InputStream")
    return _new(types.IncomingBody, _stream=_in_stream(streams, source), _types=types)


def incoming_request(types: ModuleType, exchange: Exchange, method: str, uri: str, headers: list, body) -> Any:
    """The request ``handle`` gets: headers immutable, the body a stream that pulls from the host."""
    fields = types.Fields()
    fields._entries = [(name, value.encode("utf-8")) for name, value in headers]  # (a client's Host is allowed in)
    fields._immutable = True
    source = _InSource(body) if isinstance(body, (bytes, bytearray, memoryview)) else _InSource(b"", body, exchange)
    return _new(
        types.IncomingRequest, _method=_method(types, method), _path=uri or "/",
        _scheme=case(types, "Scheme", "Http")(),
        # wasmtime-wasi-http takes the authority from the request's Host header
        _authority=next((value for name, value in headers if name == "host"), None),
        _headers=fields, _body=_incoming_body(types, source), _types=types,
    )


def _future_trailers(types: ModuleType) -> Any:
    return _new(types.FutureTrailers, _types=types, _taken=False)


def _trailers_get(self) -> Any:
    if self._taken:
        return _err_none(self._types)
    self._taken = True
    return _ok(self._types, _ok(self._types, None))


def _outgoing_body(types: ModuleType, limit: int | None = None) -> Any:
    return _new(types.OutgoingBody, _state=_OutBody(limit), _writer=True, _types=types)


def _body_write(self) -> Any:
    if not self._writer:
        raise _err_none(self._types)
    self._writer = False
    return _out_stream(_sibling(self._types, "OutputStream"), self._state)


def _body_finish(cls, this, trailers) -> None:
    state = this._state
    if state.finished:
        raise RuntimeError("OutgoingBody.finish was called twice: the outgoing-body is consumed by the first call")
    _end_body(state)


def _end_body(state: _OutBody) -> None:
    state.finished = True
    if state.streaming:
        state.send()
        host.send({"op": "end"})  # the client has all of it; the handler may go on


def _outgoing_response_init(self, headers) -> None:
    self._headers = wasi_http.immutable_copy(headers)
    self._status = 200
    self._body = None
    self._body_taken = False
    self._types = sys.modules[type(self).__module__]


def _outgoing_response_body(self) -> Any:
    if self._body_taken:
        raise _err_none(self._types)
    self._body_taken = True
    self._body = _outgoing_body(self._types)
    return self._body


def _set_status_code(self, status_code: int) -> None:
    if isinstance(status_code, bool) or not isinstance(status_code, int) or not 100 <= status_code <= 999:
        raise _err_none(self._types)
    self._status = status_code


def _outparam_set(cls, param, response) -> None:
    """``response-outparam.set``: the head goes to the client now, the body as it is flushed."""
    exchange = param._exchange
    if param._used:
        raise RuntimeError("ResponseOutparam.set was called twice: the response-outparam is consumed by the first call")
    param._used = True
    if type(response).__name__ != "Ok":  # Err(error-code): Spin answers 500
        exchange.refused = getattr(response, "value", response)
    else:
        outgoing = response.value
        if type(outgoing).__name__ != "OutgoingResponse" or not hasattr(outgoing, "_status"):
            raise TypeError(f"ResponseOutparam.set needs Ok(OutgoingResponse), not Ok({type(outgoing).__name__})")
        outgoing._body_taken = True  # moved: its body can no longer be taken
        state = outgoing._body._state if outgoing._body is not None else _OutBody()
        headers = [[name.lower(), value.decode("utf-8", "replace")] for name, value in outgoing._headers._entries]
        exchange.head = (outgoing._status, headers)
        exchange.body = state
        host.send({"op": "response", "status": outgoing._status, "headers": headers, "stream": True})
        state.streaming = True
        if outgoing._body is None:
            _end_body(state)  # never taken: an empty body
        elif state.finished:
            state.finished = False
            _end_body(state)  # finished before it was set: all of it goes now


def _outgoing_request_init(self, headers) -> None:
    types = sys.modules[type(self).__module__]
    self._headers = wasi_http.immutable_copy(headers)
    self._method = case(types, "Method", "Get")()
    self._path = self._scheme = self._authority = None
    self._body = None
    self._body_taken = False
    self._types = types


def _outgoing_request_body(self) -> Any:
    if self._body_taken:
        raise _err_none(self._types)
    self._body_taken = True
    self._body = _outgoing_body(self._types, outbound_http.MAX_BODY)
    return self._body


def _setter(attribute: str) -> Callable:
    def set_value(self, value) -> None:
        setattr(self, attribute, value)

    return set_value


def _getter(attribute: str) -> Callable:
    def get_value(self) -> Any:
        return getattr(self, attribute)

    return get_value


def _options_init(self) -> None:
    self._timeouts = {}


class _Pending:
    """An outgoing request handed to ``outgoing-handler.handle``, and its response once made."""

    def __init__(self, types: ModuleType, request) -> None:
        self.types = types
        self.request = request
        self.result = None  # Ok(IncomingResponse) or Err(error-code)
        self.taken = False

    def sendable(self) -> bool:
        body = self.request._body
        return self.result is None and (body is None or body._state.finished)

    def send(self) -> None:
        types, request = self.types, self.request
        scheme = _scheme_name(request._scheme) if request._scheme is not None else "https"
        uri = f"{scheme}://{request._authority or ''}{request._path or '/'}"
        body = request._body._state.data if request._body is not None else None
        pairs = [(name, value.decode("utf-8", "replace")) for name, value in request._headers._entries]
        try:
            status, headers, data = outbound_http.send("wasi", _method_name(request._method), uri, pairs,
                                                       None if body is None else bytes(body))
        except host.HostError as error:
            self.result = outbound_http.wasi_error(types, error)
            return
        fields = types.Fields()
        fields._entries = [(name, value.encode("utf-8")) for name, value in headers]
        fields._immutable = True
        response = _new(types.IncomingResponse, _status=status, _headers=fields,
                        _body=_incoming_body(types, _InSource(data)), _types=types)
        self.result = _ok(types, response)


def _future_get(self) -> Any:
    pending = self._pending
    if pending.result is None:
        return None
    if pending.taken:
        return _err_none(pending.types)
    pending.taken = True
    return _ok(pending.types, pending.result)


def _outgoing_handle(types: ModuleType) -> Callable:
    def handle(request, options) -> Any:
        """``outgoing-handler.handle``: the request is made when the handler polls for its response."""
        if request._scheme is not None and _scheme_name(request._scheme) not in ("http", "https"):
            # wasmtime-wasi-http's handle: a scheme other than http and https is a protocol error
            raise types.Err(case(types, "ErrorCode", "HttpProtocolError")())
        return _new(types.FutureIncomingResponse, _pending=_Pending(types, request))

    return handle


def bind_types(module: ModuleType) -> None:
    """The resources of one wasi:http 0.2 types module."""
    types: Any = module
    poll = _sibling(types, "Pollable")
    wasi_http.bind_fields(types.Fields)
    types.Fields.entries = lambda self: list(self._entries)

    request = types.IncomingRequest
    for name, attribute in (("method", "_method"), ("path_with_query", "_path"), ("scheme", "_scheme"),
                            ("authority", "_authority"), ("headers", "_headers")):
        setattr(request, name, _getter(attribute))
    request.consume = lambda self: _take(self, "_body", self._types)

    incoming = types.IncomingBody
    incoming.stream = lambda self: _take(self, "_stream", self._types)
    incoming.finish = classmethod(lambda cls, this: _future_trailers(this._types))

    trailers = types.FutureTrailers
    trailers.subscribe = lambda self: _pollable(poll, _READY)
    trailers.get = _trailers_get

    outgoing = types.OutgoingBody
    outgoing.write = _body_write
    outgoing.finish = classmethod(_body_finish)

    response = types.OutgoingResponse
    response.__init__ = _outgoing_response_init
    response.status_code = _getter("_status")
    response.set_status_code = _set_status_code
    response.headers = _getter("_headers")
    response.body = _outgoing_response_body

    types.ResponseOutparam.set = classmethod(_outparam_set)

    out_request = types.OutgoingRequest
    out_request.__init__ = _outgoing_request_init
    out_request.body = _outgoing_request_body
    out_request.headers = _getter("_headers")
    for name, attribute in (("method", "_method"), ("path_with_query", "_path"), ("scheme", "_scheme"),
                            ("authority", "_authority")):
        setattr(out_request, name, _getter(attribute))
        setattr(out_request, f"set_{name}", _setter(attribute))

    options = types.RequestOptions
    options.__init__ = _options_init
    for name in ("connect_timeout", "first_byte_timeout", "between_bytes_timeout"):
        setattr(options, name, lambda self, name=name: self._timeouts.get(name))
        setattr(options, f"set_{name}", lambda self, duration, name=name: self._timeouts.__setitem__(name, duration))

    incoming_response = types.IncomingResponse
    incoming_response.status = _getter("_status")
    incoming_response.headers = _getter("_headers")
    incoming_response.consume = lambda self: _take(self, "_body", self._types)

    future = types.FutureIncomingResponse
    future.subscribe = lambda self: _pollable(poll, _Responded(self._pending))
    future.get = _future_get

    if hasattr(types, "http_error_code"):
        types.http_error_code = lambda err: None

    for cls in (types.Fields, request, incoming, trailers, outgoing, response, types.ResponseOutparam, out_request,
                options, incoming_response, future):
        cls.__exit__ = _exit


def bind_outgoing(module: Any) -> None:
    module.handle = _outgoing_handle(_sibling(module, "IncomingResponse"))


def bind_clock(module: Any) -> None:
    poll = _sibling(module, "Pollable")
    module.now = time.monotonic_ns
    module.resolution = lambda: 1
    module.subscribe_instant = lambda when: _pollable(poll, _Deadline(when))
    module.subscribe_duration = lambda duration: _pollable(poll, _Deadline(time.monotonic_ns() + duration))


def types_for(export: str) -> ModuleType:
    """The wasi:http 0.2 types module of an export: spin-sdk 2.x/3.x's ``types`` for
    ``IncomingHandler``, 4.x/5.x's 0.2.0 for ``WasiHttpIncomingHandler020``."""
    return importlib.import_module(TYPES[0] if export == "IncomingHandler" else TYPES[1])


BINDINGS: dict[str, Callable[[ModuleType], None]] = {
    **{name: bind_types for name in TYPES},
    **{name: bind_streams for name in STREAMS},
    **{name: bind_poll for name in POLL},
    **{name: bind_error for name in ERRORS},
    **{name: bind_outgoing for name in OUTGOING},
    **{name: bind_clock for name in CLOCKS},
}
