"""Outbound MQTT in the host (crates/factor-outbound-mqtt/src/host.rs, lib.rs).

`open` checks the address against the component's allowed_outbound_hosts with
the ``mqtt`` scheme ("address {address} is not permitted" otherwise) and reads
it as rumqttc's MqttOptions::parse_url does (``mqtt://host:port?client_id=...``;
a URL it refuses is InvalidAddress); as with rumqttc, nothing goes over the
network until the first `publish`, which connects (paho-mqtt, MQTT 3.1.1, the
username, password and keep-alive given at open) and returns once the broker
has the message at the QoS asked for. The connection is this request's own.

  ``open``     ``{"address", "username", "password", "keep_alive"}`` -> connection handle
  ``publish``  ``{"connection", "topic", "payload", "qos": 0 | 1 | 2}``
  ``close``    ``{"connection"}``

A publish keeps to its request's limits (seam.Instance.ended): its waits for the
broker (to connect, to acknowledge) give up when the time limit passes, the
client leaves or the turn ends, and it fails with Other(the reason); the
connection closes with the request.
"""

import threading
import time
from collections.abc import Callable
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlsplit

from spin_py.capabilities.errors import CapabilityError
from spin_py.capabilities.outbound_access import OutboundApp, OutboundCapability
from spin_py.capabilities.seam import CLIENT_CHECK_INTERVAL, Args, HostFunction, Instance, UnknownHandle, decode_bytes

NAME = "mqtt"
CONNECTION = "mqtt.connection"
INVALID_ADDRESS, TOO_MANY_CONNECTIONS, CONNECTION_FAILED, OTHER = (
    "InvalidAddress", "TooManyConnections", "ConnectionFailed", "Other")
TIMEOUT = 30  # seconds to connect, or for the broker to acknowledge
SOCKET_CONNECT_TIMEOUT = 5.0  # paho's own


class MqttConnection:
    def __init__(self, host: str, port: int, client_id: str, tls: bool, username: str, password: str, keep_alive: int,
                 request: Instance | None = None) -> None:
        """``request``: the seam.Instance whose limits bound each publish (None: none)."""
        self.settings = (host, port, client_id, tls, username, password, keep_alive)
        self.request = request
        self.client: Any = None
        self._connected = threading.Event()
        self._refused = None

    def _connect(self) -> None:
        import paho.mqtt.client as paho

        host, port, client_id, tls, username, password, keep_alive = self.settings
        client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=paho.MQTTv311)
        client.username_pw_set(username, password)
        if tls:
            client.tls_set()

        def on_connect(client: Any, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
            if reason.is_failure:
                self._refused = reason
            self._connected.set()

        client.on_connect = on_connect
        left = self.request.seconds_left() if self.request is not None else None
        client.connect_timeout = SOCKET_CONNECT_TIMEOUT if left is None else max(0.001, min(SOCKET_CONNECT_TIMEOUT, left))
        try:
            client.connect(host, port, keepalive=keep_alive)
        except OSError as error:
            self._stop_if_ended()
            raise CapabilityError(CONNECTION_FAILED, f"I/O: {error.strerror or error} (os error {error.errno})") from None
        client.loop_start()
        self.client = client
        self._wait(self._connected.is_set, self._connected.wait)
        if self._refused is not None:
            # rumqttc ConnectionError::ConnectionRefused
            raise CapabilityError(CONNECTION_FAILED, f"Connection refused, return code: `{_return_code(self._refused)}`")

    def publish(self, topic: str, payload: bytes, qos: int) -> None:
        self._stop_if_ended()
        if self.client is None or self._refused is not None:
            self._refused = None
            self._connected.clear()
            self.close()
            self._connect()
        info = self.client.publish(topic, payload, qos=qos)
        try:
            self._wait(info.is_published, info.wait_for_publish)
        except (RuntimeError, ValueError) as error:
            raise CapabilityError(CONNECTION_FAILED, str(error)) from None

    def _wait(self, done: Callable[[], bool], wait: Callable[[float], object]) -> None:
        """``wait(seconds)`` until ``done()``: at most TIMEOUT ("Timeout", as rumqttc says), and
        no longer than the request lasts."""
        limit = time.monotonic() + TIMEOUT
        while not done():
            self._stop_if_ended()
            left = limit - time.monotonic()
            if left <= 0:
                raise CapabilityError(CONNECTION_FAILED, "Timeout")
            wait(min(left, CLIENT_CHECK_INTERVAL))

    def _stop_if_ended(self) -> None:
        reason = self.request.ended() if self.request is not None else None
        if reason is not None:
            raise CapabilityError(OTHER, reason)

    def close(self) -> None:
        if self.client is not None:
            client, self.client = self.client, None
            client.disconnect()
            client.loop_stop()


def _return_code(reason: Any) -> str:
    # MQTT 3.1.1 CONNACK codes as rumqttc names them (ConnectReturnCode)
    names: dict[Any, str] = {1: "RefusedProtocolVersion", 2: "BadClientId", 3: "ServiceUnavailable", 4: "BadUserNamePassword",
             5: "NotAuthorized"}
    code = getattr(reason, "value", None)
    return names.get(code, str(reason))


class MqttApp(OutboundApp):
    CONNECTION = CONNECTION
    WHAT = "outbound MQTT"

    def call_open(self, instance: Instance, args: Args) -> Any:
        address, username, password = (args.get(name) for name in ("address", "username", "password"))
        keep_alive = args.get("keep_alive")
        if (not isinstance(address, str) or not isinstance(username, str) or not isinstance(password, str)
                or not isinstance(keep_alive, int)):
            raise CapabilityError(OTHER, "open needs an address, a username, a password and a keep-alive interval")
        if not self.access.allows(instance.component_id, address, "mqtt"):
            raise CapabilityError(CONNECTION_FAILED, f"address {address} is not permitted")
        try:
            parts = urlsplit(address)
            port = parts.port
        except ValueError:
            raise CapabilityError(INVALID_ADDRESS) from None
        client_id = dict(parse_qsl(parts.query)).get("client_id")
        if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname or not client_id:
            raise CapabilityError(INVALID_ADDRESS)  # rumqttc MqttOptions::parse_url
        tls = parts.scheme == "mqtts"
        connection = MqttConnection(parts.hostname, port or (8883 if tls else 1883), client_id, tls,
                                    username, password, keep_alive, instance)
        return instance.add(CONNECTION, connection)

    def call_publish(self, instance: Instance, args: Args) -> Any:
        try:
            connection = instance.get(CONNECTION, args.get("connection"))
        except UnknownHandle:
            raise CapabilityError(OTHER, "could not find connection for resource") from None
        topic, qos = args.get("topic"), args.get("qos")
        if not isinstance(topic, str) or qos not in (0, 1, 2):
            raise CapabilityError(OTHER, "publish needs a topic and a QoS of 0, 1 or 2")
        connection.publish(topic, decode_bytes(args.get("payload"), "payload"), qos)

    functions: ClassVar[dict[str, HostFunction]] = {
        "open": call_open,
        "publish": call_publish,
        "close": OutboundApp.call_close,
    }


class MqttCapability(OutboundCapability):
    name: ClassVar[str] = NAME
    App = MqttApp


