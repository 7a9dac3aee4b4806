"""Spin key-value for every spin-sdk generation: the generated interfaces'
functions forward to the host's ``key_value`` capability, and its error kinds
become each interface's own variants, as Spin's host maps them
(crates/factor-key-value/src/host.rs):

- spin-sdk 2.x/3.x ``key_value`` and 4.x/5.x ``fermyon_spin_key_value_2_0_0``
  (fermyon:spin/key-value@2.0.0): sync ``Store``; a handle this request did not
  open traps ("invalid store").
- 4.x/5.x ``spin_key_value_key_value_3_0_0`` (what ``spin_sdk.key_value``
  uses): async ``Store``; ``get_keys`` gives a stream and a future, as
  ``spin_sdk.util.collect`` reads them; a stale handle is NoSuchStore.
- 4.x/5.x ``fermyon_spin_key_value`` (unversioned): functions on integer
  handles; a missing key is NoSuchKey, other failures Io(text).
- wasi:keyvalue 0.2.0-draft2 ``store``/``batch``/``atomics`` (3.x without the
  version suffix): ``Bucket``; StoreTableFull is Other("store table full").
"""

import importlib
import inspect
from collections.abc import Callable
from typing import Any

from spin_py_wire.codec import decode_optional_bytes, encode_bytes

from .. import host
from .variants import variant

CAPABILITY = "key_value"
HANDLE = "_spin_py_handle"


class Trap(BaseException):
    """What a WebAssembly trap is to the app: not an error it can handle. Spin
    ends the request with a 500; so does the worker, for an exception that is
    not an Exception."""


def call(function, **args) -> Any:
    return host.call(CAPABILITY, function, args)


def encode(value, what="value") -> Any:
    if not isinstance(value, (bytes, bytearray, memoryview)):
        raise TypeError(f"the {what} must be bytes, not {type(value).__name__}")
    return encode_bytes(value)


decode = decode_optional_bytes


def _key(key) -> Any:
    if not isinstance(key, str):
        raise TypeError(f"the key must be a str, not {type(key).__name__}")
    return key


def _spin_error(module, error) -> Any:
    """spin:key-value@3.0.0 and fermyon:spin/key-value@2.0.0: StoreTableFull, NoSuchStore, AccessDenied, Other."""
    if error.kind in ("AccessDenied", "NoSuchStore", "StoreTableFull"):
        return module.Err(variant(module, error.kind))
    return module.Err(variant(module, "Other", error.message or error.kind))


def _v2_error(module, error) -> Any:
    if error.kind == "InvalidStore":
        return Trap(error.message)
    return _spin_error(module, error)


def _v3_error(module, error) -> Any:
    if error.kind == "InvalidStore":
        return module.Err(variant(module, "NoSuchStore"))
    return _spin_error(module, error)


def _v1_error(module, error) -> Any:
    """The unversioned interface: Spin's to_legacy_error (Other becomes Io)."""
    if error.kind == "InvalidStore":
        return Trap(error.message)
    if error.kind in ("AccessDenied", "NoSuchStore", "StoreTableFull", "NoSuchKey"):
        return module.Err(variant(module, error.kind))
    return module.Err(variant(module, "Io", error.message or error.kind))


def _wasi_error(module, error) -> Any:
    """wasi:keyvalue/store (crates/factor-key-value/src/host.rs to_wasi_err)."""
    if error.kind in ("AccessDenied", "NoSuchStore"):
        return module.Err(variant(module, error.kind))
    if error.kind == "InvalidStore":
        return module.Err(variant(module, "NoSuchStore"))
    if error.kind == "StoreTableFull":
        return module.Err(variant(module, "Other", "store table full"))
    return module.Err(variant(module, "Other", error.message or error.kind))


# -- resources --------------------------------------------------------------

def _new(cls, handle) -> Any:
    resource = cls.__new__(cls)
    setattr(resource, HANDLE, handle)
    return resource


def _handle(resource) -> Any:
    return getattr(resource, HANDLE, None)


def _close_on_exit(run, function="close", arg="store") -> Callable[..., Any]:
    def __exit__(self, exc_type=None, exc_value=None, traceback=None) -> None:
        handle = getattr(self, HANDLE, None)
        if handle is not None:
            setattr(self, HANDLE, None)
            run(function, **{arg: handle})
        return None

    return __exit__


def _store_methods(run, is_async) -> dict:
    """get/set/delete/exists/get_keys on a resource holding a host handle."""

    def get(self, key) -> Any:
        return decode(run("get", store=_handle(self), key=_key(key)))

    def set(self, key, value) -> None:
        run("set", store=_handle(self), key=_key(key), value=encode(value))

    def delete(self, key) -> None:
        run("delete", store=_handle(self), key=_key(key))

    def exists(self, key) -> Any:
        return run("exists", store=_handle(self), key=_key(key))

    def get_keys(self) -> Any:
        return run("get_keys", store=_handle(self))

    methods = {"get": get, "set": set, "delete": delete, "exists": exists, "get_keys": get_keys}
    return {name: _asyncify(function) if is_async else function for name, function in methods.items()}


def _asyncify(function) -> Callable[..., Any]:
    async def method(*args, **kwargs) -> Any:
        return function(*args, **kwargs)

    method.__name__ = function.__name__
    return method


def _install(cls, methods) -> None:
    for name, function in methods.items():
        original = cls.__dict__.get(name)
        original = getattr(original, "__func__", original)
        function.__name__ = name
        function.__qualname__ = f"{cls.__name__}.{name}"
        function.__doc__ = getattr(original, "__doc__", None)
        setattr(cls, name, function)


def bind_store_v2(module) -> None:
    """spin-sdk 2.x/3.x ``key_value``; 4.x/5.x ``fermyon_spin_key_value_2_0_0``."""
    run = host.caller(CAPABILITY, module, _v2_error)
    cls = module.Store

    def open(cls, label) -> Any:
        return _new(cls, run("open", label=label))

    methods = _store_methods(run, is_async=False)
    methods["__exit__"] = _close_on_exit(run)
    _install(cls, methods)
    cls.open = classmethod(open)


def bind_store_v3(module) -> None:
    """4.x/5.x ``spin_key_value_key_value_3_0_0``, what ``spin_sdk.key_value`` opens."""
    run = host.caller(CAPABILITY, module, _v3_error)
    cls = module.Store
    streams = _key_streams(module)

    async def open(cls, label) -> Any:
        return _new(cls, run("open", label=label))

    methods = _store_methods(run, is_async=True)

    async def get_keys(self) -> Any:
        try:
            keys = call("get_keys", store=_handle(self))
        except host.HostError as error:
            if error.kind == "InvalidStore":
                # Spin's get_keys returns the stream pair, not a key-value error: a bad handle traps.
                raise Trap(error.message) from None
            # A failure listing keys comes through the future, after an empty stream.
            return streams([], _v3_error(module, error))
        return streams(keys, module.Ok(None))

    methods["get_keys"] = get_keys
    methods["__exit__"] = _close_on_exit(run)
    _install(cls, methods)
    cls.open = classmethod(open)


def _key_streams(module) -> Callable[..., Any]:
    """(StreamReader[str], FutureReader[Result[None, Error]]) over a list the host already sent:
    the SDK's own classes, so ``isinstance`` and ``with`` work, without the Component Model handles."""
    # The SDK's own module (spin-sdk 4 and later), in the app's environment only.
    from componentize_py_async_support.futures import FutureReader  # type: ignore[import-not-found]
    from componentize_py_async_support.streams import StreamReader  # type: ignore[import-not-found]

    class _Detached:
        def detach(self) -> None:
            return None

    class KeyStream(StreamReader):
        def __init__(self, keys) -> None:
            self.writer_dropped = False
            self.type_ = None
            self.handle = None
            self.finalizer = _Detached()
            self._keys = list(keys)

        async def read(self, max_count) -> Any:
            if not self._keys:
                self.writer_dropped = True
                return []
            chunk, self._keys = self._keys[:max_count], self._keys[max_count:]
            return chunk

        def __exit__(self, exc_type, exc_value, traceback) -> None:
            self._keys = []
            return None

    class KeyStreamResult(FutureReader):
        def __init__(self, result) -> None:
            self.type_ = None
            self.handle = None
            self.finalizer = _Detached()
            self._result = result
            self._read = False

        async def read(self) -> Any:
            if self._read:
                raise AssertionError
            self._read = True
            return self._result

        def __exit__(self, exc_type, exc_value, traceback) -> None:
            return None

    return lambda keys, result: (KeyStream(keys), KeyStreamResult(result))


def bind_v1(module) -> None:
    """4.x/5.x ``fermyon_spin_key_value``: functions on integer handles."""
    run = host.caller(CAPABILITY, module, _v1_error)

    def open(name) -> Any:
        return run("open", label=name)

    def get(store, key) -> Any:
        value = run("get", store=store, key=_key(key))
        if value is None:
            raise module.Err(variant(module, "NoSuchKey"))
        return decode(value)

    def set(store, key, value) -> None:
        run("set", store=store, key=_key(key), value=encode(value))

    def delete(store, key) -> None:
        run("delete", store=store, key=_key(key))

    def exists(store, key) -> Any:
        return run("exists", store=store, key=_key(key))

    def get_keys(store) -> Any:
        return run("get_keys", store=store)

    def close(store) -> None:
        run("close", store=store)

    for function in (open, get, set, delete, exists, get_keys, close):
        function.__doc__ = getattr(getattr(module, function.__name__, None), "__doc__", None)
        setattr(module, function.__name__, function)


# -- wasi:keyvalue ------------------------------------------------------------

def bind_wasi_store(module) -> None:
    run = host.caller(CAPABILITY, module, _wasi_error)
    cls = module.Bucket

    def open(identifier) -> Any:
        return _new(cls, run("open", label=identifier))

    methods = _store_methods(run, is_async=False)
    del methods["get_keys"]

    def list_keys(self, cursor) -> Any:
        if cursor is not None:
            raise module.Err(variant(module, "Other", "list_keys: cursor not supported"))
        return module.KeyResponse(run("get_keys", store=_handle(self)), None)

    methods["list_keys"] = list_keys
    methods["__exit__"] = _close_on_exit(run)
    _install(cls, methods)
    open.__doc__ = module.open.__doc__
    module.open = open


def _store_module(module) -> Any:
    """The wasi:keyvalue/store module a batch or atomics module imported (its Bucket and Error)."""
    for value in vars(module).values():
        if inspect.ismodule(value) and hasattr(value, "Bucket"):
            return value
    return importlib.import_module(module.__name__.rsplit(".", 1)[0] + ".wasi_keyvalue_store")


def bind_wasi_batch(module) -> None:
    store = _store_module(module)
    run = host.caller(CAPABILITY, store, _wasi_error)

    def get_many(bucket, keys) -> list:
        keys = [_key(key) for key in keys]
        found = dict(run("get_many", store=_handle(bucket), keys=keys))
        return [(key, decode(found[key])) for key in keys if key in found]

    def set_many(bucket, key_values) -> None:
        pairs = [[_key(key), encode(value)] for key, value in key_values]
        run("set_many", store=_handle(bucket), pairs=pairs)

    def delete_many(bucket, keys) -> None:
        run("delete_many", store=_handle(bucket), keys=[_key(key) for key in keys])

    for function in (get_many, set_many, delete_many):
        function.__doc__ = getattr(module, function.__name__).__doc__
        setattr(module, function.__name__, function)


def bind_wasi_atomics(module) -> None:
    store = _store_module(module)
    run = host.caller(CAPABILITY, store, _wasi_error)
    cls = module.Cas

    def increment(bucket, key, delta) -> Any:
        return run("increment", store=_handle(bucket), key=_key(key), delta=delta)

    def new(cls, bucket, key) -> Any:
        return _new(cls, run("cas_new", store=_handle(bucket), key=_key(key)))

    def current(self) -> Any:
        return decode(run("cas_current", cas=_handle(self)))

    def swap(cas, value) -> None:
        handle = _handle(cas)
        setattr(cas, HANDLE, None)  # swap consumes the handle
        try:
            call("cas_swap", cas=handle, value=encode(value))
        except host.HostError as error:
            if error.kind == "CasFailed":
                raise module.Err(module.CasError_CasFailed(_new(cls, int(error.message)))) from None
            raise module.Err(module.CasError_StoreError(_wasi_error(store, error).value)) from None

    _install(cls, {"current": current, "__exit__": _close_on_exit(run, "cas_close", "cas")})
    cls.new = classmethod(new)
    for function in (increment, swap):
        function.__doc__ = getattr(module, function.__name__).__doc__
        setattr(module, function.__name__, function)


PREFIX = "spin_sdk.wit.imports."
BINDINGS = {
    PREFIX + "key_value": bind_store_v2,  # spin-sdk 2.x, 3.x
    PREFIX + "wasi_keyvalue_store": bind_wasi_store,  # spin-sdk 3.x
    PREFIX + "batch": bind_wasi_batch,
    PREFIX + "atomics": bind_wasi_atomics,
    PREFIX + "spin_key_value_key_value_3_0_0": bind_store_v3,  # spin-sdk 4.x, 5.x: spin_sdk.key_value
    PREFIX + "fermyon_spin_key_value_2_0_0": bind_store_v2,
    PREFIX + "fermyon_spin_key_value": bind_v1,
    PREFIX + "wasi_keyvalue_store_0_2_0_draft2": bind_wasi_store,
    PREFIX + "wasi_keyvalue_batch_0_2_0_draft2": bind_wasi_batch,
    PREFIX + "wasi_keyvalue_atomics_0_2_0_draft2": bind_wasi_atomics,
}
