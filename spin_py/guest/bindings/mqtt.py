"""Outbound MQTT for every spin-sdk generation, over the host's ``mqtt``
capability (crates/factor-outbound-mqtt/src/host.rs): spin-sdk 2.x/3.x
``mqtt`` and 4.x/5.x ``fermyon_spin_mqtt_2_0_0`` (fermyon:spin/mqtt@2.0.0, sync),
and 4.x/5.x ``spin_mqtt_mqtt_3_0_0`` (spin:mqtt@3.0.0, async: what
``spin_sdk.mqtt`` opens there). QoS crosses as 0, 1 or 2."""

import inspect
from typing import Any

from spin_py_wire.codec import encode_bytes

from .. import host

CAPABILITY = "mqtt"
HANDLE = "_spin_py_handle"
KINDS = ("InvalidAddress", "TooManyConnections", "ConnectionFailed", "Other")
QOS = {"AT_MOST_ONCE": 0, "AT_LEAST_ONCE": 1, "EXACTLY_ONCE": 2}


def _variant(module, name, *payload) -> Any:
    cls = getattr(module, f"Error_{name}", None) or getattr(module, f"Error{name}")
    return cls(*payload)


def bind(module) -> None:
    cls = module.Connection

    def run(function, **args) -> Any:
        try:
            return host.call(CAPABILITY, function, args)
        except host.HostError as error:
            kind = error.kind if error.kind in KINDS else "Other"
            if kind in ("ConnectionFailed", "Other"):
                raise module.Err(_variant(module, kind, error.message or kind)) from None
            raise module.Err(_variant(module, kind)) from None

    def opened(address, username, password, keep_alive_interval_in_secs) -> Any:
        for name, value in (("address", address), ("username", username), ("password", password)):
            if not isinstance(value, str):
                raise TypeError(f"the {name} must be a str, not {type(value).__name__}")
        if not isinstance(keep_alive_interval_in_secs, int) or not 0 <= keep_alive_interval_in_secs < 2**64:
            raise TypeError("the keep-alive interval must be an unsigned 64-bit integer")
        connection = cls.__new__(cls)
        setattr(connection, HANDLE, run("open", address=address, username=username, password=password,
                                        keep_alive=keep_alive_interval_in_secs))
        return connection

    def publish(self, topic, payload, qos) -> None:
        if not isinstance(payload, (bytes, bytearray, memoryview)):
            raise TypeError(f"the payload must be bytes, not {type(payload).__name__}")
        if not isinstance(qos, module.Qos):
            raise TypeError(f"the qos must be a Qos, not {type(qos).__name__}")
        run("publish", connection=getattr(self, HANDLE, None), topic=topic, qos=QOS[qos.name],
            payload=encode_bytes(payload))

    is_async = inspect.iscoroutinefunction(cls.__dict__["publish"])
    if is_async:
        async def open(cls, *args) -> Any:
            return opened(*args)

        async def publish_method(self, topic, payload, qos) -> None:
            publish(self, topic, payload, qos)
    else:
        def open(cls, *args) -> Any:  # type: ignore[misc]  # the plain twin of an async function: their types differ by nature
            return opened(*args)

        def publish_method(self, topic, payload, qos) -> None:  # type: ignore[misc]  # the plain twin of an async function: their types differ by nature
            publish(self, topic, payload, qos)

    def __exit__(self, exc_type=None, exc_value=None, traceback=None) -> None:
        handle = getattr(self, HANDLE, None)
        if handle is not None:
            setattr(self, HANDLE, None)
            host.call(CAPABILITY, "close", {"connection": handle})
        return None

    open.__doc__ = cls.open.__doc__
    publish_method.__name__ = "publish"
    publish_method.__doc__ = cls.__dict__["publish"].__doc__
    __exit__.__doc__ = cls.__dict__["__exit__"].__doc__
    cls.open = classmethod(open)
    cls.publish = publish_method
    cls.__exit__ = __exit__


PREFIX = "spin_sdk.wit.imports."
BINDINGS = {
    PREFIX + "mqtt": bind,  # spin-sdk 2.x, 3.x: spin_sdk.mqtt
    PREFIX + "fermyon_spin_mqtt_2_0_0": bind,
    PREFIX + "spin_mqtt_mqtt_3_0_0": bind,  # spin-sdk 4.x, 5.x: spin_sdk.mqtt
}
