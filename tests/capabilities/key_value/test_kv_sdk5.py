"""spin-sdk 5.x key-value through `spin-py up`: `spin_sdk.key_value` (async,
spin:key-value@3.0.0), and the other generated interfaces the SDK ships
(fermyon:spin key-value unversioned and @2.0.0, wasi:keyvalue draft2), with
Spin's errors for each."""

from apps import sdk5_python
from kv_apps import get_json, spin_rows, write_kv_app

WORLD = "spin:up/http-trigger@4.0.0"

SDK5_APP = """
    import json
    from componentize_py_types import Err
    from spin_sdk import key_value, util
    from spin_sdk.http import Handler, Request, Response
    from spin_sdk.wit.imports import fermyon_spin_key_value as v1
    from spin_sdk.wit.imports import fermyon_spin_key_value_2_0_0 as v2
    from spin_sdk.wit.imports import wasi_keyvalue_atomics_0_2_0_draft2 as atomics
    from spin_sdk.wit.imports import wasi_keyvalue_batch_0_2_0_draft2 as batch
    from spin_sdk.wit.imports import wasi_keyvalue_store_0_2_0_draft2 as wasi

    KEPT = []

    def describe(error):
        return {"error": type(error.value).__name__, "value": getattr(error.value, "value", None)}

    async def ops(arg):
        with await key_value.open_default() as store:
            for key in await util.collect(await store.get_keys()):
                await store.delete(key)
            out = {"missing": await store.get("nope")}
            await store.set("a", b"one")
            out["get"] = (await store.get("a")).decode()
            await store.set("a", b"two")
            out["overwritten"] = (await store.get("a")).decode()
            await store.set("bin", bytes(range(256)))
            out["binary"] = await store.get("bin") == bytes(range(256))
            out["exists"] = [await store.exists("a"), await store.exists("nope")]
            out["keys"] = sorted(await util.collect(await store.get_keys()))
            await store.delete("a")
            out["after_delete"] = [await store.exists("a"), sorted(await util.collect(await store.get_keys()))]
        return out

    async def open_label(arg):
        with await key_value.open(arg):
            return "opened"

    async def keep(arg):
        KEPT.append(await key_value.open_default())
        return "kept"

    async def stale(arg):
        return await KEPT[0].get("a")

    async def stale_keys(arg):
        return await util.collect(await KEPT[0].get_keys())

    async def legacy(arg):
        handle = v1.open("default")
        v1.set(handle, "v1", b"old")
        out = {"get": v1.get(handle, "v1").decode(), "exists": v1.exists(handle, "v1"), "keys": "v1" in v1.get_keys(handle)}
        try:
            v1.get(handle, "nope")
        except Err as error:
            out["missing"] = describe(error)
        v1.delete(handle, "v1")
        v1.close(handle)
        v1.close(handle)  # no effect on a closed handle, as in Spin
        try:
            v1.open("other-not-listed")
        except Err as error:
            out["denied"] = describe(error)
        with v2.Store.open("default") as store:
            store.set("v2", b"two")
            out["v2"] = [store.get("v2").decode(), store.exists("v2"), "v2" in store.get_keys()]
            store.delete("v2")
        try:
            v2.Store.open("nowhere")
        except Err as error:
            out["v2_denied"] = describe(error)
        return out

    async def wasi_ops(arg):
        with wasi.open("default") as bucket:
            bucket.set("w", b"x")
            batch.set_many(bucket, [("m1", b"1")])
            bucket.delete("counter")
            out = {"get": bucket.get("w").decode(), "many": [[k, v.decode()] for k, v in batch.get_many(bucket, ["m1", "m9"])],
                   "increment": [atomics.increment(bucket, "counter", 2), atomics.increment(bucket, "counter", -5)]}
            cas = atomics.Cas.new(bucket, "w")
            out["current"] = cas.current().decode()
            atomics.swap(cas, b"y")
            out["swapped"] = bucket.get("w").decode()
        KEPT.append(wasi.open("default"))  # kept open, for the next request
        return out

    async def wasi_stale(arg):
        return KEPT[-1].get("w")

    ACTIONS = {"ops": ops, "open": open_label, "keep": keep, "stale": stale, "stale-keys": stale_keys,
               "legacy": legacy, "wasi": wasi_ops, "wasi-stale": wasi_stale}

    class HttpHandler(Handler):
        async def handle_request(self, request: Request) -> Response:
            parts = request.uri.split("/", 3)
            try:
                out = await ACTIONS[parts[2]](parts[3] if len(parts) > 3 else None)
            except Err as error:
                out = describe(error)
            return Response(200, {"content-type": "application/json"}, json.dumps(out).encode())
"""


def start(tmp_path, spin_up):
    path, config = write_kv_app(tmp_path / "app", SDK5_APP, world=WORLD)
    return spin_up(path, "--python", str(sdk5_python()), "--runtime-config-file", str(config))


def test_sdk5_every_operation(tmp_path, spin_up):
    server = start(tmp_path, spin_up)
    assert get_json(server, "/kv/ops") == {
        "missing": None,
        "get": "one",
        "overwritten": "two",
        "binary": True,
        "exists": [True, False],
        "keys": ["a", "bin"],
        "after_delete": [False, ["bin"]],
    }
    assert spin_rows(tmp_path / "app" / ".spin" / "sqlite_key_value.db") == {("default", "bin"): bytes(range(256))}


def test_sdk5_permissions_and_stale_handles(tmp_path, spin_up):
    server = start(tmp_path, spin_up)
    denied = {"error": "Error_AccessDenied", "value": None}
    assert get_json(server, "/kv/open/other") == "opened"
    assert get_json(server, "/nokv/open/default") == denied
    assert get_json(server, "/otheronly/open/default") == denied
    assert get_json(server, "/otheronly/open/other") == "opened"
    # A store kept in a module global does not outlive its request: the next one starts from the
    # state after import, as under Spin.
    assert get_json(server, "/kv/keep") == "kept"
    for path in ("/kv/stale", "/kv/stale-keys"):
        status, _, body = server.get(path)
        assert status == 500 and b"IndexError: list index out of range" in body


def test_sdk5_other_interfaces(tmp_path, spin_up):
    server = start(tmp_path, spin_up)
    assert get_json(server, "/kv/legacy") == {
        "get": "old",
        "exists": True,
        "keys": True,
        "missing": {"error": "Error_NoSuchKey", "value": None},
        "denied": {"error": "Error_AccessDenied", "value": None},
        "v2": ["two", True, True],
        "v2_denied": {"error": "Error_AccessDenied", "value": None},
    }
    assert get_json(server, "/kv/wasi") == {
        "get": "x",
        "many": [["m1", "1"]],
        "increment": [2, -3],
        "current": "x",
        "swapped": "y",
    }
    # The bucket the request above kept in a module global is gone with its instance.
    status, _, body = server.get("/kv/wasi-stale")
    assert status == 500 and b"IndexError: list index out of range" in body
