"""wasi:http 0.3 for spin-sdk 4.x (0.3.0-rc-2026-03-15) and 5.x (0.3.0 and the rc), under
CPython: what the raw ``HttpHandler.handle`` export of spin-python-sdk's ``streaming``
example needs, filled in where the generated bindings only raise NotImplementedError:

- ``spin_sdk.wit.byte_stream()`` and the ``result_*_future(default)`` constructors:
  Component Model ``stream<u8>`` and ``future`` ends, here asyncio objects on the
  worker's event loop. A stream is a rendezvous, as in the Component Model: ``write``
  resolves once the reader has taken (part of) the bytes, so a stream holds no more
  than the one write in hand.
- the ``fields``, ``request`` and ``response`` resources of ``wasi_http_types_*``:
  headers (immutable when the host hands them over), the request's method, path,
  scheme and authority, ``consume_body`` for the body's stream and trailers future.
- ``wasi_http_client_*.send``: the request goes to the host's outbound_http capability
  (allowed_outbound_hosts, service chaining), its body read whole first, as spin-py's
  ``spin_sdk.http.send`` does.

The incoming request's body stream pulls pieces from the host as the handler reads
them (guest/bodies.py); the response's stream is read by the worker piece by piece
and sent on as it comes (``outgoing_response``). Trailers are not carried: an
incoming request has none, and a response's trailers future is not read.

wasi:http 0.2 (the raw ``handle(request, response_out)`` export and its outgoing handler)
is wasi_http_02.py, which shares this module's ``fields``.
"""

import asyncio
import importlib
import sys
import weakref
from collections.abc import Callable, Iterator
from typing import Any

from spin_py_wire import frames

from .. import host
from . import outbound_http

TYPES = ("spin_sdk.wit.imports.wasi_http_types_0_3_0", "spin_sdk.wit.imports.wasi_http_types_0_3_0_rc_2026_03_15")
CLIENTS = {
    "spin_sdk.wit.imports.wasi_http_client_0_3_0": TYPES[0],
    "spin_sdk.wit.imports.wasi_http_client_0_3_0_rc_2026_03_15": TYPES[1],
}
# wasmtime-wasi-http's DEFAULT_FORBIDDEN_HEADERS: Fields refuses them with header-error.forbidden.
FORBIDDEN = frozenset(
    {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection",
     "transfer-encoding", "upgrade", "host", "http2-settings"}
)
_TOKEN = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_METHODS = ("Get", "Head", "Post", "Put", "Delete", "Connect", "Options", "Trace", "Patch")


def _err(value) -> Any:
    return sys.modules["componentize_py_types"].Err(value)


def _wake(future) -> None:
    if future is not None and not future.done():
        future.set_result(None)


# --- stream<u8> ------------------------------------------------------------------------------

class _Pipe:
    """One ``stream<u8>`` inside the worker: the bytes of one write wait here until read."""

    def __init__(self) -> None:
        self.offered = None  # the bytes of the write in progress
        self.taken = None  # the writer's future: resolved with how many bytes the reader took
        self.readable = None  # the reader's future: resolved when bytes are offered or the writer leaves
        self.writer_gone = False
        self.reader_gone = False

    def drop_writer(self) -> None:
        self.writer_gone = True
        _wake(self.readable)

    def drop_reader(self) -> None:
        self.reader_gone = True
        if self.taken is not None and not self.taken.done():
            self.taken.set_result(0)


class _Reader:
    """The readable end, as componentize_py_async_support.streams.ByteStreamReader."""

    def __init__(self, pipe) -> None:
        self.writer_dropped = False
        self.type_ = 0
        self.handle = None
        self._pipe = pipe
        self.finalizer = weakref.finalize(self, pipe.drop_reader)

    async def read(self, max_count: int) -> bytes:
        pipe = self._pipe
        if self.writer_dropped:
            return b""
        while pipe.offered is None and not pipe.writer_gone:
            pipe.readable = asyncio.get_running_loop().create_future()
            await pipe.readable
        if pipe.offered is None:
            self.writer_dropped = True
            return b""
        offered, pipe.offered = pipe.offered, None
        piece = bytes(offered[:max(0, max_count)])
        pipe.taken.set_result(len(piece))
        return piece

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc) -> None:
        self.finalizer()
        return None


class _Writer:
    """The writable end, as componentize_py_async_support.streams.ByteStreamWriter."""

    def __init__(self, pipe) -> None:
        self.reader_dropped = False
        self.type_ = 0
        self.handle = None
        self._pipe = pipe
        self.finalizer = weakref.finalize(self, pipe.drop_writer)

    async def write(self, source) -> int:
        pipe = self._pipe
        if pipe.reader_gone:
            self.reader_dropped = True
        if self.reader_dropped or not source:
            return 0
        if pipe.offered is not None:
            raise AssertionError("a second write started before the first one finished")
        pipe.offered = memoryview(source)
        pipe.taken = asyncio.get_running_loop().create_future()
        _wake(pipe.readable)
        count = await pipe.taken
        pipe.offered = None
        if pipe.reader_gone:
            self.reader_dropped = True
        return count

    async def write_all(self, source) -> int:
        total, view = 0, memoryview(source)
        while len(view) and not self.reader_dropped:
            count = await self.write(view)
            view = view[count:]
            total += count
        return total

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc) -> None:
        self.finalizer()
        return None


class _BodyReader(_Reader):
    """The incoming request's body: whole bytes, or pieces pulled from the host as read."""

    def __init__(self, body) -> None:
        super().__init__(_Pipe())
        self._body = body
        self._offset = 0

    async def read(self, max_count: int) -> bytes:
        if self.writer_dropped:
            return b""
        body = self._body
        if isinstance(body, (bytes, bytearray, memoryview)):
            piece = bytes(body[self._offset:self._offset + max(0, max_count)])
            self._offset += len(piece)
            self.writer_dropped = not piece
            return piece
        try:
            piece = body.read(max_count)
        except host.BodyReadError:
            piece = b""  # the host answers the client itself; the handler sees the body end
            body.ended = True
        if not piece and body.ended:
            self.writer_dropped = True
        return piece


# --- future ---------------------------------------------------------------------------------

class _Slot:
    def __init__(self, default) -> None:
        self.default = default
        self.resolved = False
        self.value = None
        self.waiter = None
        self.reader_gone = False

    def resolve(self, value) -> None:
        if not self.resolved:
            self.resolved, self.value = True, value
            _wake(self.waiter)

    def drop_writer(self) -> None:
        if not self.resolved and self.default is not None:
            self.resolve(self.default())


class _FutureReader:
    def __init__(self, slot) -> None:
        self.type_ = 0
        self.handle = None
        self._slot = slot

    async def read(self) -> Any:
        slot = self._slot
        while not slot.resolved:
            slot.waiter = asyncio.get_running_loop().create_future()
            await slot.waiter
        return slot.value

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc) -> None:
        self._slot.reader_gone = True
        return None


class _FutureWriter:
    def __init__(self, slot) -> None:
        self.type_ = 0
        self.handle = None
        self.default = slot.default
        self._slot = slot
        self.finalizer = weakref.finalize(self, slot.drop_writer)

    async def write(self, value) -> bool:
        self.finalizer.detach()
        self._slot.resolve(value)
        return not self._slot.reader_gone

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc) -> None:
        self.finalizer()
        return None


_classes: dict[type, type] = {}


def _sdk_classes() -> Any:
    """Our ends, made subclasses of the SDK's own classes so that isinstance checks hold."""
    if not _classes:
        streams = importlib.import_module("componentize_py_async_support.streams")
        futures = importlib.import_module("componentize_py_async_support.futures")
        for ours, theirs in ((_Reader, streams.ByteStreamReader), (_Writer, streams.ByteStreamWriter),
                             (_BodyReader, streams.ByteStreamReader),
                             (_FutureReader, futures.FutureReader), (_FutureWriter, futures.FutureWriter)):
            _classes[ours] = type(theirs.__name__, (ours, theirs), {"__module__": theirs.__module__})
    return _classes


def byte_stream() -> tuple:
    """``(writer, reader)`` of a new stream<u8>."""
    classes, pipe = _sdk_classes(), _Pipe()
    return classes[_Writer](pipe), classes[_Reader](pipe)


def future(default) -> tuple:
    """``(writer, reader)`` of a new future; a writer dropped unwritten sends ``default()``."""
    classes, slot = _sdk_classes(), _Slot(default)
    return classes[_FutureWriter](slot), classes[_FutureReader](slot)


def _ready(value) -> Any:
    slot = _Slot(None)
    slot.resolve(value)
    return _sdk_classes()[_FutureReader](slot)


def _body_reader(body) -> Any:
    return _sdk_classes()[_BodyReader](body)


def bind_wit(module) -> None:
    """``spin_sdk.wit``: byte_stream() and every ``..._future(default)`` constructor."""
    if hasattr(module, "byte_stream"):
        module.byte_stream = byte_stream
    for name, value in list(vars(module).items()):
        if name.endswith("_future") and callable(value):
            module.__dict__[name] = future


# --- fields, request, response ----------------------------------------------------------------

def _types_of(resource) -> Any:
    return sys.modules[type(resource).__module__]


def case(module, union, name) -> Any:
    """A variant case's class in a generated module: ``Union_Case`` (componentize-py 0.13 and
    later: spin-sdk 3 and later), or ``UnionCase`` (spin-sdk 2.0)."""
    return getattr(module, f"{union}_{name}", None) or getattr(module, f"{union}{name}")


def _header_error(types, name) -> Any:
    # (every generated module imports its generation's Err: spin_sdk.wit.types or componentize_py_types)
    return types.Err(case(types, "HeaderError", name)())


def _check_name(types, name) -> None:
    if not isinstance(name, str) or not name or not set(name) <= _TOKEN:
        raise _header_error(types, "InvalidSyntax")
    if name.lower() in FORBIDDEN:
        raise _header_error(types, "Forbidden")


def _check_value(types, value) -> bytes:
    if not isinstance(value, (bytes, bytearray)) or any((b < 0x20 and b != 0x09) or b == 0x7F for b in value):
        raise _header_error(types, "InvalidSyntax")
    return bytes(value)


def _fields_init(self) -> None:
    self._entries = []
    self._immutable = False


def _fields_from_list(cls, entries) -> Any:
    fields = cls()
    types = sys.modules[cls.__module__]
    for name, value in entries:
        _check_name(types, name)
        fields._entries.append((name, _check_value(types, value)))
    return fields


def _mutable(self) -> None:
    if self._immutable:
        raise _header_error(_types_of(self), "Immutable")


def _fields_get(self, name) -> list:
    name = name.lower()
    return [value for key, value in self._entries if key.lower() == name]


def _fields_has(self, name) -> bool:
    return bool(_fields_get(self, name))


def _fields_delete(self, name) -> None:
    _mutable(self)
    _check_name(_types_of(self), name)
    name = name.lower()
    self._entries = [(key, value) for key, value in self._entries if key.lower() != name]


def _fields_set(self, name, values) -> None:
    _mutable(self)
    types = _types_of(self)
    _check_name(types, name)
    checked = [_check_value(types, value) for value in values]
    _fields_delete(self, name)
    self._entries += [(name, value) for value in checked]


def _fields_get_and_delete(self, name) -> Any:
    values = _fields_get(self, name)
    _fields_delete(self, name)
    return values


def _fields_append(self, name, value) -> None:
    _mutable(self)
    types = _types_of(self)
    _check_name(types, name)
    self._entries.append((name, _check_value(types, value)))


def _fields_copy_all(self) -> list:
    return list(self._entries)


def _fields_clone(self) -> Any:
    copy = type(self)()
    copy._entries = list(self._entries)
    return copy


def _immutable_copy(fields) -> Any:
    copy = _fields_clone(fields)
    copy._immutable = True
    return copy


def _enter(self) -> Any:
    return self


def _exit(self, *exc) -> None:
    return None


def _message_init(self, headers, contents, trailers) -> None:
    self._headers = _immutable_copy(headers)
    self._contents = contents
    self._trailers = trailers
    self._consumed = False


def _request_new(cls, headers, contents, trailers, options) -> tuple:
    request = cls.__new__(cls)
    _message_init(request, headers, contents, trailers)
    types = sys.modules[cls.__module__]
    request._method, request._path, request._scheme, request._authority = types.Method_Get(), None, None, None
    request._options = options
    return request, _ready(sys.modules["componentize_py_types"].Ok(None))


def _response_new(cls, headers, contents, trailers) -> tuple:
    response = cls.__new__(cls)
    _message_init(response, headers, contents, trailers)
    response._status = 200
    return response, _ready(sys.modules["componentize_py_types"].Ok(None))


def _consume_body(cls, this, res) -> tuple:
    if this._consumed:
        raise RuntimeError("the body of this message was already consumed")
    this._consumed = True
    contents = this._contents if this._contents is not None else _body_reader(b"")
    trailers = this._trailers if this._trailers is not None else _ready(sys.modules["componentize_py_types"].Ok(None))
    return contents, trailers


def _set_status_code(self, status_code) -> None:
    if isinstance(status_code, bool) or not isinstance(status_code, int) or not 100 <= status_code <= 999:
        raise _err(None)
    self._status = status_code


def _setter(attribute) -> Callable[..., Any]:
    def set_value(self, value) -> None:
        setattr(self, attribute, value)

    return set_value


def _getter(attribute) -> Callable[..., Any]:
    def get_value(self) -> Any:
        return getattr(self, attribute)

    return get_value


def bind_fields(fields) -> None:
    """The ``fields`` resource, the same in wasi:http 0.2 and 0.3 (0.2 also names copy_all ``entries``)."""
    fields.__init__ = _fields_init
    fields.from_list = classmethod(_fields_from_list)
    for name, function in (("get", _fields_get), ("has", _fields_has), ("set", _fields_set),
                           ("delete", _fields_delete), ("get_and_delete", _fields_get_and_delete),
                           ("append", _fields_append), ("copy_all", _fields_copy_all), ("clone", _fields_clone)):
        setattr(fields, name, function)
    fields.__enter__, fields.__exit__ = _enter, _exit


def immutable_copy(fields) -> Any:
    """A copy of ``fields`` that refuses changes, as the headers a message hands out."""
    return _immutable_copy(fields)


def bind_types(module) -> None:
    """The resources of one wasi:http 0.3 types module."""
    fields, request, response = module.Fields, module.Request, module.Response
    bind_fields(fields)
    request.new = classmethod(_request_new)
    for name, attribute in (("method", "_method"), ("path_with_query", "_path"), ("scheme", "_scheme"),
                            ("authority", "_authority")):
        setattr(request, f"get_{name}", _getter(attribute))
        setattr(request, f"set_{name}", _setter(attribute))
    request.get_options = _getter("_options")
    response.new = classmethod(_response_new)
    response.get_status_code = _getter("_status")
    response.set_status_code = _set_status_code
    for cls in (request, response):
        cls.get_headers = _getter("_headers")
        cls.consume_body = classmethod(_consume_body)
    for cls in (fields, request, response):
        cls.__enter__, cls.__exit__ = _enter, _exit


def types_for(module) -> Any:
    """The wasi:http 0.3 types the app's handler module works with: the generation whose
    Request it imports (the `streaming` example imports the rc's), else the one the
    SDK's export takes."""
    request = getattr(module, "Request", None)
    if isinstance(request, type) and request.__module__ in TYPES:
        return sys.modules[request.__module__]
    exports = importlib.import_module("spin_sdk.wit.exports")
    for name in TYPES:
        if name.rsplit(".", 1)[1] in vars(exports):
            return importlib.import_module(name)
    return importlib.import_module(TYPES[1])


def incoming_request(types, method, uri, headers, body) -> Any:
    """The request the handler gets: headers immutable, the body a stream that pulls from the host."""
    fields = types.Fields.from_list([])  # (not from_list(headers): a client's Host is allowed in)
    fields._entries = [(name, value.encode("utf-8")) for name, value in headers]
    request, _ = types.Request.new(fields, _body_reader(body), None, None)
    upper = method.upper()
    request._method = getattr(types, f"Method_{upper.title()}")() if upper.title() in _METHODS and upper == method \
        else types.Method_Other(method)
    request._path = uri or "/"
    request._scheme = types.Scheme_Http()
    request._authority = next((value for name, value in headers if name == "host"), None)
    return request


class _ResponseBody:
    """A response's stream, read on the worker's loop piece by piece as the worker sends them."""

    def __init__(self, contents, loop) -> None:
        self.contents = contents
        self.loop = loop

    def pieces(self) -> Iterator[Any]:
        reader = self.contents
        if reader is None:
            return
        with reader:
            while not reader.writer_dropped:
                piece = self.loop.run_until_complete(reader.read(frames.PIECE))
                if piece:
                    yield piece


def outgoing_response(response, loop) -> tuple:
    """``(status, [[name, value], ...], body)`` from the handler's Response."""
    if type(response).__module__ not in TYPES or type(response).__name__ != "Response":
        raise TypeError(f"HttpHandler.handle returned {type(response).__name__}, not a wasi:http Response")
    if response._consumed:
        raise ValueError("HttpHandler.handle returned a Response whose body it had consumed")
    headers = [[name.lower(), value.decode("utf-8", "replace")] for name, value in response._headers._entries]
    if response._contents is None:  # no body: sent as an empty one, with its content-length
        return response._status, headers, b""
    return response._status, headers, _ResponseBody(response._contents, loop)


# --- wasi:http/client send -----------------------------------------------------------------------

def _method_name(method) -> Any:
    if type(method).__name__ == "Method_Other":
        return method.value
    return type(method).__name__.split("_", 1)[1].upper()


def bind_client(module) -> None:
    types = importlib.import_module(CLIENTS[module.__name__])

    async def send(request) -> Any:
        scheme = request._scheme
        scheme = "https" if scheme is None or type(scheme).__name__ == "Scheme_Https" else \
            "http" if type(scheme).__name__ == "Scheme_Http" else scheme.value
        uri = f"{scheme}://{request._authority or ''}{request._path or '/'}" if request._authority else (request._path or "/")
        contents, _ = _consume_body(type(request), request, None)
        body = bytearray()
        with contents:
            while not contents.writer_dropped:
                body += await contents.read(frames.PIECE)
        try:
            status, pairs, data = outbound_http.send(
                "wasi", _method_name(request._method), uri, [(n, v.decode("utf-8", "replace")) for n, v in request._headers._entries],
                bytes(body),
            )
        except host.HostError as error:
            raise outbound_http.wasi_error(types, error) from None
        fields = types.Fields.from_list([])
        fields._entries = [(name, value.encode("utf-8")) for name, value in pairs]
        response, _ = types.Response.new(fields, _body_reader(data), None)
        response._status = status
        return response

    send.__doc__ = module.send.__doc__
    module.send = send


from . import wasi_http_02  # noqa: E402  (wasi:http 0.2, built on this module's fields and case)

BINDINGS = {
    **wasi_http_02.BINDINGS,
    "spin_sdk.wit": bind_wit,
    **{name: bind_types for name in TYPES},
    **{name: bind_client for name in CLIENTS},
}
