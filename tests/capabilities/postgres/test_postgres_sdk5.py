"""Outbound PostgreSQL through `spin-py up` with spin-sdk 5.0.0 against a real
PostgreSQL: `spin_sdk.postgres` (spin:postgres@4.2.0, async query with a row
stream) with every parameter and column type the interface defines, the sync
methods, Spin's errors (a DbError with its fields, bad parameters), allowed and
denied addresses; and the older interfaces the SDK ships, whose values narrow
as Spin's conversions narrow them."""

import json
from urllib.parse import quote

import pytest
from apps import component, manifest, sdk5_python, write_app
from live import LiveServer

APP = """
    import json
    from urllib.parse import unquote
    from componentize_py_types import Err
    from spin_sdk import postgres, util
    from spin_sdk.http import Handler, Request, Response
    from spin_sdk.wit.imports import spin_postgres_postgres_4_2_0 as pg
    from spin_sdk.wit.imports import spin_postgres_postgres_3_0_0 as pg3
    from spin_sdk.wit.imports import fermyon_spin_postgres_2_0_0 as pg2
    from spin_sdk.wit.imports import fermyon_spin_rdbms_types_2_0_0 as rdbms2
    from spin_sdk.wit.imports import fermyon_spin_postgres as pg1

    def plain(value):
        if isinstance(value, bytes):
            return {"bytes": value.decode("latin-1")}
        if hasattr(value, "name") and hasattr(value, "value") and not hasattr(value, "__dataclass_fields__"):
            return value.name  # an enum
        if hasattr(value, "__dataclass_fields__"):
            fields = {name: plain(getattr(value, name)) for name in value.__dataclass_fields__}
            return [type(value).__name__, fields.get("value")] if list(fields) == ["value"] else [type(value).__name__, fields] if fields else [type(value).__name__]
        if isinstance(value, (list, tuple)):
            return [plain(item) for item in value]
        return value

    def describe(error):
        return {"error": type(error.value).__name__, "value": plain(getattr(error.value, "value", None))}

    P = pg
    BOUND = pg.RangeBoundKind
    PARAMS = [
        P.ParameterValue_Boolean(True), P.ParameterValue_Int16(-7), P.ParameterValue_Int32(70000),
        P.ParameterValue_Int64(2**40), P.ParameterValue_Floating32(1.5), P.ParameterValue_Floating64(2.25),
        P.ParameterValue_Str("héllo"), P.ParameterValue_Binary(bytes([0, 1, 255])),
        P.ParameterValue_Date((2024, 2, 29)), P.ParameterValue_Time((13, 14, 15, 123456000)),
        P.ParameterValue_Datetime((2024, 2, 29, 13, 14, 15, 5000)), P.ParameterValue_Timestamp(86400),
        P.ParameterValue_Uuid("12345678-1234-5678-1234-567812345678"), P.ParameterValue_Jsonb(b'{"b": [1, 2], "a": null}'),
        P.ParameterValue_Decimal("123.4500"),
        P.ParameterValue_RangeInt32(((1, BOUND.INCLUSIVE), (5, BOUND.EXCLUSIVE))),
        P.ParameterValue_RangeInt64(((None) , (2**40, BOUND.INCLUSIVE))),
        P.ParameterValue_RangeDecimal((("1.5", BOUND.EXCLUSIVE), None)),
        P.ParameterValue_ArrayInt32([1, None, 3]), P.ParameterValue_ArrayInt64([2**40]),
        P.ParameterValue_ArrayDecimal(["1.10", None]), P.ParameterValue_ArrayStr(["a", None, "c"]),
        P.ParameterValue_Interval(pg.Interval(micros=1500000, days=3, months=14)),
        P.ParameterValue_DbNull(),
    ]
    TABLE = '''CREATE TABLE everything (
        b boolean, i2 smallint, i4 integer, i8 bigint, f4 real, f8 double precision, s text, bin bytea,
        d date, t time, dt timestamp, ts timestamptz, u uuid, j jsonb, dec numeric, r4 int4range, r8 int8range,
        rd numrange, a4 integer[], a8 bigint[], ad numeric[], ast text[], iv interval, n text)'''

    async def types(address):
        with await postgres.Connection.open(address) as db:
            await db.execute("DROP TABLE IF EXISTS everything", [])
            await db.execute(TABLE, [])
            placeholders = ", ".join(f"${i}" for i in range(1, len(PARAMS) + 1))
            inserted = await db.execute(f"INSERT INTO everything VALUES ({placeholders})", PARAMS)
            columns, stream, future = await db.query("SELECT *, point(1, 2) AS p FROM everything", [])
            rows = await util.collect((stream, future))
            return {"inserted": inserted, "columns": [[c.name, plain(c.data_type)] for c in columns], "rows": plain(rows)}

    async def sync_api(address):
        with pg.Connection.open(address) as db:
            db.execute("DROP TABLE IF EXISTS small", [])
            db.execute("CREATE TABLE small (id integer, name text)", [])
            count = db.execute("INSERT INTO small VALUES ($1, $2), ($3, $4)",
                               [P.ParameterValue_Int32(1), P.ParameterValue_Str("one"), P.ParameterValue_Int32(2), P.ParameterValue_DbNull()])
            rowset = db.query("SELECT id, name FROM small WHERE id > $1 ORDER BY id", [P.ParameterValue_Int32(0)])
            empty = db.query("SELECT id FROM small WHERE id < 0", [])
            builder = pg.ConnectionBuilder(address)
            with builder.build() as other:
                built = other.query("SELECT 1 AS one", []).rows
            return {"count": count, "columns": [[c.name, plain(c.data_type)] for c in rowset.columns],
                    "rows": plain(rowset.rows), "empty": [plain(empty.columns), plain(empty.rows)], "built": plain(built)}

    async def errors(address):
        out = {}
        with pg.Connection.open(address) as db:
            for name, work in (
                ("missing_table", lambda: db.query("SELECT * FROM nope", [])),
                ("syntax", lambda: db.execute("SELEC 1", [])),
                ("bad_uuid", lambda: db.query("SELECT $1::uuid", [P.ParameterValue_Uuid("not-a-uuid")])),
                ("bad_date", lambda: db.execute("SELECT $1::date", [P.ParameterValue_Date((2023, 2, 30))])),
            ):
                try:
                    work()
                except Err as error:
                    out[name] = describe(error)
        return out

    async def older(address):
        out = {}
        with pg3.Connection.open(address) as db:
            rowset = db.query("SELECT 1::int2 AS a, 'x'::text AS b, DATE '2024-01-02' AS c, gen_random_uuid() IS NOT NULL AS d, '7'::numeric AS e", [])
            out["pg3"] = [[[c.name, plain(c.data_type)] for c in rowset.columns], plain(rowset.rows)]
        with pg2.Connection.open(address) as db:
            rowset = db.query("SELECT $1::int4 AS a, DATE '2024-01-02' AS c", [rdbms2.ParameterValue_Int32(5)])
            out["pg2"] = [[[c.name, plain(c.data_type)] for c in rowset.columns], plain(rowset.rows)]
            try:
                db.query("SELECT $1", [rdbms2.ParameterValue_Uint8(1)])
            except Err as error:
                out["pg2_unsigned"] = describe(error)
        rowset = pg1.query(address, "SELECT 'v1'::text AS a", [])
        out["pg1"] = plain(rowset.rows)
        try:
            pg1.query(address, "SELECT * FROM nope", [])
        except Err as error:
            out["pg1_error"] = type(error.value).__name__
        return out

    async def open_only(address):
        with await postgres.Connection.open(address):
            return "opened"

    ACTIONS = {"types": types, "sync": sync_api, "errors": errors, "older": older, "open": open_only}

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
def server(tmp_path_factory, postgres_service):
    folder = tmp_path_factory.mktemp("pg5")
    path = write_app(folder / "app", manifest(
        component("web", route="/web/...", world="spin:up/http-trigger@4.0.0",
                  extra=f'allowed_outbound_hosts = ["postgres://127.0.0.1:{postgres_service.port}"]'),
        component("closed", route="/closed/...", world="spin:up/http-trigger@4.0.0"),
    ), {"app.py": APP})
    live = LiveServer(path, "--python", str(sdk5_python()), log_path=folder / "spin-py.log")
    yield live.wait_ready()
    live.stop()


def act(server, component_id, action, address):
    status, _, body = server.request("GET", f"/{component_id}/{action}?{quote(address, safe='')}")
    assert status == 200, body
    return json.loads(body)


def test_every_type_both_ways(server, postgres_service):
    out = act(server, "web", "types", postgres_service.url)
    assert out.get("inserted") == 1, out
    assert out["columns"] == [
        ["b", ["DbDataType_Boolean"]], ["i2", ["DbDataType_Int16"]], ["i4", ["DbDataType_Int32"]],
        ["i8", ["DbDataType_Int64"]], ["f4", ["DbDataType_Floating32"]], ["f8", ["DbDataType_Floating64"]],
        ["s", ["DbDataType_Str"]], ["bin", ["DbDataType_Binary"]], ["d", ["DbDataType_Date"]],
        ["t", ["DbDataType_Time"]], ["dt", ["DbDataType_Datetime"]], ["ts", ["DbDataType_Datetime"]],
        ["u", ["DbDataType_Uuid"]], ["j", ["DbDataType_Jsonb"]], ["dec", ["DbDataType_Decimal"]],
        ["r4", ["DbDataType_RangeInt32"]], ["r8", ["DbDataType_RangeInt64"]], ["rd", ["DbDataType_RangeDecimal"]],
        ["a4", ["DbDataType_ArrayInt32"]], ["a8", ["DbDataType_ArrayInt64"]], ["ad", ["DbDataType_ArrayDecimal"]],
        ["ast", ["DbDataType_ArrayStr"]], ["iv", ["DbDataType_Interval"]], ["n", ["DbDataType_Str"]],
        ["p", ["DbDataType_Other", "point"]],
    ]
    row = out["rows"][0]
    assert row[:-1] == [
        ["DbValue_Boolean", True], ["DbValue_Int16", -7], ["DbValue_Int32", 70000], ["DbValue_Int64", 2**40],
        ["DbValue_Floating32", 1.5], ["DbValue_Floating64", 2.25], ["DbValue_Str", "héllo"],
        ["DbValue_Binary", {"bytes": "\x00\x01\xff"}], ["DbValue_Date", [2024, 2, 29]],
        ["DbValue_Time", [13, 14, 15, 123456000]], ["DbValue_Datetime", [2024, 2, 29, 13, 14, 15, 5000]],
        ["DbValue_Datetime", [1970, 1, 2, 0, 0, 0, 0]], ["DbValue_Uuid", "12345678-1234-5678-1234-567812345678"],
        ["DbValue_Jsonb", {"bytes": '{"a":null,"b":[1,2]}'}], ["DbValue_Decimal", "123.4500"],
        ["DbValue_RangeInt32", [[1, "INCLUSIVE"], [5, "EXCLUSIVE"]]],
        ["DbValue_RangeInt64", [None, [2**40 + 1, "EXCLUSIVE"]]],  # PostgreSQL's canonical form
        ["DbValue_RangeDecimal", [["1.5", "EXCLUSIVE"], None]],
        ["DbValue_ArrayInt32", [1, None, 3]], ["DbValue_ArrayInt64", [2**40]], ["DbValue_ArrayDecimal", ["1.10", None]],
        ["DbValue_ArrayStr", ["a", None, "c"]],
        ["DbValue_Interval", ["Interval", {"micros": 1500000, "days": 3, "months": 14}]],
        ["DbValue_DbNull"],
    ]
    assert row[-1][0] == "DbValue_Unsupported"  # point: the raw binary value, as Spin gives it


def test_sync_methods_builder_and_empty_results(server, postgres_service):
    assert act(server, "web", "sync", postgres_service.url) == {
        "count": 2,
        "columns": [["id", ["DbDataType_Int32"]], ["name", ["DbDataType_Str"]]],
        "rows": [[["DbValue_Int32", 1], ["DbValue_Str", "one"]], [["DbValue_Int32", 2], ["DbValue_DbNull"]]],
        "empty": [[], []],  # Spin takes the columns from the first row
        "built": [[["DbValue_Int32", 1]]],
    }


def test_errors(server, postgres_service):
    out = act(server, "web", "errors", postgres_service.url)
    missing = out["missing_table"]
    assert missing["error"] == "Error_QueryFailed"
    kind, (_, db) = missing["value"]
    assert kind == "QueryError_DbError"
    assert (db["severity"], db["code"], db["message"], db["detail"]) == ("ERROR", "42P01", 'relation "nope" does not exist', None)
    assert db["as_text"].startswith('Error { kind: Db, cause: Some(DbError { severity: "ERROR", parsed_severity: Some(Error), code: SqlState(E42P01), message: "relation \\"nope\\" does not exist"')
    assert ["routine", "parserOpenTable"] in db["extras"]
    assert out["syntax"]["error"] == "Error_QueryFailed" and out["syntax"]["value"][1][1]["code"] == "42601"
    assert out["bad_uuid"] == {"error": "Error_BadParameter", "value": "invalid UUID not-a-uuid"}
    assert out["bad_date"] == {"error": "Error_ValueConversionFailed", "value": "invalid date y=2023, m=2, d=30"}


def test_allowed_and_denied(server, postgres_service):
    assert act(server, "web", "open", postgres_service.url) == "opened"
    port = postgres_service.port
    assert act(server, "closed", "open", postgres_service.url) == {
        "error": "Error_ConnectionFailed", "value": f"address postgres://127.0.0.1:{port} is not permitted"}
    server.wait_for_output(f"disallowed destination 'postgres://127.0.0.1:{port}'.\n"
                           f"To allow this request, add 'allowed_outbound_hosts = [\"postgres://127.0.0.1:{port}\"]'")
    # The key=value form is checked the same way.
    dsn = f"host=127.0.0.1 port={port} user=postgres password=password dbname=spin_dev"
    assert act(server, "web", "open", dsn) == "opened"
    assert act(server, "web", "open", dsn.replace(f"port={port}", "port=1"))["value"] == "address postgres://127.0.0.1:1 is not permitted"
    wrong = act(server, "web", "open", postgres_service.url.replace(":password@", ":wrong@"))
    assert wrong["error"] == "Error_ConnectionFailed" and "password authentication failed" in wrong["value"]


def test_older_interfaces_narrow_values(server, postgres_service):
    assert act(server, "web", "older", postgres_service.url) == {
        "pg3": [[["a", "INT16"], ["b", "STR"], ["c", "DATE"], ["d", "BOOLEAN"], ["e", "OTHER"]],
                [[["DbValue_Int16", 1], ["DbValue_Str", "x"], ["DbValue_Date", [2024, 1, 2]], ["DbValue_Boolean", True],
                  ["DbValue_Unsupported"]]]],
        "pg2": [[["a", "INT32"], ["c", "OTHER"]], [[["DbValue_Int32", 5], ["DbValue_Unsupported"]]]],
        "pg2_unsigned": {"error": "Error_ValueConversionFailed", "value": "Postgres does not support unsigned integers"},
        "pg1": [[["DbValue_Str", "v1"]]],
        "pg1_error": "PgError_QueryFailed",
    }
