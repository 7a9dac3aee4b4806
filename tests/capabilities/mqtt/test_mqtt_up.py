"""Outbound MQTT through `spin-py up` against a real Mosquitto: spin-sdk 5.0.0's
`spin_sdk.mqtt` (spin:mqtt@3.0.0, async) and spin-sdk 3.4.1's (fermyon:spin/mqtt@2.0.0,
sync), each QoS, the message checked at a subscriber; Spin's errors, allowed and denied."""

import json
import queue
from urllib.parse import quote

import pytest
from apps import component, manifest, sdk3_python, sdk5_python, write_app
from live import LiveServer

SDK5_APP = """
    import json
    from urllib.parse import unquote
    from componentize_py_types import Err
    from spin_sdk import mqtt
    from spin_sdk.mqtt import Qos
    from spin_sdk.http import Handler, Request, Response

    async def publish(address):
        with await mqtt.open(address, "user", "password", 30) as conn:
            for qos in (Qos.AT_MOST_ONCE, Qos.AT_LEAST_ONCE, Qos.EXACTLY_ONCE):
                await conn.publish("telemetry", f"sdk5 {qos.name}".encode(), qos)
        return "published"

    class HttpHandler(Handler):
        async def handle_request(self, request: Request) -> Response:
            path, _, query = request.uri.partition("?")
            try:
                out = await publish(unquote(query))
            except Err as error:
                out = {"error": type(error.value).__name__, "value": getattr(error.value, "value", None)}
            return Response(200, {"content-type": "application/json"}, json.dumps(out).encode())
"""

SDK3_APP = """
    import json
    from urllib.parse import unquote
    from spin_sdk import mqtt
    from spin_sdk.mqtt import Qos
    from spin_sdk.http import IncomingHandler, Request, Response
    from spin_sdk.wit.types import Err

    class IncomingHandler(IncomingHandler):
        def handle_request(self, request: Request) -> Response:
            path, _, query = request.uri.partition("?")
            try:
                with mqtt.open(unquote(query), "", "", 5) as conn:
                    conn.publish("telemetry", b"sdk3", Qos.AT_LEAST_ONCE)
                out = "published"
            except Err as error:
                out = {"error": type(error.value).__name__, "value": getattr(error.value, "value", None)}
            return Response(200, {"content-type": "application/json"}, json.dumps(out).encode())
"""


def start(folder, source, world, python, port):
    path = write_app(folder, manifest(
        component("web", route="/web/...", world=world, extra=f'allowed_outbound_hosts = ["mqtt://127.0.0.1:{port}", "mqtt://127.0.0.1:1"]'),
        component("closed", route="/closed/...", world=world),
    ), {"app.py": source})
    return LiveServer(path, "--python", str(python), log_path=folder / "spin-py.log").wait_ready()


@pytest.fixture(scope="module")
def servers(tmp_path_factory, mosquitto_service):
    folder = tmp_path_factory.mktemp("mqtt")
    started = {}
    try:
        started["sdk5"] = start(folder / "sdk5", SDK5_APP, "spin:up/http-trigger@4.0.0", sdk5_python(), mosquitto_service.port)
        started["sdk3"] = start(folder / "sdk3", SDK3_APP, "spin-http", sdk3_python(), mosquitto_service.port)
        yield started
    finally:
        for live in started.values():
            live.stop()


@pytest.fixture
def received(mosquitto_service):
    """Messages on `telemetry`, as a subscriber sees them."""
    import paho.mqtt.client as paho

    messages, ready = queue.Queue(), queue.Queue()
    client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id="test-subscriber")
    client.on_connect = lambda c, u, f, r, p: c.subscribe("telemetry", qos=2)
    client.on_subscribe = lambda *args: ready.put(True)
    client.on_message = lambda c, u, message: messages.put((message.payload, message.qos))
    client.connect("127.0.0.1", mosquitto_service.port)
    client.loop_start()
    ready.get(timeout=5)
    yield messages
    client.disconnect()
    client.loop_stop()


def act(server, component_id, address):
    status, _, body = server.request("GET", f"/{component_id}/?{quote(address, safe='')}")
    assert status == 200, body
    return json.loads(body)


def test_sdk5_publishes_at_each_qos(servers, mosquitto_service, received):
    address = f"{mosquitto_service.url}?client_id=client001"
    assert act(servers["sdk5"], "web", address) == "published"
    got = sorted(received.get(timeout=5) for _ in range(3))
    assert got == [(b"sdk5 AT_LEAST_ONCE", 1), (b"sdk5 AT_MOST_ONCE", 0), (b"sdk5 EXACTLY_ONCE", 2)]


def test_sdk3_publishes(servers, mosquitto_service, received):
    assert act(servers["sdk3"], "web", f"{mosquitto_service.url}?client_id=sdk3") == "published"
    assert received.get(timeout=5) == (b"sdk3", 1)


@pytest.mark.parametrize("sdk", ["sdk5", "sdk3"])
def test_errors(servers, mosquitto_service, sdk):
    server = servers[sdk]
    address = f"{mosquitto_service.url}?client_id=x"
    assert act(server, "closed", address) == {"error": "Error_ConnectionFailed", "value": f"address {address} is not permitted"}
    server.wait_for_output(f"disallowed destination 'mqtt://127.0.0.1:{mosquitto_service.port}'.")
    # rumqttc refuses a URL without a client_id.
    assert act(server, "web", mosquitto_service.url) == {"error": "Error_InvalidAddress", "value": None}
    refused = act(server, "web", "mqtt://127.0.0.1:1?client_id=x")
    assert refused["error"] == "Error_ConnectionFailed" and "Connection refused" in refused["value"]
