"""The Redis trigger through a real `spin-py up` and a real redis-server, with
spin-sdk 3.4.1's ``class InboundRedis`` (Python 3.11): Spin's startup lines,
messages in order, failures logged as Spin logs them without ending the
subscription, a Redis restart, HTTP beside Redis, the original API refused as
Spin refuses it, and a prompt shutdown."""

import re
import signal
import time

from apps import sdk3_python, write_app
from redis_trigger_apps import (
    SDK3_APP,
    handled_log,
    publish,
    redis_component,
    redis_manifest,
    restartable_redis,
    wait_lines,
    write_redis_app,
)


def _port(url):
    return int(url.rsplit(":", 1)[1])


def test_messages_in_order_and_failures_logged_as_spin_logs_them(tmp_path, spin_up, redis_server):
    path, out = write_redis_app(tmp_path, redis_server, SDK3_APP)
    server = spin_up(path, "--python", str(sdk3_python()))
    port = _port(redis_server)
    server.wait_for_output(f"Active Channels on 127.0.0.1:{port}:\n\t127.0.0.1:{port}/messages: [listener]\n")
    assert "not served" not in server.output()

    assert publish(redis_server, "messages", b"one", b"raise", b"err", b"two", bytes(range(1, 10))) == 1
    assert wait_lines(out, 3) == [b"one", b"two", bytes(range(1, 10))]
    server.wait_for_output("Component listener handler failed: Redis handler returned an error: <Error.ERROR: 1>")
    output = server.output()
    # An exception: its traceback as the component's output, then Spin's line.
    assert "[listener] ValueError: the handler raised on purpose" in output
    assert "Component listener handler failed: ValueError: the handler raised on purpose" in output
    assert output.index("handler failed: ValueError") < output.index("handler failed: Redis handler returned an error")

    # Many more, faster than the handler: all arrive, in the order they were published.
    numbers = [str(n).encode() for n in range(200)]
    publish(redis_server, "messages", *numbers)
    assert wait_lines(out, 203)[3:] == numbers


def test_a_redis_restart_is_said_once_and_the_subscription_comes_back(tmp_path, spin_up):
    with restartable_redis(tmp_path / "redis") as redis:
        path, out = write_redis_app(tmp_path / "app", redis.url, SDK3_APP)
        server = spin_up(path, "--python", str(sdk3_python()))
        server.wait_for_output("/messages: [listener]")
        publish(redis.url, "messages", b"before")
        wait_lines(out, 1)

        redis.stop()
        server.wait_for_output(f"Redis trigger disconnected from 127.0.0.1:{redis.port}")
        time.sleep(1.5)  # several retries fail meanwhile: said once
        assert server.get("/.well-known/spin/health")[0] == 200  # HTTP serves on
        redis.start()
        server.wait_for_output(f"Redis trigger reconnected to 127.0.0.1:{redis.port}")
        deadline = time.monotonic() + 10
        while publish(redis.url, "messages", b"after") == 0:  # until it has subscribed again
            assert time.monotonic() < deadline, server.output()
            time.sleep(0.05)
        assert wait_lines(out, 2) == [b"before", b"after"]
        output = server.output()
        assert output.count("Redis trigger disconnected") == 1
        assert output.count("Redis trigger reconnected") == 1
        assert output.count("Active Channels on") == 1  # the same subscriptions, not announced again


def test_a_redis_server_down_at_startup_is_waited_for(tmp_path, spin_up):
    with restartable_redis(tmp_path / "redis") as redis:
        redis.stop()
        path, out = write_redis_app(tmp_path / "app", redis.url, SDK3_APP)
        server = spin_up(path, "--python", str(sdk3_python()))
        server.wait_for_output(f"Redis trigger failed to connect to 127.0.0.1:{redis.port}: ")
        redis.start()
        server.wait_for_output("/messages: [listener]")
        publish(redis.url, "messages", b"late")
        assert wait_lines(out, 1) == [b"late"]
        assert server.output().count("failed to connect") == 1


BOTH = SDK3_APP + """
    from spin_sdk.http import IncomingHandler, Request, Response

    class IncomingHandler(IncomingHandler):
        def handle_request(self, request: Request) -> Response:
            return Response(200, {"content-type": "text/plain"}, b"the HTTP side")
"""


def test_http_and_redis_side_by_side_and_two_components_on_one_channel(tmp_path, spin_up, redis_server):
    both_out, other_out = handled_log(tmp_path, "both"), handled_log(tmp_path, "other")
    text = redis_manifest(
        redis_server,
        redis_component("both", "orders", route="/orders"),
        redis_component("other", "orders", module="other"),
    )
    path = write_app(tmp_path, text, {"app.py": BOTH, "other.py": SDK3_APP})
    server = spin_up(path, "--python", str(sdk3_python()))
    port = _port(redis_server)
    server.wait_for_output(f"\t127.0.0.1:{port}/orders: [both,other]\n")
    assert "both: http://" in server.output()  # the HTTP route, in the same startup

    assert publish(redis_server, "orders", b"first", b"second") == 1  # one connection for both components
    assert wait_lines(both_out, 2) == [b"first", b"second"]
    assert wait_lines(other_out, 2) == [b"first", b"second"]
    status, _, body = server.get("/orders")
    assert (status, body) == (200, b"the HTTP side")


ORIGINAL_APP = """
    from spin_http import Response

    def handle_request(request):
        return Response(200, {}, b"http only")

    def handle_redis_message(message):
        raise AssertionError("the original API has no Redis export: this is never called")
"""


def test_the_original_api_has_no_redis_export(tmp_path, spin_up, redis_server):
    text = redis_manifest(redis_server, redis_component("legacy", "messages", route="/legacy"))
    path = write_app(tmp_path, text.replace("componentize-py -w spin-redis componentize app", "spin py2wasm app"),
                     {"app.py": ORIGINAL_APP})
    server = spin_up(path)
    server.wait_for_output("/messages: [legacy]")
    publish(redis_server, "messages", b"hello")
    server.wait_for_output("Component legacy handler failed: component does not export a Redis interface "
                           "(the original Spin Python API exports only handle_request")
    assert "AssertionError" not in server.output()
    assert server.get("/legacy")[2] == b"http only"  # the same worker serves HTTP on


def test_addresses_and_channels_are_resolved_from_variables(tmp_path, spin_up, redis_server):
    port = _port(redis_server)
    text = redis_manifest("redis://{{ redis_host }}:" + str(port),
                          redis_component("listener", "{{ channel }}"))
    text += '[variables]\nredis_host = { default = "127.0.0.1" }\nchannel = { required = true }\n'
    path = write_app(tmp_path, text, {"app.py": SDK3_APP})
    server = spin_up(path, "--python", str(sdk3_python()), env={"SPIN_VARIABLE_CHANNEL": "from-env"})
    server.wait_for_output(f"\t127.0.0.1:{port}/from-env: [listener]\n")
    publish(redis_server, "from-env", b"resolved")
    assert wait_lines(handled_log(tmp_path), 1) == [b"resolved"]


def test_shutdown_stops_the_subscription_promptly(tmp_path, spin_up, redis_server):
    path, _ = write_redis_app(tmp_path, redis_server, SDK3_APP)
    server = spin_up(path, "--python", str(sdk3_python()))
    server.wait_for_output("/messages: [listener]")
    started = time.monotonic()
    server.process.send_signal(signal.SIGTERM)
    server.process.wait(timeout=10)
    assert time.monotonic() - started < 3
    assert publish(redis_server, "messages", b"nobody") == 0
    assert not re.search("handler failed|Traceback", server.output())
