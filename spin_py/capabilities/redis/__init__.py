"""Outbound Redis in the host (crates/factor-outbound-redis/src/host.rs).

Each `open` checks the address against the component's allowed_outbound_hosts
(scheme ``redis``) and opens a connection of this request's own, closed when
the request ends or the guest drops it, as Spin keeps connections in the
instance's resource table. The host calls, as they cross the channel (bytes as
seam.encode_bytes):

  ``open``      ``{"address"}`` -> connection handle
  ``publish``   ``{"connection", "channel", "payload"}``
  ``get``       ``{"connection", "key"}`` -> bytes | None
  ``set``       ``{"connection", "key", "value"}``
  ``incr``      ``{"connection", "key"}`` -> int
  ``del``       ``{"connection", "keys"}`` -> int
  ``sadd`` / ``srem``   ``{"connection", "key", "values"}`` -> int
  ``smembers``  ``{"connection", "key"}`` -> [str]
  ``execute``   ``{"connection", "command", "arguments": [["int64", n] | ["binary", bytes]]}``
                -> [["nil"] | ["status", str] | ["int64", n] | ["binary", bytes]], arrays flattened
  ``close``     ``{"connection"}`` (no effect on a handle that is not open)

Errors are CapabilityError with the kinds in errors.py and Spin's texts: a
denied or unparsable address is InvalidAddress, everything the server or the
socket says is Other(text).

A call keeps to its request's limits (seam.Instance.ended): `open` waits for the
server no longer than the time limit allows, and a command still waiting for its
reply when the time limit passes, the client leaves or the turn ends (a BLPOP
with no timeout, say) has its connection cut by the host's watcher
(capabilities/limits.py), which the server takes as the end of the command, and
fails with Other(the reason).
"""

from typing import Any, ClassVar

from spin_py.capabilities.errors import CapabilityError
from spin_py.capabilities.limits import watched
from spin_py.capabilities.outbound_access import OutboundApp, OutboundCapability
from spin_py.capabilities.redis.errors import INVALID_ADDRESS, NO_CONNECTION_TEXT, OTHER
from spin_py.capabilities.seam import Args, HostFunction, Instance, UnknownHandle, decode_bytes, encode_bytes, text_arg, texts_arg
from spin_py.capabilities.sizes import MAX_HOST_BUFFERED_BYTES

NAME = "redis"
CONNECTION = "redis.connection"
MAX_RESULT_BYTES = MAX_HOST_BUFFERED_BYTES
_RUST_OPTION_VEC = 24  # size_of::<Option<Vec<u8>>>(), counted in Spin's limit
_RUST_RESULT = 32  # size_of::<RedisResult>()


class RedisApp(OutboundApp):
    CONNECTION = CONNECTION
    WHAT = "outbound Redis"

    def call_open(self, instance: Instance, args: Args) -> Any:
        address = text_arg(args, "address")
        if not self.access.allows(instance.component_id, address, "redis"):
            raise CapabilityError(INVALID_ADDRESS)
        from spin_py.capabilities.redis.client import RedisConnection

        _stop_if_ended(instance)
        try:
            connection = RedisConnection(address, instance)
        except ValueError:
            raise CapabilityError(INVALID_ADDRESS) from None  # redis::Client::open refused the URL
        except Exception as error:
            _stop_if_ended(instance)
            raise _other(error) from None
        return instance.add(CONNECTION, connection)

    def call_publish(self, instance: Instance, args: Args) -> Any:
        _run(instance, args, "PUBLISH", text_arg(args, "channel"), decode_bytes(args.get("payload"), "payload"))

    def call_get(self, instance: Instance, args: Args) -> Any:
        value = _run(instance, args, "GET", text_arg(args, "key"))
        if value is None:
            return None
        if not isinstance(value, bytes):
            raise CapabilityError(OTHER, _incompatible(value, "Option<Vec<u8>>"))
        if _RUST_OPTION_VEC + len(value) > MAX_RESULT_BYTES:
            raise CapabilityError(OTHER, f"query result exceeds limit of {MAX_RESULT_BYTES} bytes")
        return encode_bytes(value)

    def call_set(self, instance: Instance, args: Args) -> Any:
        _run(instance, args, "SET", text_arg(args, "key"), decode_bytes(args.get("value")))

    def call_incr(self, instance: Instance, args: Args) -> Any:
        # redis-rs's `incr(key, 1)` is INCRBY.
        return _integer(_run(instance, args, "INCRBY", text_arg(args, "key"), 1))

    def call_del(self, instance: Instance, args: Args) -> Any:
        return _integer(_run(instance, args, "DEL", *texts_arg(args, "keys")))

    def call_sadd(self, instance: Instance, args: Args) -> Any:
        return _integer(_run(instance, args, "SADD", text_arg(args, "key"), *texts_arg(args, "values")))

    def call_srem(self, instance: Instance, args: Args) -> Any:
        return _integer(_run(instance, args, "SREM", text_arg(args, "key"), *texts_arg(args, "values")))

    def call_smembers(self, instance: Instance, args: Args) -> Any:
        members = _run(instance, args, "SMEMBERS", text_arg(args, "key"))
        try:
            return [member.decode("utf-8") for member in members]
        except (AttributeError, UnicodeDecodeError):
            raise CapabilityError(OTHER, _incompatible(members, "Vec<String>")) from None

    def call_execute(self, instance: Instance, args: Args) -> Any:
        command = text_arg(args, "command")
        arguments: list[int | bytes] = []
        for argument in args.get("arguments") or []:
            kind = argument[0] if isinstance(argument, list) and len(argument) == 2 else None
            if kind == "int64" and isinstance(argument[1], int) and not isinstance(argument[1], bool):
                arguments.append(argument[1])
            elif kind == "binary":
                arguments.append(decode_bytes(argument[1], "argument"))
            else:
                raise CapabilityError(OTHER, "each argument must be [\"int64\", n] or [\"binary\", bytes]")
        reply = _run(instance, args, command, *arguments)
        results: list[tuple[str, Any]] = []
        _flatten(reply, results)
        size = 24 + sum(_RUST_RESULT + (len(v[1]) if v[0] in ("status", "binary") else 0) for v in results)
        if size > MAX_RESULT_BYTES:
            raise CapabilityError(OTHER, f"query result exceeds limit of {MAX_RESULT_BYTES} bytes")
        return [[kind, encode_bytes(value)] if kind == "binary" else [kind] if kind == "nil" else [kind, value]
                for kind, value in results]

    functions: ClassVar[dict[str, HostFunction]] = {
        "open": call_open,
        "publish": call_publish,
        "get": call_get,
        "set": call_set,
        "incr": call_incr,
        "del": call_del,
        "sadd": call_sadd,
        "srem": call_srem,
        "smembers": call_smembers,
        "execute": call_execute,
        "close": OutboundApp.call_close,
    }


class RedisCapability(OutboundCapability):
    name: ClassVar[str] = NAME
    App = RedisApp


def _flatten(reply: Any, results: list[tuple[str, Any]]) -> None:
    """Spin's RedisResults::from_redis_value: arrays flattened, OK a status."""
    from spin_py.capabilities.redis.client import Status

    if reply is None:
        results.append(("nil", None))
    elif isinstance(reply, Status):
        results.append(("status", str(reply)))
    elif isinstance(reply, int):
        results.append(("int64", reply))
    elif isinstance(reply, bytes):
        results.append(("binary", reply))
    elif isinstance(reply, list):
        for item in reply:
            _flatten(item, results)
    else:  # an error reply inside an array (EXEC): redis-rs fails the whole conversion
        raise CapabilityError(OTHER, str(reply))


def _run(instance: Instance, args: Args, *command: Any) -> Any:
    try:
        connection = instance.get(CONNECTION, args.get("connection"))
    except UnknownHandle:
        raise CapabilityError(OTHER, NO_CONNECTION_TEXT) from None
    _stop_if_ended(instance)
    try:
        with watched(instance.ended, connection.cut) as call:
            reply = connection.command(*command)
    except CapabilityError:
        raise
    except Exception as error:
        _stop_if_ended(instance)
        raise _other(error) from None
    if call is not None and call.reason is not None:
        raise CapabilityError(OTHER, call.reason)
    return reply


def _stop_if_ended(instance: Instance) -> None:
    reason = instance.ended()
    if reason is not None:
        raise CapabilityError(OTHER, reason)


def _other(error: BaseException) -> CapabilityError:
    return CapabilityError(OTHER, str(error) or type(error).__name__)


def _integer(value: Any) -> int:
    if not isinstance(value, int):
        raise CapabilityError(OTHER, _incompatible(value, "integer"))
    return value


def _incompatible(value: Any, wanted: str) -> str:
    # redis-rs: "Response was of incompatible type - TypeError: ..." (types.rs invalid_type_error)
    return f"Response was of incompatible type - TypeError: \"Response type not {wanted} compatible.\" (response was {value!r})"
