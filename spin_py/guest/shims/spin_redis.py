"""The original Spin Python API's `spin_redis` module (spin-python-sdk's old-sdk
branch, spin_sdk/spin_redis.py), over Spin's unversioned outbound Redis
interface: every call opens a connection to ``address`` and closes it after.

As its engine did (crates/spin-python-engine/src/lib.rs), a failure raises
AssertionError with the engine's own text ("Error executing Redis set
command"; del, sadd, smembers, srem and execute say "set" too), a missing key
reads as empty bytes, and arguments of the wrong type raise pyo3's TypeError.
"""

from collections.abc import Sequence
from typing import Any

from spin_py_guest import host
from spin_py_guest.bindings.redis import call, decode
from spin_py_wire.codec import encode_bytes

_FAILED = "Error executing Redis {} command"


def _str(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"argument '{name}': '{type(value).__name__}' object cannot be converted to 'PyString'")
    return value


def _bytes(value: Any, name: str) -> dict[str, str]:
    if not isinstance(value, bytes):
        raise TypeError(f"argument '{name}': '{type(value).__name__}' object cannot be converted to 'PyBytes'")
    return encode_bytes(value)


def _strs(values: Any, name: str) -> list[str]:
    if isinstance(values, str):
        raise TypeError(f"argument '{name}': Can't extract `str` to `Vec`")
    try:
        values = list(values)
    except TypeError:
        raise TypeError(f"argument '{name}': '{type(values).__name__}' object cannot be converted to 'Sequence'") from None
    for value in values:
        if not isinstance(value, str):
            raise TypeError(f"argument '{name}': '{type(value).__name__}' object cannot be converted to 'PyString'")
    return values


def _run(what, address, function, **args) -> Any:
    """Open, call, close; any failure is the engine's AssertionError naming ``what``."""
    try:
        handle = call("open", address=address)
    except host.HostError:
        raise AssertionError(_FAILED.format(what)) from None
    try:
        return call(function, connection=handle, **args)
    except host.HostError:
        raise AssertionError(_FAILED.format(what)) from None
    finally:
        call("close", connection=handle)


def redis_del(address: str, keys: Sequence[str]) -> int:
    """Removes the specified keys. A key is ignored if it does not exist."""
    return _run("set", _str(address, "address"), "del", keys=_strs(keys, "keys"))


def redis_get(address: str, key: str) -> bytes:
    """Get the value of a key."""
    value = _run("get", _str(address, "address"), "get", key=_str(key, "key"))
    return b"" if value is None else decode(value)


def redis_incr(address: str, key: str) -> int:
    """Increments the number stored at key by one.

    If the key does not exist, it is set to 0 before performing the operation.

    An `AssertionError` is raised if the key contains a value of the wrong type
    or contains a string that can not be represented as integer.

    """
    return _run("incr", _str(address, "address"), "incr", key=_str(key, "key"))


def redis_publish(address: str, channel: str, payload: bytes) -> None:
    """Publish a Redis message to the specificed channel."""
    _run("publish", _str(address, "address"), "publish", channel=_str(channel, "channel"),
         payload=_bytes(payload, "payload"))


def redis_sadd(address: str, key: str, values: Sequence[str]) -> int:
    """Add the specified `values` to the set named `key`, returning the number of newly-added values."""
    return _run("set", _str(address, "address"), "sadd", key=_str(key, "key"), values=_strs(values, "values"))


def redis_set(address: str, key: str, value: bytes) -> None:
    """Set key to value. If key alreads holds a value, it is overwritten."""
    _run("set", _str(address, "address"), "set", key=_str(key, "key"), value=_bytes(value, "value"))


def redis_smembers(address: str, key: str) -> Sequence[str]:
    """ Retrieve the contents of the set named `key`."""
    return _run("set", _str(address, "address"), "smembers", key=_str(key, "key"))


def redis_srem(address: str, key: str, values: Sequence[str]) -> int:
    """Remove the specified `values` from the set named `key`, returning the number of newly-removed values."""
    return _run("set", _str(address, "address"), "srem", key=_str(key, "key"), values=_strs(values, "values"))


def redis_execute(address: str, command: str, arguments: Sequence[int | bytes]) -> Sequence[int | bytes | str | None]:
    """Execute an arbitrary Redis command and receive the result."""
    _str(address, "address")
    _str(command, "command")
    encoded = []
    for argument in list(arguments):
        if isinstance(argument, int):  # pyo3's i64 extraction takes bool too
            if not -(2**63) <= int(argument) < 2**63:
                raise AssertionError(
                    f"Unable to use {argument!r} as a Redis `execute` argument -- expected `int` or `bytes`")
            encoded.append(["int64", int(argument)])
        elif isinstance(argument, bytes):
            encoded.append(["binary", _bytes(argument, "arguments")])
        else:
            raise AssertionError(f"Unable to use {argument!r} as a Redis `execute` argument -- expected `int` or `bytes`")
    out = []
    for kind, *value in _run("set", address, "execute", command=command, arguments=encoded):
        if kind == "nil":
            out.append(None)
        elif kind == "binary":
            out.append(decode(value[0]))
        else:
            out.append(value[0])
    return out
