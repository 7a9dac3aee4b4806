"""Outbound Redis through `spin-py up` with spin-sdk 3.4.1 (`spin_sdk.redis`,
fermyon:spin/redis@2.0.0, sync) against a real redis-server: every operation,
Spin's errors, allowed and denied."""

import pytest
from apps import sdk3_python
from live import LiveServer
from redis_apps import act, next_message, subscribed, write_redis_app

SDK3_APP = """
    import json
    from urllib.parse import unquote
    from spin_sdk import redis
    from spin_sdk.http import IncomingHandler, Request, Response
    from spin_sdk.wit.imports.redis import RedisParameter_Binary as B, RedisParameter_Int64 as I
    from spin_sdk.wit.types import Err

    def describe(error):
        return {"error": type(error.value).__name__, "value": getattr(error.value, "value", None)}

    def results(values):
        return [[type(v).__name__, v.value.decode() if isinstance(getattr(v, "value", None), bytes) else getattr(v, "value", None)]
                for v in values]

    def ops(address):
        with redis.open(address) as db:
            db.del_(["k", "n", "s", "e"])
            out = {"missing": db.get("k")}
            db.set("k", b"v")
            out["get"] = db.get("k").decode()
            out["incr"] = [db.incr("n"), db.incr("n")]
            out["sadd"] = db.sadd("s", ["a", "b"])
            out["smembers"] = sorted(db.smembers("s"))
            out["srem"] = db.srem("s", ["a"])
            out["del"] = db.del_(["k"])
            db.publish("news", b"sdk3")
            out["execute"] = results(db.execute("set", [B(b"e"), I(4)])) + results(db.execute("mget", [B(b"e"), B(b"zz")]))
            db.set("word", b"abc")
            try:
                db.incr("word")
            except Err as error:
                out["incr_error"] = describe(error)
        return out

    def open_only(address):
        with redis.open(address):
            return "opened"

    ACTIONS = {"ops": ops, "open": open_only}

    class IncomingHandler(IncomingHandler):
        def handle_request(self, request: Request) -> Response:
            path, _, query = request.uri.partition("?")
            try:
                out = ACTIONS[path.split("/")[2]](unquote(query))
            except Err as error:
                out = describe(error)
            return Response(200, {"content-type": "application/json"}, json.dumps(out).encode())
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sdk3")
    live = LiveServer(write_redis_app(folder / "app", SDK3_APP), "--python", str(sdk3_python()),
                      log_path=folder / "spin-py.log")
    yield live.wait_ready()
    live.stop()


def test_every_operation_and_an_error(server, redis_service):
    pubsub = subscribed(redis_service.url, "news")
    assert act(server, "web", "ops", redis_service.url) == {
        "missing": None, "get": "v", "incr": [1, 2], "sadd": 2, "smembers": ["a", "b"], "srem": 1, "del": 1,
        "execute": [["RedisResult_Status", "OK"], ["RedisResult_Binary", "4"], ["RedisResult_Nil", None]],
        "incr_error": {"error": "Error_Other",
                       "value": "An error was signalled by the server - ResponseError: value is not an integer or out of range"},
    }
    assert next_message(pubsub) == (b"news", b"sdk3")


def test_allowed_and_denied(server, redis_service):
    assert act(server, "web", "open", redis_service.url) == "opened"
    assert act(server, "closed", "open", redis_service.url) == {"error": "Error_InvalidAddress", "value": None}
    server.wait_for_output(f"disallowed destination 'redis://127.0.0.1:{redis_service.port}'.")
