"""Outbound Redis for every spin-sdk generation: the generated interfaces
forward to the host's ``redis`` capability, and its error kinds become each
interface's own variants (crates/factor-outbound-redis/src/host.rs):

- spin-sdk 2.x/3.x ``redis`` and 4.x/5.x ``fermyon_spin_redis_2_0_0``
  (fermyon:spin/redis@2.0.0): a sync ``Connection``.
- 4.x/5.x ``spin_redis_redis_3_0_0`` (what ``spin_sdk.redis`` opens): the
  same ``Connection`` with async methods.
- 4.x/5.x ``fermyon_spin_redis`` (unversioned): functions taking the address,
  each opening and closing a connection, with one error (``Error.ERROR``); a
  missing key reads as empty bytes, as Spin's v1 ``get`` answers.
"""

import inspect
from collections.abc import Callable
from typing import Any

from spin_py_wire.codec import decode_optional_bytes, encode_bytes

from .. import host

CAPABILITY = "redis"
HANDLE = "_spin_py_handle"
KINDS = ("InvalidAddress", "TooManyConnections", "TypeError", "Other")


def call(function, **args) -> Any:
    return host.call(CAPABILITY, function, args)


def encode(value, what) -> Any:
    if not isinstance(value, (bytes, bytearray, memoryview)):
        raise TypeError(f"the {what} must be bytes, not {type(value).__name__}")
    return encode_bytes(value)


decode = decode_optional_bytes


def _strings(values, what) -> Any:
    values = list(values)
    for value in values:
        if not isinstance(value, str):
            raise TypeError(f"the {what} must be strings, not {type(value).__name__}")
    return values


def _string(value, what) -> Any:
    if not isinstance(value, str):
        raise TypeError(f"the {what} must be a str, not {type(value).__name__}")
    return value


def _variant(module, prefix, name, *payload) -> Any:
    """``Error_<name>`` (spin-sdk 3+) or ``Error<name>`` (spin-sdk 2.0)."""
    cls = getattr(module, f"{prefix}_{name}", None) or getattr(module, f"{prefix}{name}")
    return cls(*payload)


def to_error(module, error) -> Any:
    kind = error.kind if error.kind in KINDS else "Other"
    if kind == "Other":
        return module.Err(_variant(module, "Error", "Other", error.message or error.kind))
    return module.Err(_variant(module, "Error", kind))


def parameters(arguments) -> Any:
    out = []
    for argument in arguments:
        name = type(argument).__name__.replace("RedisParameter", "").lstrip("_")
        if name == "Int64":
            out.append(["int64", argument.value])
        elif name == "Binary":
            out.append(["binary", encode(argument.value, "argument")])
        else:
            raise TypeError(f"a Redis argument must be a RedisParameter, not {type(argument).__name__}")
    return out


def results(module, values) -> Any:
    made = []
    for value in values:
        kind = value[0]
        if kind == "nil":
            made.append(_variant(module, "RedisResult", "Nil"))
        elif kind == "status":
            made.append(_variant(module, "RedisResult", "Status", value[1]))
        elif kind == "int64":
            made.append(_variant(module, "RedisResult", "Int64", value[1]))
        else:
            made.append(_variant(module, "RedisResult", "Binary", decode(value[1])))
    return made


def operations(module, run, types=None) -> dict:
    """The connection's operations over a handle: ``run(function, **args)``."""
    types = types or module

    def publish(handle, channel, payload) -> None:
        run("publish", connection=handle, channel=_string(channel, "channel"), payload=encode(payload, "payload"))

    def get(handle, key) -> Any:
        return decode(run("get", connection=handle, key=_string(key, "key")))

    def set(handle, key, value) -> None:
        run("set", connection=handle, key=_string(key, "key"), value=encode(value, "value"))

    def incr(handle, key) -> Any:
        return run("incr", connection=handle, key=_string(key, "key"))

    def del_(handle, keys) -> Any:
        return run("del", connection=handle, keys=_strings(keys, "keys"))

    def sadd(handle, key, values) -> Any:
        return run("sadd", connection=handle, key=_string(key, "key"), values=_strings(values, "values"))

    def smembers(handle, key) -> Any:
        return run("smembers", connection=handle, key=_string(key, "key"))

    def srem(handle, key, values) -> Any:
        return run("srem", connection=handle, key=_string(key, "key"), values=_strings(values, "values"))

    def execute(handle, command, arguments) -> Any:
        found = run("execute", connection=handle, command=_string(command, "command"), arguments=parameters(arguments))
        return results(types, found)

    return {"publish": publish, "get": get, "set": set, "incr": incr, "del_": del_, "sadd": sadd,
            "smembers": smembers, "srem": srem, "execute": execute}


def bind_connection(module) -> None:
    """``Connection`` of fermyon:spin/redis@2.0.0 (sync) or spin:redis/redis@3.0.0 (async)."""
    cls = module.Connection
    run = host.caller(CAPABILITY, module, to_error)
    is_async = inspect.iscoroutinefunction(cls.__dict__["get"])

    def method(name, operation) -> Any:
        original = cls.__dict__.get(name)
        if is_async:
            async def bound(self, *args) -> Any:
                return operation(getattr(self, HANDLE, None), *args)
        else:
            def bound(self, *args) -> Any:  # type: ignore[misc]  # the plain twin of an async function: their types differ by nature
                return operation(getattr(self, HANDLE, None), *args)
        bound.__name__ = name
        bound.__qualname__ = f"{cls.__name__}.{name}"
        bound.__doc__ = getattr(original, "__doc__", None)
        return bound

    for name, operation in operations(module, run).items():
        setattr(cls, name, method(name, operation))

    def opened(cls, address) -> Any:
        connection = cls.__new__(cls)
        setattr(connection, HANDLE, run("open", address=_string(address, "address")))
        return connection

    if inspect.iscoroutinefunction(getattr(cls.open, "__func__", cls.open)):
        async def open(cls, address) -> Any:
            return opened(cls, address)
    else:
        def open(cls, address) -> Any:  # type: ignore[misc]  # the plain twin of an async function: their types differ by nature
            return opened(cls, address)
    open.__doc__ = cls.open.__doc__
    cls.open = classmethod(open)

    def __exit__(self, exc_type=None, exc_value=None, traceback=None) -> None:
        handle = getattr(self, HANDLE, None)
        if handle is not None:
            setattr(self, HANDLE, None)
            call("close", connection=handle)
        return None

    __exit__.__doc__ = cls.__dict__["__exit__"].__doc__
    cls.__exit__ = __exit__


def bind_v1(module) -> None:
    """fermyon:spin/redis (unversioned): each call opens its own connection, as Spin's `delegate!`."""
    types = next(value for value in vars(module).values() if inspect.ismodule(value) and hasattr(value, "RedisResult_Nil"))

    def run(function, **args) -> Any:
        return call(function, **args)

    def one_shot(name, operation) -> Callable[..., Any]:
        def function(address, *args) -> Any:
            try:
                handle = call("open", address=_string(address, "address"))
            except host.HostError:
                raise module.Err(types.Error.ERROR) from None
            try:
                value = operation(handle, *args)
            except host.HostError:
                raise module.Err(types.Error.ERROR) from None
            finally:
                call("close", connection=handle)
            return b"" if name == "get" and value is None else value

        function.__name__ = name
        function.__doc__ = getattr(getattr(module, name, None), "__doc__", None)
        return function

    for name, operation in operations(module, run, types).items():
        setattr(module, name, one_shot(name, operation))


PREFIX = "spin_sdk.wit.imports."
BINDINGS = {
    PREFIX + "redis": bind_connection,  # spin-sdk 2.x, 3.x: spin_sdk.redis
    PREFIX + "fermyon_spin_redis_2_0_0": bind_connection,
    PREFIX + "spin_redis_redis_3_0_0": bind_connection,  # spin-sdk 4.x, 5.x: spin_sdk.redis
    PREFIX + "fermyon_spin_redis": bind_v1,
}
