"""Stores from the runtime config (spin files, redis), Spin's startup texts and
errors, `--key-value`, and data that survives restarts and concurrent writers;
through `spin-py up` with the original API (no SDK needed)."""

import concurrent.futures
import sys
import textwrap

from apps import component
from kv_apps import spin_rows, write_kv_app
from live import LiveServer, run_cli

# /<label>/<op>/<key>, the body as the value.
APP = """
    from spin_http import Response
    from spin_key_value import kv_open

    def handle_request(request):
        label, op, key = request.uri.split("/", 4)[2:5]
        try:
            store = kv_open(label)
            if op == "set":
                store.set(key, request.body or b"")
                return Response(200, {}, b"stored")
            if op == "get":
                value = store.get(key)
                return Response(200 if value is not None else 404, {}, value)
            if op == "keys":
                return Response(200, {}, ",".join(sorted(store.get_keys())).encode())
        except AssertionError as error:
            return Response(500, {}, str(error).encode())
"""


def write(tmp_path, stores='["default"]', runtime_config=None):
    return write_kv_app(tmp_path / "app", APP, components=(("kv", stores),), runtime_config=runtime_config)


def serve(spin_up, path, config=None, *flags):
    args = ["--python", sys.executable, *flags]
    if config is not None:
        args += ["--runtime-config-file", str(config)]
    return spin_up(path, *args)


def fails(tmp_path, path, *flags):
    """Start `spin-py up` expecting it to refuse: returns its output."""
    server = LiveServer(path, "--python", sys.executable, *flags, log_path=tmp_path / "refused.log")
    try:
        assert server.process.wait(timeout=30) != 0
        return server.output()
    finally:
        server.stop()


def test_default_store_line_and_unknown_label(tmp_path, spin_up):
    path, _ = write(tmp_path, stores='["default", "nope"]')
    output = fails(tmp_path, path)
    # crates/factor-key-value/src/lib.rs
    assert 'unknown key_value_stores label "nope" for component "kv"' in output
    assert "Traceback" not in output


def test_runtime_config_errors_are_one_line(tmp_path):
    cases = {
        'type = "azure_cosmos"': "the store type 'azure_cosmos' is not provided by spin-py",
        'type = "aws_dynamo"': "the store type 'aws_dynamo' is not provided by spin-py",
        'type = "memcached"': "the store type 'memcached' was not registered with the config resolver",
        'type = "redis"': "key_value_store.cache.url: missing field `url`",
        'type = "redis"\nurl = "http://x"': "Invalid Redis URL",
        'path = "x.db"': "key_value_store.cache: missing field `type`",
    }
    for index, (table, expected) in enumerate(cases.items()):
        folder = tmp_path / str(index)
        path, config = write(folder, stores='["cache"]', runtime_config=f"[key_value_store.cache]\n{table}\n")
        output = fails(folder, path, "--runtime-config-file", str(config))
        assert expected in output and str(config) in output, output
        assert "Traceback" not in output


def test_key_value_flag_seeds_the_default_store(tmp_path, spin_up):
    path, _ = write(tmp_path)
    server = serve(spin_up, path, None, "--key-value", "greeting=hello", "--key-value", "eq=a=b",
                   "--key-value", "file=@notes.txt", "--key-value", "empty=")
    assert server.get("/kv/default/get/greeting")[2] == b"hello"
    assert server.get("/kv/default/get/eq")[2] == b"a=b"  # split at the first '='
    assert server.get("/kv/default/get/file")[2] == b"@notes.txt"  # Spin's --key-value reads no file
    assert server.get("/kv/default/get/empty")[:3:2] == (200, b"")
    rows = spin_rows(tmp_path / "app" / ".spin" / "sqlite_key_value.db")
    assert rows[("default", "greeting")] == b"hello"


def test_key_value_flag_errors():
    result = run_cli("up", "--key-value", "novalue")
    assert result.returncode == 2
    assert "Invalid value for '--key-value': 'novalue': Key/Values must be of the form `key=value`" in result.stderr
    assert "Traceback" not in result.stderr


def test_data_survives_restart_and_manifest_reload(tmp_path, spin_up):
    path, config = write(tmp_path, stores='["default", "other"]', runtime_config='[key_value_store.other]\ntype = "spin"\npath = "other.db"\n')
    server = serve(spin_up, path, config)
    assert server.request("POST", "/kv/default/set/k", body=b"kept")[0] == 200
    assert server.request("POST", "/kv/other/set/k", body=b"kept too")[0] == 200
    # A manifest edit reloads the app: the stores are the same, the new component's permissions its own.
    path.write_text(path.read_text() + component("late", route="/late/...", world="spin-http"))
    server.wait_for_output("/late", timeout=15)
    assert server.get("/kv/default/get/k")[2] == b"kept"
    assert server.get("/late/default/get/k")[2] == b"Error::AccessDenied"
    server.stop()
    server = serve(spin_up, path, config)
    assert server.get("/kv/default/get/k")[2] == b"kept"
    assert server.get("/kv/other/get/k")[2] == b"kept too"
    assert spin_rows(tmp_path / "app" / "other.db") == {("other", "k"): b"kept too"}


def test_in_memory_store_when_spin_type_has_no_path(tmp_path, spin_up):
    path, config = write(tmp_path, runtime_config='[key_value_store.default]\ntype = "spin"\n')
    server = serve(spin_up, path, config)
    assert "Storing default key-value data to a temporary in-memory store." in server.output()
    assert server.request("POST", "/kv/default/set/k", body=b"v")[0] == 200
    assert server.get("/kv/default/get/k")[2] == b"v"
    assert not (tmp_path / "app" / ".spin" / "sqlite_key_value.db").exists()


def test_concurrent_writers_lose_nothing(tmp_path, spin_up):
    path, _ = write(tmp_path)
    server = serve(spin_up, path, None, "--max-workers", "6")
    values = {f"key{i}": bytes([i % 251]) * (20_000 + i) for i in range(48)}

    def write_one(item):
        key, value = item
        return server.request("POST", f"/kv/default/set/{key}", body=value)[0]

    with concurrent.futures.ThreadPoolExecutor(12) as pool:
        assert set(pool.map(write_one, values.items())) == {200}
        # Readers during a second round of writes see a whole old or a whole new value.
        rewrites = {key: bytes([255]) * len(value) for key, value in values.items()}
        readers = [pool.submit(server.get, f"/kv/default/get/{key}") for key in values]
        assert set(pool.map(write_one, rewrites.items())) == {200}
        for key, reader in zip(values, readers, strict=False):
            assert reader.result()[2] in (values[key], rewrites[key])
    rows = spin_rows(tmp_path / "app" / ".spin" / "sqlite_key_value.db")
    assert {k: v for (_, k), v in rows.items()} == rewrites


def test_redis_store(tmp_path, spin_up, redis_server):
    import redis

    port = redis_server.rsplit(":", 1)[1]
    config_text = textwrap.dedent(f"""
        [key_value_store.default]
        type = "redis"
        url = "{redis_server}"

        [key_value_store.cache]
        type = "redis"
        url = "{redis_server}"
    """)
    path, config = write(tmp_path, stores='["default", "cache"]', runtime_config=config_text)
    server = serve(spin_up, path, config, "--key-value", "seeded=yes")
    assert f"Storing default key-value data to Redis at 127.0.0.1:{port}." in server.output()
    client = redis.Redis.from_url(redis_server)
    assert client.get("seeded") == b"yes"
    assert server.request("POST", "/kv/default/set/fruit", body=b"apple")[0] == 200
    assert client.get("fruit") == b"apple"
    client.set("from-redis", b"\x00\xff")
    assert server.get("/kv/default/get/from-redis")[2] == b"\x00\xff"
    assert server.get("/kv/cache/keys/-")[2] == b"from-redis,fruit,seeded"  # labels share the keyspace, as in Spin
    assert server.get("/kv/default/get/missing")[0] == 404
    assert not (tmp_path / "app" / ".spin" / "sqlite_key_value.db").exists()
    # The server going away is Spin's Other(text): Io(text) to the original API.
    client.shutdown(nosave=True)
    status, _, body = server.get("/kv/default/get/fruit")
    assert status == 500 and body.startswith(b'Error::Io("') and b"Error" in body[10:]
