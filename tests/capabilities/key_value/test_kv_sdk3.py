"""spin-sdk 3.x key-value (`spin_sdk.key_value`, fermyon:spin/key-value@2.0.0) and
the wasi:keyvalue modules it ships, through `spin-py up` over HTTP, with Spin's
errors and both directions of `key_value_stores`."""

from apps import sdk3_python
from kv_apps import get_json, spin_rows, spin_schema, write_kv_app

from spin_py.capabilities.key_value.sqlite_store import SCHEMA

SDK3_APP = """
    import json
    from spin_sdk import key_value
    from spin_sdk.http import IncomingHandler, Request, Response
    from spin_sdk.wit.imports import atomics, batch
    from spin_sdk.wit.imports import wasi_keyvalue_store as wasi
    from spin_sdk.wit.types import Err

    KEPT = []

    def ops(arg, body):
        store = key_value.open_default()
        for key in store.get_keys():
            store.delete(key)
        out = {"missing": store.get("nope")}
        store.set("a", b"one")
        out["get"] = store.get("a").decode()
        store.set("a", b"two")
        out["overwritten"] = store.get("a").decode()
        store.set("bin", bytes(range(256)))
        out["binary"] = store.get("bin") == bytes(range(256))
        out["exists"] = [store.exists("a"), store.exists("nope")]
        out["keys"] = sorted(store.get_keys())
        store.delete("a")
        store.delete("never-there")
        out["after_delete"] = [store.exists("a"), store.get("a"), sorted(store.get_keys())]
        with key_value.open("other") as other:
            other.set("a", b"other's")
            out["separate"] = [other.get("a").decode(), store.get("a")]
        return out

    def open_label(arg, body):
        with key_value.open(arg):
            return "opened"

    def put(arg, body):
        with key_value.open_default() as store:
            store.set(arg, body)
        return "stored"

    def fetch(arg, body):
        with key_value.open_default() as store:
            value = store.get(arg)
        return None if value is None else value.decode()

    def keep(arg, body):
        KEPT.append(key_value.open_default())
        return "kept"

    def stale(arg, body):
        return KEPT[0].get("a")

    def wasi_ops(arg, body):
        bucket = wasi.open("default")
        bucket.set("w", b"x")
        out = {"get": bucket.get("w").decode(), "exists": [bucket.exists("w"), bucket.exists("nope")]}
        out["keys"] = "w" in bucket.list_keys(None).keys
        batch.set_many(bucket, [("m1", b"1"), ("m2", b"2")])
        out["many"] = [[k, v.decode()] for k, v in batch.get_many(bucket, ["m1", "m2", "m3"])]
        batch.delete_many(bucket, ["m1", "m2"])
        out["deleted"] = [bucket.exists("m1"), bucket.exists("m2")]
        bucket.delete("counter")
        out["increment"] = [atomics.increment(bucket, "counter", 5), atomics.increment(bucket, "counter", 7)]
        bucket.set("c", b"start")
        cas = atomics.Cas.new(bucket, "c")
        out["current"] = cas.current().decode()
        atomics.swap(cas, b"swapped")
        out["swapped"] = bucket.get("c").decode()
        cas = atomics.Cas.new(bucket, "c")
        cas.current()
        bucket.set("c", b"moved")
        try:
            atomics.swap(cas, b"lost")
        except Err as error:
            out["cas_failed"] = [type(error.value).__name__, error.value.value.current().decode()]
        out["after"] = bucket.get("c").decode()
        try:
            bucket.list_keys("cursor")
        except Err as error:
            out["cursor"] = [type(error.value).__name__, error.value.value]
        return out

    def wasi_open(arg, body):
        wasi.open(arg)
        return "opened"

    ACTIONS = {"ops": ops, "open": open_label, "put": put, "fetch": fetch, "keep": keep, "stale": stale,
               "wasi": wasi_ops, "wasi-open": wasi_open}

    class IncomingHandler(IncomingHandler):
        def handle_request(self, request: Request) -> Response:
            parts = request.uri.split("/", 3)
            try:
                out = ACTIONS[parts[2]](parts[3] if len(parts) > 3 else None, request.body)
            except Err as error:
                out = {"error": type(error.value).__name__, "value": getattr(error.value, "value", None)}
            return Response(200, {"content-type": "application/json"}, json.dumps(out).encode())
"""


def start(tmp_path, spin_up, *flags):
    path, config = write_kv_app(tmp_path / "app", SDK3_APP)
    return spin_up(path, "--python", str(sdk3_python()), "--runtime-config-file", str(config), *flags)


def test_sdk3_every_operation_and_spins_file(tmp_path, spin_up):
    server = start(tmp_path, spin_up)
    db = tmp_path / "app" / ".spin" / "sqlite_key_value.db"
    assert f'Storing default key-value data to "{db}".' in server.output()
    assert get_json(server, "/kv/ops") == {
        "missing": None,
        "get": "one",
        "overwritten": "two",
        "binary": True,
        "exists": [True, False],
        "keys": ["a", "bin"],
        "after_delete": [False, None, ["bin"]],
        "separate": ["other's", None],
    }
    # The files are Spin's: its schema, rows keyed by (store label, key).
    assert spin_schema(db) == SCHEMA.replace("IF NOT EXISTS ", "")  # as SQLite records Spin's statement
    assert spin_rows(db) == {("default", "bin"): bytes(range(256))}
    other = tmp_path / "app" / "data" / "other.db"  # relative to the runtime config file's folder
    assert spin_rows(other) == {("other", "a"): b"other's"}

    assert get_json(server, "/kv/put/greeting", "POST", b"hello") == "stored"
    assert spin_rows(db)[("default", "greeting")] == b"hello"
    assert get_json(server, "/kv/fetch/greeting") == "hello"


def test_sdk3_permissions_both_ways_and_stale_handles(tmp_path, spin_up):
    server = start(tmp_path, spin_up)
    denied = {"error": "Error_AccessDenied", "value": None}
    assert get_json(server, "/kv/open/default") == "opened"
    assert get_json(server, "/kv/open/other") == "opened"
    assert get_json(server, "/nokv/open/default") == denied
    assert get_json(server, "/otheronly/open/default") == denied
    assert get_json(server, "/otheronly/open/other") == "opened"
    # A label the component does not list is AccessDenied, defined or not (Spin checks the list first).
    assert get_json(server, "/kv/open/nowhere") == denied
    assert get_json(server, "/kv/wasi-open/default") == "opened"
    assert get_json(server, "/nokv/wasi-open/default") == denied

    # A store kept in a module global does not outlive its request: the next one starts from the
    # state after import, as under Spin (a handle from another request is unknown to the host:
    # tests/capabilities/test_seam.py).
    assert get_json(server, "/kv/keep") == "kept"
    status, _, body = server.get("/kv/stale")
    assert status == 500 and b"IndexError: list index out of range" in body


def test_sdk3_wasi_keyvalue(tmp_path, spin_up):
    server = start(tmp_path, spin_up)
    assert get_json(server, "/kv/wasi") == {
        "get": "x",
        "exists": [True, False],
        "keys": True,
        "many": [["m1", "1"], ["m2", "2"]],
        "deleted": [False, False],
        "increment": [5, 12],
        "current": "start",
        "swapped": "swapped",
        "cas_failed": ["CasError_CasFailed", "moved"],
        "after": "moved",
        "cursor": ["Error_Other", "list_keys: cursor not supported"],
    }
    # Spin keeps an increment's counter as 8 little-endian bytes.
    rows = spin_rows(tmp_path / "app" / ".spin" / "sqlite_key_value.db")
    assert rows[("default", "counter")] == (12).to_bytes(8, "little")
