"""The Redis trigger with spin-sdk 5.0.0's ``class RedisHandler`` (async,
spin:redis/inbound-redis@3.0.0) on Python 3.12, and spin-python-sdk's public
``redis-trigger`` example run unchanged against a local redis-server."""

import shutil
from pathlib import Path

from apps import sdk4_python, sdk5_python
from redis_trigger_apps import SDK5_APP, publish, wait_lines, write_redis_app

HERE = Path(__file__).resolve().parent


def test_sdk5_redis_handler(tmp_path, spin_up, redis_server):
    path, out = write_redis_app(tmp_path, redis_server, SDK5_APP, world="spin:up/redis-trigger@4.0.0")
    server = spin_up(path, "--python", str(sdk5_python()))
    server.wait_for_output("/messages: [listener]")
    publish(redis_server, "messages", b"one", b"err", b"raise", b"two")
    assert wait_lines(out, 2) == [b"one 3.12", b"two 3.12"]
    output = server.output()
    assert "Component listener handler failed: Redis handler returned an error: Error_Other(value='refused on purpose')" in output
    assert "Component listener handler failed: ValueError: the handler raised on purpose" in output


FERMYON_APP = """
    import sys
    from spin_sdk.wit import exports

    class FermyonSpinInboundRedis(exports.FermyonSpinInboundRedis):
        def handle_message(self, message: bytes) -> None:
            sys.stdout.buffer.write(b"handled: " + message.upper() + b"\\n")
            sys.stdout.flush()
"""


def test_sdk5_fermyon_inbound_redis(tmp_path, spin_up, redis_server):
    path, out = write_redis_app(tmp_path, redis_server, FERMYON_APP, world="fermyon:spin/redis-trigger")
    server = spin_up(path, "--python", str(sdk5_python()))
    server.wait_for_output("/messages: [listener]")
    publish(redis_server, "messages", b"sync")
    assert wait_lines(out, 1) == [b"SYNC"]


def test_public_redis_trigger_example(tmp_path, spin_up, redis_server):
    """spin-python-sdk's examples/redis-trigger (Apache-2.0; see example_redis_trigger/ORIGIN.md),
    with only its Redis address changed."""
    example = tmp_path / "redis-trigger"
    shutil.copytree(HERE / "example_redis_trigger", example)
    text = (example / "spin.toml").read_text()
    assert text.count('address = "redis://localhost:6379"') == 1
    (example / "spin.toml").write_text(text.replace("redis://localhost:6379", redis_server))
    server = spin_up(example, "--python", str(sdk4_python()))
    port = redis_server.rsplit(":", 1)[1]
    server.wait_for_output(f"Active Channels on 127.0.0.1:{port}:\n\t127.0.0.1:{port}/messages: [echo-message]\n")
    assert publish(redis_server, "messages", b"hello world") == 1
    server.wait_for_output("[echo-message] b'hello world'\n")
