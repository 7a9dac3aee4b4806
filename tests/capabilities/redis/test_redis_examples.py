"""spin-python-sdk's two public outbound Redis examples through `spin-py up`
against a real redis-server, and the original `spin_redis` API's operations and
errors. The example sources are copied from spinframework/spin-python-sdk
(Apache-2.0) with only the Redis address changed (they hard-code port 6379):
`examples/outbound_redis/{app.py,spin.toml}` on the old-sdk branch and
`examples/spin-redis/{app.py,spin.toml}` on main (requirements.txt: spin-sdk == 4.0.0).
"""

import sys
import time

import redis
from apps import sdk4_python, write_app
from redis_apps import act, next_message, subscribed, write_redis_app

# spinframework/spin-python-sdk, branch old-sdk, examples/outbound_redis/app.py (unchanged)
OUTBOUND_REDIS_APP = '''
from spin_http import Response
from spin_redis import redis_del, redis_get, redis_incr, redis_set, redis_sadd, redis_srem, redis_smembers, redis_execute
from spin_config import config_get


def handle_request(request):

    redis_address = config_get("redis_address")
    redis_set(redis_address, "foo", b"bar")
    value = redis_get(redis_address, "foo")
    redis_del(redis_address, ["testIncr"])
    redis_incr(redis_address, "testIncr")

    redis_sadd(redis_address, "testSets", ["hello", "world"])
    content = redis_smembers(redis_address, "testSets")
    redis_srem(redis_address, "testSets", ["hello"])
    redis_execute(redis_address, "set", [b"foo", b"hello"])
    redis_execute(redis_address, "append", [b"foo", b", world!"])

    assert value == b"bar", f"expected \\"bar\\", got \\"{str(value, 'utf-8')}\\""

    return Response(200,
                    {"content-type": "text/plain"},
                    bytes(f"Executed outbound Redis commands", "utf-8"))
'''

# spinframework/spin-python-sdk, branch old-sdk, examples/outbound_redis/spin.toml (the port changed)
OUTBOUND_REDIS_MANIFEST = '''
spin_manifest_version = 2

[application]
authors = ["Fermyon Engineering <engineering@fermyon.com>"]
description = "Spin Python Outbound Redis example"
name = "spin-python-outbound-redis"
version = "0.1.0"

[[trigger.http]]
route = "/..."
component = "python-sdk-outbound-redis"

[component.python-sdk-outbound-redis]
variables = { redis_address = "redis://127.0.0.1:PORT" }
source = "app.wasm"
allowed_outbound_hosts = ["redis://127.0.0.1:PORT"]
[component.python-sdk-outbound-redis.build]
command = "spin py2wasm app -o app.wasm"
watch = ["app.py"]
'''

# spinframework/spin-python-sdk, branch main, examples/spin-redis/app.py (the port changed)
SPIN_REDIS_APP = '''
from spin_sdk import http, redis
from spin_sdk.http import Request, Response

class HttpHandler(http.Handler):
    async def handle_request(self, request: Request) -> Response:
        with await redis.open("redis://localhost:PORT") as db:
            print(await db.get("test"))

        return Response(
            200,
            {"content-type": "text/plain"},
            bytes("Hello from Python!", "utf-8")
        )
'''

# spinframework/spin-python-sdk, branch main, examples/spin-redis/spin.toml (unchanged)
SPIN_REDIS_MANIFEST = '''
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
allowed_outbound_hosts = ["redis://*:*"]
ai_models = ["llama2-chat"]
[component.test.build]
command = "componentize-py -w spin:up/http-trigger@4.0.0 componentize app -o app.wasm"
'''


def test_old_sdk_outbound_redis_example(tmp_path, spin_up, redis_service):
    port = str(redis_service.port)
    path = write_app(tmp_path, OUTBOUND_REDIS_MANIFEST.replace("PORT", port), {"app.py": OUTBOUND_REDIS_APP})
    server = spin_up(path, "--python", sys.executable)
    status, _, body = server.get("/")
    assert (status, body) == (200, b"Executed outbound Redis commands")
    db = redis.Redis.from_url(redis_service.url)
    assert db.get("foo") == b"hello, world!"
    assert db.get("testIncr") == b"1"
    assert db.smembers("testSets") == {b"world"}


def test_spin_redis_example(tmp_path, spin_up, redis_service):
    redis.Redis.from_url(redis_service.url).set("test", b"from the test")
    path = write_app(tmp_path, SPIN_REDIS_MANIFEST, {"app.py": SPIN_REDIS_APP.replace("PORT", str(redis_service.port))})
    server = spin_up(path, "--python", str(sdk4_python()))
    status, _, body = server.get("/")
    assert (status, body) == (200, b"Hello from Python!")
    log = tmp_path / ".spin" / "logs" / "test_stdout.txt"
    deadline = time.monotonic() + 10
    while b"from the test" not in log.read_bytes() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert log.read_text().splitlines()[-1] == "b'from the test'"


ORIGINAL_APP = """
    import json
    from urllib.parse import unquote
    from spin_http import Response
    from spin_redis import (redis_del, redis_execute, redis_get, redis_incr, redis_publish, redis_sadd, redis_set,
                            redis_smembers, redis_srem)

    def run(work):
        try:
            return work()
        except (AssertionError, TypeError) as error:
            return {type(error).__name__: str(error)}

    def handle_request(request):
        path, _, query = request.uri.partition("?")
        address = unquote(query)
        action = path.split("/")[2]
        if action == "ops":
            redis_del(address, ["k", "n", "s"])
            out = {
                "missing": redis_get(address, "k").decode(),
                "set": redis_set(address, "k", b"v"),
                "get": redis_get(address, "k").decode(),
                "incr": [redis_incr(address, "n"), redis_incr(address, "n")],
                "sadd": redis_sadd(address, "s", ["a", "b"]),
                "smembers": sorted(redis_smembers(address, "s")),
                "srem": redis_srem(address, "s", ["a"]),
                "del": redis_del(address, ["k", "nope"]),
                "publish": redis_publish(address, "news", b"old"),
                "execute": [repr(v) for v in redis_execute(address, "mget", [b"n", b"nope"])]
                           + [repr(v) for v in redis_execute(address, "set", [b"e", 5])]
                           + [repr(v) for v in redis_execute(address, "incrby", [b"e", 2])],
            }
        else:
            redis_set(address, "word", b"abc")
            out = {
                "incr": run(lambda: redis_incr(address, "word")),
                "sadd": run(lambda: redis_sadd(address, "word", ["x"])),
                "execute_arg": run(lambda: redis_execute(address, "set", ["text"])),
                "payload": run(lambda: redis_set(address, "k", "text")),
                "keys": run(lambda: redis_del(address, "k")),
            }
        return Response(200, {"content-type": "application/json"}, bytes(json.dumps(out), "utf-8"))
"""


def test_original_api_operations_and_errors(tmp_path, spin_up, redis_service):
    server = spin_up(write_redis_app(tmp_path / "app", ORIGINAL_APP), "--python", sys.executable)
    pubsub = subscribed(redis_service.url, "news")
    assert act(server, "web", "ops", redis_service.url) == {
        "missing": "", "set": None, "get": "v", "incr": [1, 2], "sadd": 2, "smembers": ["a", "b"], "srem": 1,
        "del": 1, "publish": None, "execute": ["b'2'", "None", "'OK'", "7"],
    }
    assert next_message(pubsub) == (b"news", b"old")
    assert act(server, "web", "errors", redis_service.url) == {
        "incr": {"AssertionError": "Error executing Redis incr command"},
        "sadd": {"AssertionError": "Error executing Redis set command"},
        "execute_arg": {"AssertionError": "Unable to use 'text' as a Redis `execute` argument -- expected `int` or `bytes`"},
        "payload": {"TypeError": "argument 'value': 'str' object cannot be converted to 'PyBytes'"},
        "keys": {"TypeError": "argument 'keys': Can't extract `str` to `Vec`"},
    }
    denied = server.request("GET", f"/closed/ops?{redis_service.url}")
    assert denied[0] == 500 and b"AssertionError: Error executing Redis set command" in denied[2]
    server.wait_for_output(f"disallowed destination 'redis://127.0.0.1:{redis_service.port}'.")
