"""The SQLite capability's host half: the connection (rusqlite's behaviour and
texts), the runtime config, Spin's startup checks, `--sqlite` statements, and
the host functions over a per-request Instance. The guest halves are tested end
to end in test_sqlite_live.py."""

import sqlite3
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest

from spin_py.capabilities.errors import CapabilityError
from spin_py.capabilities.seam import AppContext, ConfigureError, HostContext, Instance
from spin_py.capabilities.sqlite import SqliteCapability
from spin_py.capabilities.sqlite.databases import Database, read_databases
from spin_py.capabilities.sqlite.engine import Connection, SqliteError
from spin_py.capabilities.sqlite.statements import StatementError, parse_file_and_label
from spin_py.config import UpConfig
from spin_py.runtime_config import RuntimeConfig, RuntimeConfigError


def io_text(call):
    with pytest.raises(SqliteError) as caught:
        call()
    assert caught.value.kind == "Io"
    return caught.value.message


# -- the connection --


def test_statements_fail_with_rusqlites_texts(tmp_path):
    db = Connection(tmp_path / "t.db")
    db.query("CREATE TABLE t (id INTEGER PRIMARY KEY, v)", [])
    # A compile error says where (rusqlite error_with_offset), when SQLite knows.
    assert io_text(lambda: db.query("SELEC 1", [])) == 'near "SELEC": syntax error in SELEC 1 at offset 0'
    assert io_text(lambda: db.query("SELECT nope FROM t", [])) == "no such column: nope in SELECT nope FROM t at offset 7"
    assert io_text(lambda: db.query("SELECT * FROM nope", [])) == "no such table: nope"
    # rusqlite's parameter count check: one too many is counted, then it stops.
    assert io_text(lambda: db.query("SELECT ?", [])) == "Wrong number of parameters passed to query. Got 0, needed 1"
    assert io_text(lambda: db.query("SELECT ?", [1, 2, 3])) == "Wrong number of parameters passed to query. Got 2, needed 1"
    db.query("INSERT INTO t (id) VALUES (1)", [])
    assert io_text(lambda: db.query("INSERT INTO t (id) VALUES (1)", [])) == "UNIQUE constraint failed: t.id"
    assert io_text(lambda: db.query("", [])) == "bad parameter or other API misuse"
    # Only the first statement of a text runs, as rusqlite's prepare does.
    assert db.query("SELECT 1 AS one; DROP TABLE t", []) == (["one"], [(1,)])
    assert db.query("SELECT count(*) FROM t", [])[1] == [(1,)]
    db.close()


def test_every_value_type_both_ways(tmp_path):
    db = Connection(tmp_path / "t.db")
    db.query("CREATE TABLE v (i INTEGER, r REAL, t TEXT, b BLOB, n)", [])
    values = [2**63 - 1, -1.5e300, "naïve ✓\n\"q\"", bytes(range(256)), None]
    db.query("INSERT INTO v VALUES (?, ?, ?, ?, ?)", values)
    db.query("INSERT INTO v VALUES (?, ?, ?, ?, ?)", [-(2**63), 0.0, "", b"", None])
    columns, rows = db.query("SELECT * FROM v", [])
    assert columns == ["i", "r", "t", "b", "n"]
    assert rows == [tuple(values), (-(2**63), 0.0, "", b"", None)]
    assert (db.changes(), db.last_insert_rowid()) == (1, 2)
    db.close()


def test_attaching_a_file_is_refused_unless_allowed(tmp_path):
    other = tmp_path / "other.db"
    refused = Connection(tmp_path / "t.db")
    assert io_text(lambda: refused.query(f"ATTACH '{other}' AS o", [])) == "not authorized"
    refused.query("ATTACH ':memory:' AS m", [])  # Spin allows a temporary or in-memory one
    allowed = Connection(tmp_path / "t.db", allow_attach_file=True)
    allowed.query(f"ATTACH '{other}' AS o", [])
    refused.close()
    allowed.close()


def test_a_file_that_cannot_be_opened_says_which(tmp_path):
    db = Connection(tmp_path / "missing-dir" / "t.db")
    assert io_text(lambda: db.query("SELECT 1", [])) == f"unable to open database file: {tmp_path}/missing-dir/t.db"


def test_results_are_held_to_the_limit(tmp_path):
    db = Connection(None)
    # 48 (the result) + 32 + 100 (one value) is over 150 bytes
    assert io_text(lambda: db.query("SELECT zeroblob(100)", [], limit=150)) == "query result exceeds limit of 150 bytes"
    assert db.query("SELECT zeroblob(60)", [], limit=150)[1] == [(bytes(60),)]


def test_a_streamed_statement_runs_at_once_and_reports_errors_at_the_end(tmp_path):
    db = Connection(tmp_path / "t.db")
    db.query("CREATE TABLE t (v)", [])
    stream = db.query_stream("INSERT INTO t VALUES (1)", [])
    assert db.query("SELECT count(*) FROM t", [])[1] == [(1,)]  # never read, already done
    stream.finish()
    stream = db.query_stream("SELECT v FROM t UNION ALL SELECT 2 UNION ALL SELECT 3", [])
    assert stream.columns == ["v"]
    assert stream.read(2) == [(1,), (2,)]
    assert stream.read(2) == [(3,)]
    assert stream.read(2) == []
    stream.finish()
    # A compile error gives no columns, no rows, and the error from the future (crates/sqlite-inproc query_async).
    broken = db.query_stream("SELEC 1", [])
    assert (broken.columns, broken.read(5)) == ([], [])
    assert io_text(broken.finish) == 'near "SELEC": syntax error in SELEC 1 at offset 0'
    unbound = db.query_stream("SELECT ?", [])
    assert unbound.columns == ["?"]
    assert io_text(unbound.finish) == "Wrong number of parameters passed to query. Got 0, needed 1"
    db.close()


def test_many_writers_at_once_lose_no_write(tmp_path):
    path = tmp_path / "busy.db"
    setup = Connection(path)
    setup.query("CREATE TABLE hits (worker, n)", [])
    setup.close()
    failures = []

    def write(worker):
        db = Connection(path)
        try:
            for n in range(40):
                db.query("INSERT INTO hits VALUES (?, ?)", [worker, n])
        except Exception as error:  # any failure is a lost write
            failures.append(error)
        finally:
            db.close()

    threads = [threading.Thread(target=write, args=(worker,)) for worker in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    with sqlite3.connect(path) as check:
        assert check.execute("SELECT count(*) FROM hits").fetchone() == (320,)


# -- runtime config and startup checks --


def runtime_config(tmp_path, text):
    import tomllib

    path = tmp_path / "runtime-config.toml"
    path.write_text(text)
    return RuntimeConfig(path=path, data=tomllib.loads(text))


def test_default_lives_in_the_state_dir_and_relative_paths_follow_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = runtime_config(
        tmp_path / "..",
        '[sqlite_database.orders]\ntype = "spin"\npath = "data/orders.db"\n'
        '[sqlite_database.scratch]\ntype = "spin"\nallow_attach_file = true\n',
    )
    databases = read_databases(config, tmp_path / "state")
    assert databases["default"] == Database("default", tmp_path / "state" / "sqlite_db.db", create_folder_on_open=True)
    # Spin resolves against its working directory, not the runtime config's folder (crates/runtime-config sqlite_config_resolver).
    assert databases["orders"] == Database("orders", tmp_path / "data" / "orders.db")
    assert (tmp_path / "data").is_dir()
    assert databases["scratch"] == Database("scratch", None, True)
    assert databases["scratch"].summary() == "a temporary in-memory database"
    assert databases["default"].summary() == f'"{tmp_path}/state/sqlite_db.db"'


@pytest.mark.parametrize(
    "table, message",
    [
        ('[sqlite_database.x]\npath = "x.db"\n', "sqlite_database.x: missing field `type`"),
        ('[sqlite_database.x]\ntype = "postgres"\n', "sqlite_database.x.type: Unknown database kind: postgres"),
        ('[sqlite_database.x]\ntype = "spin"\nfile = "x.db"\n',
         "sqlite_database.x.file: unknown field `file`, expected `path` or `allow_attach_file`"),
        ('[sqlite_database.x]\ntype = "spin"\npath = 3\n', "sqlite_database.x.path: must be a string"),
        ('[sqlite_database.x]\ntype = "libsql"\nurl = "https://db.example"\ntoken = "t"\n',
         "sqlite_database.x.type: the database type 'libsql' is not provided by spin-py (it provides 'spin')"),
        ('[sqlite_database.x]\ntype = "libsql"\nurl = "libsql://db.example"\ntoken = "t"\n',
         "sqlite_database.x.url: unexpected libSQL URL 'libsql://db.example' in runtime config file: URL does not "
         "start with 'https://' or 'http://'. Spin currently only supports talking to libSQL databases over HTTP(S)"),
        ("sqlite_database = 1\n", "sqlite_database: must be a table"),
    ],
)
def test_runtime_config_mistakes_name_the_file_and_key(tmp_path, table, message):
    config = runtime_config(tmp_path, table)
    with pytest.raises(RuntimeConfigError) as caught:
        read_databases(config, tmp_path / "state")
    assert str(caught.value) == f"{config.path}: {message}"


def app_with(**databases):
    components = {
        component_id: SimpleNamespace(id=component_id, sqlite_databases=tuple(labels))
        for component_id, labels in databases.items()
    }
    return SimpleNamespace(components=components)


def capability(tmp_path, statements=()):
    config = UpConfig(manifest=tmp_path / "spin.toml", capability_flags={"sqlite_statements": tuple(statements)})
    return SqliteCapability(HostContext(config, lambda line: None))


def test_a_database_nothing_defines_fails_startup_with_spins_text(tmp_path):
    app = app_with(web=["default", "orders"], admin=["audit"])
    with pytest.raises(ConfigureError) as caught:
        capability(tmp_path).configure(AppContext(app, RuntimeConfig(), tmp_path / "state"))
    assert str(caught.value) == (
        "One or more components use SQLite databases which are not defined.\n"
        "Check the spelling, or pass a runtime configuration file that defines these stores.\n"
        "See https://spinframework.dev/dynamic-configuration#sqlite-storage-runtime-configuration\n"
        "Details:\n"
        "- Component web uses database 'orders'\n"
        "- Component admin uses database 'audit'"
    )


def test_startup_names_the_default_database_only_when_a_component_uses_it(tmp_path):
    cap = capability(tmp_path)
    used = cap.configure(AppContext(app_with(web=["default"]), RuntimeConfig(), tmp_path / "state"))
    assert used.startup_lines() == [f'Storing default SQLite data to "{tmp_path}/state/sqlite_db.db".']
    assert cap.configure(AppContext(app_with(web=[]), RuntimeConfig(), tmp_path / "state")).startup_lines() == []


# -- host functions over an Instance --


def test_host_functions_check_permissions_and_handles(tmp_path):
    config = runtime_config(tmp_path, f'[sqlite_database.orders]\ntype = "spin"\npath = "{tmp_path}/orders.db"\n')
    configured = capability(tmp_path).configure(AppContext(app_with(web=["orders"], admin=["default"]), config, tmp_path / "state"))
    web = Instance("web", lambda: {"sqlite": configured})
    admin = Instance("admin", lambda: {"sqlite": configured})

    def error(instance, function, **args):
        with pytest.raises(CapabilityError) as caught:
            instance.call("sqlite", function, args)
        return caught.value.kind, caught.value.message

    assert error(web, "open", database="default") == ("AccessDenied", "")
    assert error(admin, "open", database="orders") == ("AccessDenied", "")
    assert error(web, "execute", connection=99, statement="SELECT 1", params=[]) == ("InvalidConnection", "")
    handle = web.call("sqlite", "open", {"database": "orders"})
    blob = {"$bytes": "AAEC"}
    web.call("sqlite", "execute", {"connection": handle, "statement": "CREATE TABLE t (a, b, c, d, e)", "params": []})
    web.call("sqlite", "execute", {"connection": handle, "statement": "INSERT INTO t VALUES (?, ?, ?, ?, ?)",
                                   "params": [7, 0.5, "x", blob, None]})
    assert web.call("sqlite", "last_insert_rowid", {"connection": handle}) == 1
    assert web.call("sqlite", "changes", {"connection": handle}) == 1
    result = web.call("sqlite", "execute", {"connection": handle, "statement": "SELECT * FROM t", "params": []})
    assert result == {"columns": ["a", "b", "c", "d", "e"], "rows": [[7, 0.5, "x", blob, None]]}
    stream = web.call("sqlite", "execute_stream", {"connection": handle, "statement": "SELECT a FROM t", "params": []})
    assert stream["columns"] == ["a"]
    assert web.call("sqlite", "read_rows", {"stream": stream["stream"], "max": 10}) == [[7]]
    assert web.call("sqlite", "read_rows", {"stream": stream["stream"], "max": 10}) == []
    assert web.call("sqlite", "finish", {"stream": stream["stream"]}) is None
    assert error(web, "execute", connection=handle, statement="SELECT ?", params=[2**63]) == (
        "Io", "integer parameter 9223372036854775808 is out of the 64-bit range")
    web.call("sqlite", "close", {"connection": handle})
    web.call("sqlite", "close", {"connection": handle})  # a second drop is ignored, as in Spin
    assert error(web, "changes", connection=handle) == ("InvalidConnection", "")
    web.close()
    admin.close()


def test_a_request_holds_at_most_256_connections(tmp_path):
    configured = capability(tmp_path).configure(AppContext(app_with(web=["default"]), RuntimeConfig(), tmp_path / "state"))
    instance = Instance("web", lambda: {"sqlite": configured})
    handles = [instance.call("sqlite", "open", {"database": "default"}) for _ in range(256)]
    with pytest.raises(CapabilityError) as caught:
        instance.call("sqlite", "open", {"database": "default"})
    assert (caught.value.kind, caught.value.message) == ("Io", "too many connections opened")
    instance.call("sqlite", "close", {"connection": handles[0]})
    instance.call("sqlite", "open", {"database": "default"})  # a closed one frees its place
    instance.close()


def test_connections_close_when_the_request_ends(tmp_path):
    configured = capability(tmp_path).configure(AppContext(app_with(web=["default"]), RuntimeConfig(), tmp_path / "state"))
    instance = Instance("web", lambda: {"sqlite": configured})
    handle = instance.call("sqlite", "open", {"database": "default"})
    instance.call("sqlite", "execute", {"connection": handle, "statement": "BEGIN EXCLUSIVE", "params": []})
    instance.close()  # the exclusive transaction ends with its connection
    with sqlite3.connect(tmp_path / "state" / "sqlite_db.db", timeout=0.1) as check:
        check.execute("CREATE TABLE after (x)")


# -- --sqlite statements --


def test_file_and_label_are_parsed_as_spin_parses_them():
    assert parse_file_and_label("file:label") == ("file", "label")
    assert parse_file_and_label(" file ") == ("file", "default")
    for config, message in [
        ("", "database configuration is empty in the '@' sqlite statement"),
        ("file:", "database label is empty in the '@file:' sqlite statement"),
        (":label", "file path is empty in the '@:label' sqlite statement"),
    ]:
        with pytest.raises(StatementError) as caught:
            parse_file_and_label(config)
        assert str(caught.value) == message


def test_statements_run_once_before_serving(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("schema.sql").write_text("CREATE TABLE t (v);\nINSERT INTO t VALUES ('from file');\n")
    Path("orders.sql").write_text("CREATE TABLE o (v);")
    config = runtime_config(tmp_path, '[sqlite_database.orders]\ntype = "spin"\npath = "orders.db"\n')
    cap = capability(tmp_path, ["@schema.sql", "INSERT INTO t VALUES ('literal')", "@orders.sql:orders"])
    cap.configure(AppContext(app_with(web=["default"]), config, tmp_path / "state"))
    cap.configure(AppContext(app_with(web=["default"]), config, tmp_path / "state"))  # a reload does not run them again
    with sqlite3.connect(tmp_path / "state" / "sqlite_db.db") as check:
        assert check.execute("SELECT v FROM t").fetchall() == [("from file",), ("literal",)]
    with sqlite3.connect(tmp_path / "orders.db") as check:
        assert check.execute("SELECT count(*) FROM o").fetchone() == (0,)


@pytest.mark.parametrize(
    "statement, text",
    [
        ("@missing.sql", "could not read file 'missing.sql' containing sql statements\n\nCaused by:\n"
                         "    No such file or directory (os error 2)"),
        ("@bad.sql:nope", "based on the '@bad.sql:nope' a registered database named 'nope' was expected but not found."),
        ("@bad.sql", "failed to execute sql against database 'default' from file 'bad.sql'\n\nCaused by:\n"
                     "    0: failed to execute batch statements\n"
                     '    1: near "GARBAGE": syntax error in \nGARBAGE; at offset 1'),
        ("SELEC 1", "failed to execute following sql statement against default database: 'SELEC 1'\n\nCaused by:\n"
                    '    near "SELEC": syntax error in SELEC 1 at offset 0'),
    ],
)
def test_a_failing_statement_fails_startup_with_spins_text(tmp_path, monkeypatch, statement, text):
    monkeypatch.chdir(tmp_path)
    Path("bad.sql").write_text("CREATE TABLE ok (v);\nGARBAGE;")
    with pytest.raises(ConfigureError) as caught:
        capability(tmp_path, [statement]).configure(AppContext(app_with(web=[]), RuntimeConfig(), tmp_path / "state"))
    assert str(caught.value) == text
