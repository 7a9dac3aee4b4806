"""Hot reload of Redis components: a code edit reaches the next message; a
spin.toml edit moves a trigger to another channel on the open connection and
adds one; a manifest whose Redis address cannot be resolved keeps the last good
one serving; Spin's errors for addresses at startup."""

import time

from apps import sdk3_python, write_app
from live import run_cli
from redis_trigger_apps import (
    SDK3_APP,
    handled_log,
    publish,
    redis_component,
    redis_manifest,
    wait_lines,
    write_redis_app,
)


def _publish_until_heard(url, channel, message, timeout=10):
    deadline = time.monotonic() + timeout
    while publish(url, channel, message) == 0:
        assert time.monotonic() < deadline, f"nobody subscribed to {channel}"
        time.sleep(0.05)


def test_a_code_edit_reaches_the_next_message(tmp_path, spin_up, redis_server):
    path, out = write_redis_app(tmp_path, redis_server, SDK3_APP)
    server = spin_up(path, "--python", str(sdk3_python()))
    server.wait_for_output("/messages: [listener]")
    publish(redis_server, "messages", b"old")
    assert wait_lines(out, 1) == [b"old"]

    (tmp_path / "app.py").write_text((tmp_path / "app.py").read_text().replace('b"handled: " + message', 'b"handled: edited " + message'))
    server.wait_for_output("Reloaded component 'listener' (app.py changed)")
    publish(redis_server, "messages", b"new")
    assert wait_lines(out, 2) == [b"old", b"edited new"]


def test_a_manifest_edit_resubscribes(tmp_path, spin_up, redis_server):
    out, second = handled_log(tmp_path, "listener"), handled_log(tmp_path, "second")
    path = write_app(tmp_path, redis_manifest(redis_server, redis_component("listener", "before")),
                     {"app.py": SDK3_APP})
    server = spin_up(path, "--python", str(sdk3_python()))
    port = redis_server.rsplit(":", 1)[1]
    server.wait_for_output(f"\t127.0.0.1:{port}/before: [listener]\n")

    path.write_text(redis_manifest(redis_server, redis_component("listener", "after"),
                                   redis_component("second", "after")))
    server.wait_for_output(f"\t127.0.0.1:{port}/after: [listener,second]\n")
    assert publish(redis_server, "before", b"lost") == 0  # unsubscribed
    _publish_until_heard(redis_server, "after", b"moved")
    assert wait_lines(out, 1) == [b"moved"]
    assert wait_lines(second, 1) == [b"moved"]

    # An address no variable resolves: the last good manifest keeps serving.
    path.write_text(redis_manifest("redis://{{ nowhere }}", redis_component("listener", "after")))
    server.wait_for_output("Still serving the last good manifest:")
    assert 'failed to resolve redis trigger default address "redis://{{ nowhere }}"' in server.output()
    publish(redis_server, "after", b"still")
    assert wait_lines(out, 2) == [b"moved", b"still"]


def test_address_errors_at_startup_are_one_line(tmp_path):
    for address, problem in (
        ("", "application.trigger.redis.address: \"\": Redis URL did not parse- InvalidClientConfig"),
        ("http://127.0.0.1:6379", "\"http://127.0.0.1:6379\": Redis URL did not parse- InvalidClientConfig"),
        ("redis://{{ missing }}", "application.trigger.redis.address: failed to resolve redis trigger default address "
                                  "\"redis://{{ missing }}\""),
    ):
        folder = tmp_path / str(abs(hash(address)))
        path = write_app(folder, redis_manifest(address, redis_component("listener", "c")),
                         {"app.py": SDK3_APP})
        result = run_cli("up", "-f", str(path), "--listen", "127.0.0.1:0", "--python", str(sdk3_python()), timeout=30)
        assert result.returncode == 1, result.stdout + result.stderr
        assert problem in result.stderr
        assert "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
