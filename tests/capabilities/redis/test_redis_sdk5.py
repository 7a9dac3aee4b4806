"""Outbound Redis through `spin-py up` with spin-sdk 5.0.0: `spin_sdk.redis`
(spin:redis/redis@3.0.0, async) against a real redis-server, every operation,
Spin's errors, allowed and denied addresses; and the SDK's other generated
interfaces (fermyon:spin/redis@2.0.0 and the unversioned one)."""

from urllib.parse import quote

import pytest
from apps import sdk5_python
from live import LiveServer
from redis_apps import act, next_message, subscribed, write_redis_app

SDK5_APP = """
    import json
    from urllib.parse import unquote
    from componentize_py_types import Err
    from spin_sdk import redis
    from spin_sdk.http import Handler, Request, Response
    from spin_sdk.wit.imports import spin_redis_redis_3_0_0 as r3
    from spin_sdk.wit.imports import fermyon_spin_redis_2_0_0 as r2
    from spin_sdk.wit.imports import fermyon_spin_redis as r1

    KEPT = []

    def describe(error):
        return {"error": type(error.value).__name__, "value": getattr(error.value, "value", None)}

    def results(values):
        return [[type(v).__name__, v.value.decode() if isinstance(getattr(v, "value", None), bytes) else getattr(v, "value", None)]
                for v in values]

    async def ops(address):
        with await redis.open(address) as db:
            await db.del_(["k", "n", "s", "e", "h"])
            out = {"missing": await db.get("k")}
            await db.set("k", b"v")
            out["get"] = (await db.get("k")).decode()
            out["incr"] = [await db.incr("n"), await db.incr("n")]
            out["sadd"] = await db.sadd("s", ["a", "b", "a"])
            out["smembers"] = sorted(await db.smembers("s"))
            out["srem"] = await db.srem("s", ["a", "zz"])
            out["del"] = await db.del_(["k", "nope"])
            await db.publish("news", b"hello")
            B, I = r3.RedisParameter_Binary, r3.RedisParameter_Int64
            out["execute"] = [
                results(await db.execute("set", [B(b"e"), B(b"1")])),
                results(await db.execute("incrby", [B(b"e"), I(5)])),
                results(await db.execute("get", [B(b"e")])),
                results(await db.execute("mget", [B(b"e"), B(b"nope")])),
                results(await db.execute("hset", [B(b"h"), B(b"f"), B(b"x")])),
            ]
        return out

    async def errors(address):
        out = {}
        with await redis.open(address) as db:
            await db.set("word", b"abc")
            for name, work in (("incr", db.incr("word")), ("sadd", db.sadd("word", ["x"])),
                               ("execute", db.execute("nosuchcommand", []))):
                try:
                    await work
                except Err as error:
                    out[name] = describe(error)
        return out

    async def open_only(address):
        with await redis.open(address):
            return "opened"

    async def keep(address):
        KEPT.append(await redis.open(address))
        return "kept"

    async def stale(address):
        return await KEPT[0].get("k")

    async def older(address):
        with r2.Connection.open(address) as db:
            db.set("v2", b"two")
            out = {"v2": db.get("v2").decode()}
        r1.set(address, "v1", b"one")
        out["v1"] = [r1.get(address, "v1").decode(), r1.get(address, "v1-missing").decode(), r1.incr(address, "v1n"),
                     results(r1.execute(address, "get", [r1.fermyon_spin_redis_types.RedisParameter_Binary(b"v1")]))]
        try:
            r2.Connection.open(address.replace("127.0.0.1", "127.0.0.2"))
        except Err as error:
            out["v2_denied"] = describe(error)
        try:
            r1.get(address.replace("127.0.0.1", "127.0.0.2"), "x")
        except Err as error:
            out["v1_denied"] = error.value.name
        return out

    ACTIONS = {"ops": ops, "errors": errors, "open": open_only, "keep": keep, "stale": stale, "older": older}

    class HttpHandler(Handler):
        async def handle_request(self, request: Request) -> Response:
            path, _, query = request.uri.partition("?")
            try:
                out = await ACTIONS[path.split("/")[2]](unquote(query))
            except Err as error:
                out = describe(error)
            return Response(200, {"content-type": "application/json"}, json.dumps(out).encode())
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sdk5")
    path = write_redis_app(folder / "app", SDK5_APP, world="spin:up/http-trigger@4.0.0")
    live = LiveServer(path, "--python", str(sdk5_python()), log_path=folder / "spin-py.log")
    yield live.wait_ready()
    live.stop()


def test_every_operation(server, redis_service):
    pubsub = subscribed(redis_service.url, "news")
    assert act(server, "web", "ops", redis_service.url) == {
        "missing": None,
        "get": "v",
        "incr": [1, 2],
        "sadd": 2,
        "smembers": ["a", "b"],
        "srem": 1,
        "del": 1,
        "execute": [
            [["RedisResult_Status", "OK"]],
            [["RedisResult_Int64", 6]],
            [["RedisResult_Binary", "6"]],
            [["RedisResult_Binary", "6"], ["RedisResult_Nil", None]],
            [["RedisResult_Int64", 1]],
        ],
    }
    assert next_message(pubsub) == (b"news", b"hello")


def test_server_errors_are_other_with_redis_texts(server, redis_service):
    assert act(server, "web", "errors", redis_service.url) == {
        "incr": {"error": "Error_Other", "value": "An error was signalled by the server - ResponseError: value is not an integer or out of range"},
        "sadd": {"error": "Error_Other", "value": "WRONGTYPE: Operation against a key holding the wrong kind of value"},
        "execute": {"error": "Error_Other", "value": "An error was signalled by the server - ResponseError: unknown command 'nosuchcommand', with args beginning with: "},
    }


def test_denied_and_unreachable_addresses(server, redis_service):
    assert act(server, "closed", "open", redis_service.url) == {"error": "Error_InvalidAddress", "value": None}
    server.wait_for_output(
        "Warning: A component tried to make an outbound network connection to disallowed destination "
        f"'redis://127.0.0.1:{redis_service.port}'.\n"
        f"To allow this request, add 'allowed_outbound_hosts = [\"redis://127.0.0.1:{redis_service.port}\"]' "
        "to the manifest component section."
    )
    # An address that is not a Redis URL at all: allowed by no entry, so InvalidAddress too.
    assert act(server, "web", "open", "http://127.0.0.1:1/") == {"error": "Error_InvalidAddress", "value": None}
    # Allowed, but nothing listens there: the connection's own error.
    refused = act(server, "web", "open", "redis://127.0.0.1:1")
    assert refused["error"] == "Error_Other" and "Connection refused" in refused["value"]


def test_a_connection_lives_for_its_request_only(server, redis_service):
    # A connection kept in a module global does not outlive its request: the next one starts from
    # the state after import, as under Spin.
    assert act(server, "web", "keep", redis_service.url) == "kept"
    status, _, body = server.request("GET", f"/web/stale?{quote(redis_service.url, safe='')}")
    assert status == 500 and b"IndexError: list index out of range" in body


def test_older_interfaces(server, redis_service):
    assert act(server, "web", "older", redis_service.url) == {
        "v2": "two",
        "v1": ["one", "", 1, [["RedisResult_Binary", "one"]]],
        "v2_denied": {"error": "Error_InvalidAddress", "value": None},
        "v1_denied": "ERROR",
    }
