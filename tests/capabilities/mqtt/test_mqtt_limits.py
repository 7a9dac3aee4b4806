"""An outbound MQTT host call belongs to its request: a publish still waiting for
the broker (to accept the connection, to acknowledge) when the request's time
limit passes or its client leaves fails with Other saying why, instead of
waiting out its own 30 s. Host functions over a per-request Instance, with an
inline manifest, against a broker that accepts connections and never answers,
and a real mosquitto."""

import socket
import threading
import time

import pytest
from stopped_calls import PROMPT, failure, outbound_instances

from spin_py.capabilities.mqtt import MqttCapability
from spin_py.capabilities.seam import CLIENT_GONE_TEXT, TIME_LIMIT_TEXT, encode_bytes

SOON = 0.4  # seconds: a time limit that passes while the publish waits


@pytest.fixture
def silent_broker():
    """The port of a listener that accepts MQTT connections and never says a word."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted = []
    stop = threading.Event()

    def accept():
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join()
    for connection in accepted:
        connection.close()
    listener.close()


@pytest.fixture
def mqtt(tmp_path):
    """``mqtt(**limits)``: an Instance of component `web`, which may reach any MQTT broker on loopback."""
    with outbound_instances(tmp_path, MqttCapability, "mqtt://127.0.0.1:*") as request:
        yield request


def publish(instance, port, qos=1):
    connection = instance.call("mqtt", "open", {"address": f"mqtt://127.0.0.1:{port}?client_id=limits",
                                                 "username": "", "password": "", "keep_alive": 30})
    args = {"connection": connection, "topic": "limits", "payload": encode_bytes(b"hello"), "qos": qos}
    return instance.call("mqtt", "publish", args)


@pytest.mark.parametrize("limit", ["time", "client"])
def test_a_publish_the_broker_never_answers_ends_with_its_request(mqtt, silent_broker, limit):
    if limit == "time":
        instance, text = mqtt(deadline=time.monotonic() + SOON), TIME_LIMIT_TEXT
    else:
        left = threading.Event()
        threading.Timer(SOON, left.set).start()
        instance, text = mqtt(client_gone=left.is_set), CLIENT_GONE_TEXT
    kind, message, took = failure(lambda: publish(instance, silent_broker))
    assert (kind, message) == ("Other", text) and took < PROMPT


def test_a_publish_within_the_limit_reaches_the_broker_and_one_past_it_does_not(mqtt, mosquitto_service):
    assert publish(mqtt(deadline=time.monotonic() + 30), mosquitto_service.port, qos=2) is None
    late = mqtt(deadline=time.monotonic() - 1)
    assert failure(lambda: publish(late, mosquitto_service.port))[:2] == ("Other", TIME_LIMIT_TEXT)
