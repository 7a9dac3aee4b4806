"""Outbound MQTT configured from a loaded manifest and called through an Instance
(crates/factor-outbound-mqtt/src/host.rs): the address checked at `open` with Spin's
text, a URL rumqttc refuses, and an `open` that (as rumqttc's) connects to nothing
until the first publish. No broker."""

from capability_unit import http_component

from spin_py.capabilities.mqtt import MqttCapability

COMPONENTS = http_component("web", 'allowed_outbound_hosts = ["mqtt://broker.example:1883"]')


def open_args(address: str) -> dict:
    return {"address": address, "username": "u", "password": "p", "keep_alive": 30}


def test_open_checks_the_address_and_connects_to_nothing(configure_capability) -> None:
    configured = configure_capability(MqttCapability, COMPONENTS)
    web = configured.instance("web")
    address = "mqtt://other.example:1883?client_id=c"
    denied = configured.error(web, "open", **open_args(address))
    assert (denied.kind, denied.message) == ("ConnectionFailed", f"address {address} is not permitted")
    # Allowed, but without the client_id rumqttc's parse_url needs.
    assert configured.error(web, "open", **open_args("mqtt://broker.example:1883")).kind == "InvalidAddress"
    handle = configured.call(web, "open", **open_args("mqtt://broker.example:1883?client_id=c"))
    assert isinstance(handle, int)  # no broker listens there: nothing was connected
    configured.call(web, "close", connection=handle)


def test_a_publish_on_a_connection_the_request_did_not_open(configure_capability) -> None:
    configured = configure_capability(MqttCapability, COMPONENTS)
    missing = configured.error(configured.instance("web"), "publish", connection=99, topic="t", payload=None, qos=0)
    assert (missing.kind, missing.message) == ("Other", "could not find connection for resource")
