"""Messages that arrive faster than the handler takes them reach one worker
together (spin_py/trigger/redis.py): nothing a handler can see may change. Each
is still handled once, in order, in an instance of its own, and a handler that
fails one message, by raising or by ending its process, takes only that one
down, whether or not the worker had told the host of the messages before it."""

import redis
from apps import sdk3_python, write_app
from redis_trigger_apps import handled_log, redis_component, redis_manifest, wait_lines

APP = """
    import os, sys, time
    from spin_sdk import key_value
    from spin_sdk.wit import exports

    def note(text):
        sys.stdout.buffer.write(b"handled: " + text + b"\\n")
        sys.stdout.flush()

    class InboundRedis(exports.InboundRedis):
        def handle_message(self, message: bytes) -> None:
            if message == b"slow":  # the next ones pile up meanwhile
                time.sleep(0.5)
            if message == b"exit":
                note(message)
                os._exit(3)
            if message == b"raise":
                note(message)
                raise ValueError("the handler raised on purpose")
            if message == b"count":  # host calls, each message in its own instance
                store = key_value.open_default()
                count = int(store.get("count") or b"0") + 1
                store.set("count", str(count).encode())
                message = b"count %d" % count
            note(message)
"""


def _app(tmp_path, address):
    text = redis_manifest(address, redis_component("listener", "burst", extra='key_value_stores = ["default"]'))
    return write_app(tmp_path, text, {"app.py": APP}), handled_log(tmp_path)


def _publish_at_once(url, messages):
    client = redis.Redis.from_url(url)
    try:
        pipe = client.pipeline(transaction=False)
        for message in messages:
            pipe.publish("burst", message)
        assert pipe.execute()[-1] == 1
    finally:
        client.close()


def test_a_burst_is_handled_once_each_in_order_with_host_calls_between(tmp_path, spin_up, redis_server):
    path, out = _app(tmp_path, redis_server)
    server = spin_up(path, "--python", str(sdk3_python()))
    server.wait_for_output("/burst: [listener]")
    messages = [b"slow"] + [b"count" if n % 3 == 0 else b"m%d" % n for n in range(1, 121)]
    _publish_at_once(redis_server, messages)

    counts = iter(range(1, 41))
    expected = [b"count %d" % next(counts) if message == b"count" else message for message in messages]
    assert wait_lines(out, len(expected)) == expected
    assert "handler failed" not in server.output()


def test_a_handler_that_fails_mid_burst_takes_only_its_message_down(tmp_path, spin_up, redis_server):
    path, out = _app(tmp_path, redis_server)
    server = spin_up(path, "--python", str(sdk3_python()))
    server.wait_for_output("/burst: [listener]")
    # After "slow", the rest wait together: "exit" ends the worker before it has said that it
    # handled the forty before it, "raise" ends the next one after it has.
    before, between, after = ([b"a%d" % n for n in range(40)], [b"b%d" % n for n in range(40)],
                              [b"c%d" % n for n in range(40)])
    messages = [b"slow", *before, b"exit", *between, b"raise", *after]
    _publish_at_once(redis_server, messages)

    assert wait_lines(out, len(messages)) == messages  # each once: none lost, none handled again
    server.wait_for_output("Component listener handler failed: ValueError: the handler raised on purpose")
    output = server.output()
    assert "Component listener handler failed: the worker for component 'listener' exited with status 3 " \
           "while handling a Redis message" in output
    assert output.count("handler failed") == 2, output
