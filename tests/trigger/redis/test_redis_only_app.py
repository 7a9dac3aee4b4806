"""A Redis-only app through a real `spin-py up`: as `spin up`, it serves nothing of the
app over HTTP and prints no "Serving" banner nor routes; spin-py's own endpoints stay
up, and one line says so with their address. A handler's printed lines come before
the line saying it failed."""

import re
import time

from apps import sdk3_python
from redis_trigger_apps import publish, write_redis_app

PRINT_THEN_FAIL = """
    import sys
    from spin_sdk.wit import exports
    from spin_sdk.wit.types import Err
    from spin_sdk.wit.imports.redis_types import Error

    class InboundRedis(exports.InboundRedis):
        def handle_message(self, message: bytes) -> None:
            print("about to refuse", message.decode())
            print("on stderr too", message.decode(), file=sys.stderr)
            raise Err(Error.ERROR)
"""


def test_no_http_banner_and_output_before_failure_lines(tmp_path, spin_up, redis_server):
    path, _ = write_redis_app(tmp_path, redis_server, PRINT_THEN_FAIL)
    server = spin_up(path, "--python", str(sdk3_python()))
    server.wait_for_output("/messages: [listener]")
    output = server.output()
    assert "Serving" not in output and "Available Routes" not in output, output
    ready = re.search(r"^Ready: the app has no HTTP trigger; only spin-py's own /\.well-known/spin/ endpoints "
                      r"answer, on (http://127\.0\.0\.1:\d+)$", output, re.MULTILINE)
    assert ready and ready.group(1) == server.url, output
    assert server.get("/.well-known/spin/health")[0] == 200
    assert server.get("/")[0] == 404  # the app has no route

    messages = [f"m{number}" for number in range(15)]
    publish(redis_server, "messages", *(m.encode() for m in messages))
    failure = "Component listener handler failed: Redis handler returned an error: <Error.ERROR: 1>"
    output = _wait_count(server, failure, len(messages))
    # Each failure line follows its own message's lines: the n-th failure line comes after
    # the n-th message's printed lines.
    failures = [match.start() for match in re.finditer(re.escape(failure), output)]
    for message, failed_at in zip(messages, failures, strict=True):
        for line in (f"[listener] about to refuse {message}\n", f"[listener] on stderr too {message}\n"):
            assert 0 <= output.find(line) < failed_at, f"{line!r}:\n{output}"


def _wait_count(server, text, count, timeout=30):
    deadline = time.monotonic() + timeout
    while (output := server.output()).count(text) < count:
        assert time.monotonic() < deadline, f"{count} x {text!r} never appeared in:\n{output}"
        time.sleep(0.05)
    return output
