"""Outbound PostgreSQL through `spin-py up` with spin-sdk 3.4.1 against a real
PostgreSQL: `spin_sdk.postgres` (fermyon:spin/postgres@2.0.0: the rdbms-types
values, unsigned parameters refused, newer column types Unsupported), and
spin:postgres@3.0.0 (`spin_postgres_postgres`, with dates); Spin's errors,
allowed and denied."""

import json
from urllib.parse import quote

import pytest
from apps import component, manifest, sdk3_python, write_app
from live import LiveServer

APP = """
    import json
    from urllib.parse import unquote
    from spin_sdk import postgres
    from spin_sdk.http import IncomingHandler, Request, Response
    from spin_sdk.wit.imports import rdbms_types as T
    from spin_sdk.wit.imports import spin_postgres_postgres as pg3
    from spin_sdk.wit.types import Err

    def plain(value):
        if isinstance(value, bytes):
            return {"bytes": value.decode("latin-1")}
        if hasattr(value, "name") and hasattr(value, "value") and not hasattr(value, "__dataclass_fields__"):
            return value.name
        if hasattr(value, "__dataclass_fields__"):
            return [type(value).__name__, *[plain(getattr(value, name)) for name in value.__dataclass_fields__]]
        if isinstance(value, (list, tuple)):
            return [plain(item) for item in value]
        return value

    def describe(error):
        return {"error": type(error.value).__name__, "value": getattr(error.value, "value", None)}

    def ops(address):
        out = {}
        with postgres.open(address) as db:
            db.execute("DROP TABLE IF EXISTS t3", [])
            db.execute("CREATE TABLE t3 (b boolean, i2 smallint, i4 integer, i8 bigint, f4 real, f8 double precision, s text, bin bytea, d date, n text)", [])
            out["execute"] = db.execute("INSERT INTO t3 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, DATE '2024-05-06', $9)", [
                T.ParameterValue_Boolean(False), T.ParameterValue_Int16(2), T.ParameterValue_Int32(3), T.ParameterValue_Int64(4),
                T.ParameterValue_Floating32(0.5), T.ParameterValue_Floating64(0.25), T.ParameterValue_Str("s"),
                T.ParameterValue_Binary(b"\\x01"), T.ParameterValue_DbNull()])
            rowset = db.query("SELECT * FROM t3", [])
            out["columns"] = [[c.name, plain(c.data_type)] for c in rowset.columns]
            out["rows"] = plain(rowset.rows)
            for name, work in (("unsigned", lambda: db.query("SELECT $1", [T.ParameterValue_Uint32(1)])),
                               ("missing", lambda: db.query("SELECT * FROM nope", []))):
                try:
                    work()
                except Err as error:
                    out[name] = describe(error)
        with pg3.Connection.open(address) as db:
            rowset = db.query("SELECT d FROM t3", [])
            out["pg3"] = [[[c.name, plain(c.data_type)] for c in rowset.columns], plain(rowset.rows)]
        return out

    def open_only(address):
        with postgres.open(address):
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
def server(tmp_path_factory, postgres_service):
    folder = tmp_path_factory.mktemp("pg3")
    path = write_app(folder / "app", manifest(
        component("web", route="/web/...", extra=f'allowed_outbound_hosts = ["postgres://127.0.0.1:{postgres_service.port}"]'),
        component("closed", route="/closed/..."),
    ), {"app.py": APP})
    live = LiveServer(path, "--python", str(sdk3_python()), log_path=folder / "spin-py.log")
    yield live.wait_ready()
    live.stop()


def act(server, component_id, action, address):
    status, _, body = server.request("GET", f"/{component_id}/{action}?{quote(address, safe='')}")
    assert status == 200, body
    return json.loads(body)


def test_operations_types_and_errors(server, postgres_service):
    out = act(server, "web", "ops", postgres_service.url)
    missing = out.pop("missing")
    assert missing["error"] == "Error_QueryFailed"
    assert missing["value"].startswith('Error { kind: Db, cause: Some(DbError { severity: "ERROR", parsed_severity: Some(Error), code: SqlState(E42P01)')
    assert out == {
        "execute": 1,
        "columns": [["b", "BOOLEAN"], ["i2", "INT16"], ["i4", "INT32"], ["i8", "INT64"], ["f4", "FLOATING32"],
                    ["f8", "FLOATING64"], ["s", "STR"], ["bin", "BINARY"], ["d", "OTHER"], ["n", "STR"]],
        "rows": [[["DbValue_Boolean", False], ["DbValue_Int16", 2], ["DbValue_Int32", 3], ["DbValue_Int64", 4],
                  ["DbValue_Floating32", 0.5], ["DbValue_Floating64", 0.25], ["DbValue_Str", "s"],
                  ["DbValue_Binary", {"bytes": "\x01"}], ["DbValue_Unsupported"], ["DbValue_DbNull"]]],
        "unsigned": {"error": "Error_ValueConversionFailed", "value": "Postgres does not support unsigned integers"},
        "pg3": [[["d", "DATE"]], [[["DbValue_Date", [2024, 5, 6]]]]],
    }


def test_allowed_and_denied(server, postgres_service):
    assert act(server, "web", "open", postgres_service.url) == "opened"
    assert act(server, "closed", "open", postgres_service.url) == {
        "error": "Error_ConnectionFailed", "value": f"address postgres://127.0.0.1:{postgres_service.port} is not permitted"}
