"""Outbound MySQL through `spin-py up` against a real MariaDB: spin-sdk 5.0.0's
`spin_sdk.mysql` (spin:mysql@3.0.0, async with a row stream) and spin-sdk
3.4.1's (fermyon:spin/mysql@2.0.0, sync): every parameter and column type the
interfaces define, `?` placeholders, Spin's errors, allowed and denied."""

import json
from urllib.parse import quote

import pytest
from apps import component, manifest, sdk3_python, sdk5_python, write_app
from live import LiveServer

COMMON = """
    def plain(value):
        if isinstance(value, bytes):
            return {"bytes": value.decode("latin-1")}
        if hasattr(value, "name") and hasattr(value, "value") and not hasattr(value, "__dataclass_fields__"):
            return value.name
        if hasattr(value, "__dataclass_fields__"):
            fields = [plain(getattr(value, name)) for name in value.__dataclass_fields__]
            return [type(value).__name__, *fields]
        if isinstance(value, (list, tuple)):
            return [plain(item) for item in value]
        return value

    def describe(error):
        return {"error": type(error.value).__name__, "value": getattr(error.value, "value", None)}

    TABLE = '''CREATE TABLE everything (
        b BOOL, i1 TINYINT, u1 TINYINT UNSIGNED, i2 SMALLINT, u2 SMALLINT UNSIGNED, i4 INT, u4 INT UNSIGNED,
        i8 BIGINT, u8 BIGINT UNSIGNED, f4 FLOAT, f8 DOUBLE, s VARCHAR(20), t TEXT, bin VARBINARY(10), bl BLOB, n INT)'''

    def params(T):
        return [T.ParameterValue_Boolean(True), T.ParameterValue_Int8(-8), T.ParameterValue_Uint8(200),
                T.ParameterValue_Int16(-300), T.ParameterValue_Uint16(60000), T.ParameterValue_Int32(-70000),
                T.ParameterValue_Uint32(4000000000), T.ParameterValue_Int64(-2**40), T.ParameterValue_Uint64(2**63),
                T.ParameterValue_Floating32(1.5), T.ParameterValue_Floating64(2.25), T.ParameterValue_Str("50% 'off'?"),
                T.ParameterValue_Str("text"), T.ParameterValue_Binary(bytes([0, 255])), T.ParameterValue_Binary(b"blob"),
                T.ParameterValue_DbNull()]
    INSERT = "INSERT INTO everything VALUES (" + ", ".join("?" * 16) + ")"
"""

SDK5_APP = """
    import json
    from urllib.parse import unquote
    from componentize_py_types import Err
    from spin_sdk import mysql, util
    from spin_sdk.http import Handler, Request, Response
    from spin_sdk.wit.imports import spin_mysql_mysql_3_0_0 as T
""" + COMMON + """
    async def types(address):
        with await mysql.open(address) as db:
            await db.execute("DROP TABLE IF EXISTS everything", [])
            await db.execute(TABLE, [])
            out = {"execute": await db.execute(INSERT, params(T))}
            columns, stream, future = await db.query("SELECT * FROM everything WHERE s LIKE ?", [T.ParameterValue_Str("50%")])
            out["columns"] = [[c.name, plain(c.data_type)] for c in columns]
            out["rows"] = plain(await util.collect((stream, future)))
            return out

    async def errors(address):
        out = {}
        with await mysql.open(address) as db:
            for name, statement, args in (("missing", "SELECT * FROM nope", []), ("count", "SELECT ?", []),
                                          ("date", "SELECT DATE '2024-01-02' AS d", [])):
                try:
                    columns, stream, future = await db.query(statement, args)
                    await util.collect((stream, future))
                except Err as error:
                    out[name] = describe(error)
        return out

    async def open_only(address):
        with await mysql.open(address):
            return "opened"

    ACTIONS = {"types": types, "errors": errors, "open": open_only}

    class HttpHandler(Handler):
        async def handle_request(self, request: Request) -> Response:
            path, _, query = request.uri.partition("?")
            try:
                out = await ACTIONS[path.split("/")[2]](unquote(query))
            except Err as error:
                out = describe(error)
            return Response(200, {"content-type": "application/json"}, json.dumps(out).encode())
"""

SDK3_APP = """
    import json
    from urllib.parse import unquote
    from spin_sdk import mysql
    from spin_sdk.http import IncomingHandler, Request, Response
    from spin_sdk.wit.imports import rdbms_types as T
    from spin_sdk.wit.types import Err
""" + COMMON + """
    def types(address):
        with mysql.open(address) as db:
            db.execute("DROP TABLE IF EXISTS everything", [])
            db.execute(TABLE, [])
            out = {"execute": db.execute(INSERT, params(T))}
            rowset = db.query("SELECT * FROM everything", [])
            out["columns"] = [[c.name, plain(c.data_type)] for c in rowset.columns]
            out["rows"] = plain(rowset.rows)
            return out

    def open_only(address):
        with mysql.open(address):
            return "opened"

    ACTIONS = {"types": types, "open": open_only}

    class IncomingHandler(IncomingHandler):
        def handle_request(self, request: Request) -> Response:
            path, _, query = request.uri.partition("?")
            try:
                out = ACTIONS[path.split("/")[2]](unquote(query))
            except Err as error:
                out = describe(error)
            return Response(200, {"content-type": "application/json"}, json.dumps(out).encode())
"""


def start(folder, source, world, python, port):
    path = write_app(folder, manifest(
        component("web", route="/web/...", world=world, extra=f'allowed_outbound_hosts = ["mysql://127.0.0.1:{port}"]'),
        component("closed", route="/closed/...", world=world),
    ), {"app.py": source})
    return LiveServer(path, "--python", str(python), log_path=folder / "spin-py.log").wait_ready()


@pytest.fixture(scope="module")
def servers(tmp_path_factory, mariadb_service):
    folder = tmp_path_factory.mktemp("mysql")
    started = {}
    try:
        started["sdk5"] = start(folder / "sdk5", SDK5_APP, "spin:up/http-trigger@4.0.0", sdk5_python(), mariadb_service.port)
        started["sdk3"] = start(folder / "sdk3", SDK3_APP, "spin-http", sdk3_python(), mariadb_service.port)
        yield started
    finally:
        for live in started.values():
            live.stop()


def act(server, component_id, action, address):
    status, _, body = server.request("GET", f"/{component_id}/{action}?{quote(address, safe='')}")
    assert status == 200, body
    return json.loads(body)


COLUMNS = [["b", "INT8"], ["i1", "INT8"], ["u1", "UINT8"], ["i2", "INT16"], ["u2", "UINT16"], ["i4", "INT32"],
           ["u4", "UINT32"], ["i8", "INT64"], ["u8", "UINT64"], ["f4", "FLOATING32"], ["f8", "FLOATING64"],
           ["s", "STR"], ["t", "STR"], ["bin", "BINARY"], ["bl", "BINARY"], ["n", "INT32"]]
ROW = [["DbValue_Int8", 1], ["DbValue_Int8", -8], ["DbValue_Uint8", 200], ["DbValue_Int16", -300],
       ["DbValue_Uint16", 60000], ["DbValue_Int32", -70000], ["DbValue_Uint32", 4000000000],
       ["DbValue_Int64", -2**40], ["DbValue_Uint64", 2**63], ["DbValue_Floating32", 1.5], ["DbValue_Floating64", 2.25],
       ["DbValue_Str", "50% 'off'?"], ["DbValue_Str", "text"], ["DbValue_Binary", {"bytes": "\x00\xff"}],
       ["DbValue_Binary", {"bytes": "blob"}], ["DbValue_DbNull"]]


@pytest.mark.parametrize("sdk", ["sdk5", "sdk3"])
def test_every_type_both_ways(servers, mariadb_service, sdk):
    assert act(servers[sdk], "web", "types", mariadb_service.url) == {"execute": None, "columns": COLUMNS, "rows": [ROW]}


def test_errors(servers, mariadb_service):
    out = act(servers["sdk5"], "web", "errors", mariadb_service.url)
    assert out["missing"]["error"] == "Error_QueryFailed" and "doesn't exist" in out["missing"]["value"]
    assert out["count"] == {"error": "Error_QueryFailed",
                            "value": "DriverError { Statement takes 1 parameters but 0 was supplied }"}
    assert out["date"] == {"error": "Error_ValueConversionFailed",
                           "value": "Cannot convert value Date(2024, 1, 2, 0, 0, 0, 0) in column d data type Other"}


@pytest.mark.parametrize("sdk", ["sdk5", "sdk3"])
def test_allowed_and_denied(servers, mariadb_service, sdk):
    server = servers[sdk]
    assert act(server, "web", "open", mariadb_service.url) == "opened"
    assert act(server, "closed", "open", mariadb_service.url) == {
        "error": "Error_ConnectionFailed", "value": f"address {mariadb_service.url} is not permitted"}
    server.wait_for_output(f"disallowed destination 'mysql://127.0.0.1:{mariadb_service.port}'.")
    wrong = act(server, "web", "open", mariadb_service.url.replace("root:@", "nobody:x@"))
    assert wrong["error"] == "Error_ConnectionFailed" and "Access denied" in wrong["value"]
