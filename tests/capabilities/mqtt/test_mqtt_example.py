"""spin-python-sdk's public `spin-outbound-mqtt` example through `spin-py up`
against a real Mosquitto. Copied from spinframework/spin-python-sdk (Apache-2.0),
branch main, `examples/spin-outbound-mqtt/{app.py,spin.toml}` (requirements.txt:
spin-sdk == 4.0.0), with only the broker's port changed."""

import queue

from apps import sdk4_python, write_app

# examples/spin-outbound-mqtt/app.py: `localhost:1883` became `localhost:PORT`
APP = '''
from spin_sdk import http, mqtt
from spin_sdk.mqtt import Qos
from spin_sdk.http import Request, Response

class HttpHandler(http.Handler):
    async def handle_request(self, request: Request) -> Response:
        with await mqtt.open("mqtt://localhost:PORT?client_id=client001", "user", "password", 30) as conn:
            await conn.publish("telemetry", bytes("Eureka!", "utf-8"), Qos.AT_LEAST_ONCE)

        return Response(
            200,
            {"content-type": "text/plain"},
            bytes("Sent outbound mqtt message!", "utf-8")
        )
'''

# examples/spin-outbound-mqtt/spin.toml (unchanged)
MANIFEST = '''
spin_manifest_version = 2

[application]
name = "test"
version = "0.1.0"
authors = ["Spin Framework Contributors"]
description = ""

[[trigger.http]]
route = "/..."
component = "test"

[component.test]
source = "app.wasm"
allowed_outbound_hosts = ["*://*:*"]
[component.test.build]
command = "componentize-py -w spin:up/http-trigger@4.0.0 componentize app -o app.wasm"
'''


def test_spin_outbound_mqtt_example(tmp_path, spin_up, mosquitto_service):
    import paho.mqtt.client as paho

    messages, ready = queue.Queue(), queue.Queue()
    client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id="example-subscriber")
    client.on_connect = lambda c, u, f, r, p: c.subscribe("telemetry", qos=1)
    client.on_subscribe = lambda *args: ready.put(True)
    client.on_message = lambda c, u, message: messages.put((message.topic, message.payload))
    client.connect("127.0.0.1", mosquitto_service.port)
    client.loop_start()
    try:
        ready.get(timeout=5)
        path = write_app(tmp_path, MANIFEST, {"app.py": APP.replace("PORT", str(mosquitto_service.port))})
        server = spin_up(path, "--python", str(sdk4_python()))
        status, _, body = server.get("/")
        assert (status, body) == (200, b"Sent outbound mqtt message!")
        assert messages.get(timeout=5) == ("telemetry", b"Eureka!")
    finally:
        client.disconnect()
        client.loop_stop()
