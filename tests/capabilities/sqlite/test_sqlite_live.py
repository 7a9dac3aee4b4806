"""Spin's SQLite end to end: real `spin-py up` over loopback HTTP, real spin-sdk
releases (3.4.1 on Python 3.11, 5.0.0 on 3.12) and the original API, each
value type both ways, each error with its exact text, both permission
directions, `--sqlite`, and the database file as Python's sqlite3 reads it."""

import contextlib
import json
import sqlite3
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest
from apps import manifest, sdk3_python, sdk5_python, write_app
from live import LiveServer, run_cli
from sqlite_apps import ORIGINAL_APP, SDK3_APP, SDK3_DENIED, SDK5_APP

ALL_BYTES_HEX = bytes(range(256)).hex()


def component(component_id, route, databases, module="app", world="spin-http"):
    labels = ", ".join(f'"{label}"' for label in databases)
    return (
        f'[[trigger.http]]\nroute = "{route}"\ncomponent = "{component_id}"\n\n'
        f'[component.{component_id}]\nsource = "{module}.wasm"\nsqlite_databases = [{labels}]\n'
        f'[component.{component_id}.build]\ncommand = "componentize-py -w {world} componentize {module} -o {module}.wasm"\n\n'
    )


def start(folder, python, files, components, *flags):
    """A server for an app in ``folder`` with an `orders` database defined in its runtime config."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "runtime-config.toml").write_text(f'[sqlite_database.orders]\ntype = "spin"\npath = "{folder}/orders.db"\n')
    path = write_app(folder, manifest(*components), files)
    server = LiveServer(
        path, "--python", str(python), "--state-dir", str(folder / "state"),
        "--runtime-config-file", str(folder / "runtime-config.toml"), *flags,
        log_path=folder / "spin-py.log",
    )
    try:
        return server.wait_ready(timeout=60)
    except Exception:
        server.stop()
        raise


def get_json(server, path, **kwargs):
    status, _, body = server.request("POST" if "body" in kwargs else "GET", path, **kwargs)
    assert status == 200, body
    return json.loads(body)


@contextlib.contextmanager
def default_db(folder):
    """Python's own sqlite3 on the file spin-py writes (closed after: an open one would slow writers)."""
    with contextlib.closing(sqlite3.connect(folder / "state" / "sqlite_db.db")) as db:
        yield db


# -- spin-sdk 3.x --


@pytest.fixture(scope="module")
def sdk3(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sdk3")
    (folder / "migration.sql").write_text("CREATE TABLE seeded (v TEXT);\nINSERT INTO seeded VALUES ('from file');\n")
    (folder / "orders.sql").write_text("CREATE TABLE orders (item TEXT); INSERT INTO orders VALUES ('tea');")
    server = start(
        folder, sdk3_python(), {"app.py": SDK3_APP, "denied.py": SDK3_DENIED},
        [component("main", "/...", ["default"]), component("reports", "/reports/...", ["orders"]),
         component("nothing", "/nothing", [], module="denied")],
        "--sqlite", f"@{folder}/migration.sql", "--sqlite", "INSERT INTO seeded VALUES ('literal')",
        "--sqlite", f"@{folder}/orders.sql:orders", "--max-workers", "4",
    )
    yield folder, server
    server.stop()


def test_sdk3_every_value_type_both_ways(sdk3):
    folder, server = sdk3
    seen = get_json(server, "/roundtrip")
    assert seen["columns"] == ["i", "r", "t", "b", "n"]
    assert seen["rows"] == [
        [["Value_Integer", 9223372036854775807], ["Value_Real", -2.5e-300], ["Value_Text", 'naïve ✓ "q"'],
         ["Value_Blob", ALL_BYTES_HEX], ["Value_Null", None]],
        [["Value_Integer", -9223372036854775808], ["Value_Real", 0.1], ["Value_Text", ""],
         ["Value_Blob", ""], ["Value_Null", None]],
    ]
    # The database spin-py wrote is an ordinary SQLite file.
    with default_db(folder) as db:
        assert db.execute("SELECT i, r, t, b, n FROM v ORDER BY i DESC").fetchall() == [
            (2**63 - 1, -2.5e-300, 'naïve ✓ "q"', bytes(range(256)), None),
            (-(2**63), 0.1, "", b"", None),
        ]


def test_sdk3_errors_have_spins_variants_and_texts(sdk3):
    _, server = sdk3
    assert get_json(server, "/errors") == {
        "denied": ["Error_AccessDenied", None],
        "syntax": ["Error_Io", 'near "SELEC": syntax error in SELEC 1 at offset 0'],
        "no_table": ["Error_Io", "no such table: missing"],
        "params": ["Error_Io", "Wrong number of parameters passed to query. Got 0, needed 1"],
        "closed": ["Error_InvalidConnection", None],
    }


def test_sdk3_spin_sqlite_3_0_counts_changes_and_rowids(sdk3):
    _, server = sdk3
    first = get_json(server, "/v3")
    assert first["changes"] == 2
    assert get_json(server, "/v3") == {"changes": 2, "rowid": first["rowid"] + 2}


def test_permissions_both_ways(sdk3):
    _, server = sdk3
    # `reports` may use `orders` (seeded by --sqlite @orders.sql:orders) and not `default`; `main` the reverse.
    assert get_json(server, "/reports/select/orders", body=b"SELECT item FROM orders") == {
        "columns": ["item"], "rows": [[["Value_Text", "tea"]]]}
    status, _, body = server.get("/reports/roundtrip")
    assert status == 500 and b"Error_AccessDenied" in body
    assert get_json(server, "/errors")["denied"] == ["Error_AccessDenied", None]
    status, _, body = server.get("/nothing")
    assert (status, body) == (403, b"Error_AccessDenied()")


def test_sqlite_flags_ran_before_serving_and_startup_names_the_default(sdk3):
    folder, server = sdk3
    assert get_json(server, "/select/default", body=b"SELECT v FROM seeded") == {
        "columns": ["v"], "rows": [[["Value_Text", "from file"]], [["Value_Text", "literal"]]]}
    assert f'Storing default SQLite data to "{folder}/state/sqlite_db.db".' in server.output()


def test_many_requests_writing_at_once_lose_no_write(sdk3):
    folder, server = sdk3
    with ThreadPoolExecutor(max_workers=4) as pool:  # one client per worker: each request has a worker of its own
        statuses = list(pool.map(lambda _: server.get("/hit")[0], range(48)))
    assert statuses == [200] * 48
    with default_db(folder) as db:
        assert db.execute("SELECT count(*) FROM hits").fetchone() == (48,)


# -- spin-sdk 5.x --


@pytest.fixture(scope="module")
def sdk5(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sdk5")
    server = start(folder, sdk5_python(), {"app.py": SDK5_APP},
                   [component("main", "/...", ["default"], world="spin:up/http-trigger@4.0.0")])
    yield folder, server
    server.stop()


def test_sdk5_every_value_type_both_ways_through_the_row_stream(sdk5):
    folder, server = sdk5
    seen = get_json(server, "/roundtrip")
    assert seen["columns"] == ["i", "r", "t", "b", "n"]
    assert seen["rows"] == [
        [["Value_Integer", 9223372036854775807], ["Value_Real", -2.5e-300], ["Value_Text", 'naïve ✓ "q"'],
         ["Value_Blob", ALL_BYTES_HEX], ["Value_Null", None]],
        [["Value_Integer", -9223372036854775808], ["Value_Real", 0.1], ["Value_Text", ""],
         ["Value_Blob", ""], ["Value_Null", None]],
    ]
    assert (seen["outcome"], seen["changes"], seen["rowid"]) == ("Ok", 2, 2)
    with default_db(folder) as db:
        assert db.execute("SELECT count(*), sum(length(b)) FROM v").fetchone() == (2, 256)


def test_sdk5_errors_come_from_the_future_as_in_spin(sdk5):
    _, server = sdk5
    assert get_json(server, "/errors") == {
        "denied": ["Error_AccessDenied", None],
        "syntax_columns": [],
        "syntax": ["Error_Io", 'near "SELEC": syntax error in SELEC 1 at offset 0'],
        "params": ["Error_Io", "Wrong number of parameters passed to query. Got 0, needed 1"],
        "closed": ["Error_InvalidConnection", None],
    }


def test_sdk5_older_interfaces(sdk5):
    _, server = sdk5
    seen = get_json(server, "/older")
    assert seen["v1"][-1] == [["Value_Blob", b"\x00v1".hex()]]
    assert seen["v2"][0] == ["n"] and seen["v2"][1][0][0][0] == "Value_Integer"
    assert seen["denied"] == "Error_AccessDenied"


# -- the original API --


@pytest.fixture(scope="module")
def original(tmp_path_factory):
    folder = tmp_path_factory.mktemp("original")
    server = start(folder, sys.executable, {"app.py": ORIGINAL_APP},
                   [component("main", "/...", ["default"]).replace("componentize-py -w spin-http componentize app -o app.wasm",
                                                                   "spin py2wasm app -o app.wasm")])
    yield folder, server
    server.stop()


def test_original_api_values_as_the_old_engine_gave_them(original):
    _, server = original
    seen = get_json(server, "/roundtrip")
    assert seen["columns"] == ["a", "b", "c", "d", "e", "f", "g", "typeof(g)"]
    assert seen["rows"] == [[
        ["int", 9223372036854775807], ["float", 1.25], ["str", "text ✓"],
        ["list", [0, 255, 98, 108, 111, 98]],  # a blob comes back as a list of ints (pyo3's Vec<u8>)
        ["NoneType", None], ["int", 1],
        ["float", float(2**70)], ["str", "real"],  # an int too big for i64 was sent as a real
    ]]


def test_original_api_errors_are_assertion_errors_with_rusts_debug_text(original):
    _, server = original
    assert get_json(server, "/errors") == {
        "denied": ["AssertionError", "Error::AccessDenied"],
        "syntax": ["AssertionError", 'Error::Io("near \\"SELEC\\": syntax error in SELEC 1 at offset 0")'],
        "quoted": ["AssertionError", 'Error::Io("no such table: we\\\\ird")'],
        "parameter": ["AssertionError", "Unable to use [1] as a SQLite `execute` parameter -- expected `int`, "
                                        "`float`, `bytes`, `string`, or `None`"],
    }


# -- startup failures --


def test_startup_failures_have_spins_texts(tmp_path):
    path = write_app(tmp_path, manifest(component("main", "/...", ["default", "ledger"])), {"app.py": SDK3_DENIED})
    result = run_cli("up", "-f", str(path), "--listen", "127.0.0.1:0", "--python", sys.executable, "--no-watch")
    assert result.returncode != 0
    assert (
        "One or more components use SQLite databases which are not defined.\n"
        "Check the spelling, or pass a runtime configuration file that defines these stores.\n"
        "See https://spinframework.dev/dynamic-configuration#sqlite-storage-runtime-configuration\n"
        "Details:\n"
        "- Component main uses database 'ledger'"
    ) in result.stderr
    assert "Traceback" not in result.stderr

    path = write_app(tmp_path, manifest(component("main", "/...", ["default"])), {"app.py": SDK3_DENIED})
    (tmp_path / "bad.sql").write_text("GARBAGE;")
    for flag, text in [
        (f"@{tmp_path}/bad.sql", f"failed to execute sql against database 'default' from file '{tmp_path}/bad.sql'\n\n"
                                 "Caused by:\n    0: failed to execute batch statements\n"
                                 '    1: near "GARBAGE": syntax error in GARBAGE; at offset 0'),
        (f"@{tmp_path}/bad.sql:", f"database label is empty in the '@{tmp_path}/bad.sql:' sqlite statement"),
        ("@nope.sql:ledger", "based on the '@nope.sql:ledger' a registered database named 'ledger' was expected but not found."),
    ]:
        result = run_cli("up", "-f", str(path), "--listen", "127.0.0.1:0", "--python", sys.executable, "--no-watch",
                         "--sqlite", flag)
        assert result.returncode != 0, result.stderr
        assert text in result.stderr
        assert "Traceback" not in result.stderr
