"""Apps that use Spin's SQLite through each API generation, for test_sqlite_live.py.

Each answers JSON describing what it saw, with values tagged by the SDK type
they came back as, so a test checks the types as well as the values.
"""

# spin-sdk 3.x (the 2.x/3.x `spin_sdk.sqlite` API, and spin:sqlite@3.0.0 for last_insert_rowid / changes).
SDK3_APP = r'''
import json
from spin_sdk import sqlite
from spin_sdk.http import IncomingHandler, Request, Response
from spin_sdk.sqlite import Value_Integer, Value_Real, Value_Text, Value_Blob
from spin_sdk.wit.imports.sqlite import Value_Null
from spin_sdk.wit.imports import spin_sqlite_sqlite as v3
from spin_sdk.wit.types import Err


def tagged(value):
    payload = getattr(value, "value", None)
    if isinstance(payload, bytes):
        payload = payload.hex()
    return [type(value).__name__, payload]


def error(call):
    try:
        call()
    except Err as err:
        return [type(err.value).__name__, getattr(err.value, "value", None)]
    return None


class IncomingHandler(IncomingHandler):
    def handle_request(self, request: Request) -> Response:
        path = request.uri.split("?")[0].removeprefix("/reports")
        if path == "/roundtrip":
            with sqlite.open_default() as db:
                db.execute("CREATE TABLE IF NOT EXISTS v (i INTEGER, r REAL, t TEXT, b BLOB, n)", [])
                db.execute("DELETE FROM v", [])
                db.execute("INSERT INTO v VALUES (?, ?, ?, ?, ?)", [
                    Value_Integer(9223372036854775807), Value_Real(-2.5e-300), Value_Text("naïve ✓ \"q\""),
                    Value_Blob(bytes(range(256))), Value_Null()])
                db.execute("INSERT INTO v VALUES (?, ?, ?, ?, ?)", [
                    Value_Integer(-9223372036854775808), Value_Real(0.1), Value_Text(""), Value_Blob(b""), Value_Null()])
                result = db.execute("SELECT * FROM v ORDER BY i DESC", [])
            body = {"columns": result.columns, "rows": [[tagged(v) for v in row.values] for row in result.rows]}
        elif path == "/errors":
            db = sqlite.open_default()
            body = {
                "denied": error(lambda: sqlite.open("orders")),
                "syntax": error(lambda: db.execute("SELEC 1", [])),
                "no_table": error(lambda: db.execute("SELECT * FROM missing", [])),
                "params": error(lambda: db.execute("SELECT ?", [])),
            }
            db.__exit__(None, None, None)
            body["closed"] = error(lambda: db.execute("SELECT 1", []))
        elif path == "/v3":
            with v3.Connection.open("default") as db:
                db.execute("CREATE TABLE IF NOT EXISTS counted (id INTEGER PRIMARY KEY, v)", [])
                db.execute("INSERT INTO counted (v) VALUES (?), (?)", [v3.Value_Text("a"), v3.Value_Text("b")])
                body = {"changes": db.changes(), "rowid": db.last_insert_rowid()}
        elif path == "/hit":
            with sqlite.open_default() as db:
                db.execute("CREATE TABLE IF NOT EXISTS hits (n INTEGER)", [])
                db.execute("INSERT INTO hits VALUES (1)", [])
            body = "ok"
        elif path.startswith("/select/"):
            label = path.removeprefix("/select/")
            with sqlite.open(label) as db:
                result = db.execute(request.body.decode(), [])
            body = {"columns": result.columns, "rows": [[tagged(v) for v in row.values] for row in result.rows]}
        else:
            return Response(404, {}, b"")
        return Response(200, {"content-type": "application/json"}, json.dumps(body).encode())
'''

# A component of the same app that may use no database at all.
SDK3_DENIED = r'''
import json
from spin_sdk import sqlite
from spin_sdk.http import IncomingHandler, Request, Response
from spin_sdk.wit.types import Err


class IncomingHandler(IncomingHandler):
    def handle_request(self, request: Request) -> Response:
        try:
            sqlite.open_default()
        except Err as err:
            return Response(403, {}, repr(err.value).encode())
        return Response(200, {}, b"opened")
'''

# spin-sdk 5.x: the async spin_sdk.sqlite API, and the older interfaces it still ships.
SDK5_APP = r'''
import json
from spin_sdk import http
from spin_sdk.http import Request, Response
from spin_sdk.sqlite import Connection, Value_Integer, Value_Real, Value_Text, Value_Blob
from spin_sdk.util import collect
from spin_sdk.wit.imports.spin_sqlite_sqlite_3_1_0 import Value_Null
from spin_sdk.wit.imports import fermyon_spin_sqlite as v1, fermyon_spin_sqlite_2_0_0 as v2
from componentize_py_types import Err


def tagged(value):
    payload = getattr(value, "value", None)
    if isinstance(payload, bytes):
        payload = payload.hex()
    return [type(value).__name__, payload]


async def error(awaitable):
    try:
        await awaitable
    except Err as err:
        return [type(err.value).__name__, getattr(err.value, "value", None)]
    return None


class HttpHandler(http.Handler):
    async def handle_request(self, request: Request) -> Response:
        path = request.uri.split("?")[0]
        if path == "/roundtrip":
            with await Connection.open_default() as db:
                _, rows, result = await db.execute("CREATE TABLE IF NOT EXISTS v (i INTEGER, r REAL, t TEXT, b BLOB, n)", [])
                await collect((rows, result))
                _, rows, result = await db.execute("DELETE FROM v", [])
                await collect((rows, result))
                _, rows, result = await db.execute("INSERT INTO v VALUES (?, ?, ?, ?, ?), (?, ?, ?, ?, ?)", [
                    Value_Integer(9223372036854775807), Value_Real(-2.5e-300), Value_Text("naïve ✓ \"q\""),
                    Value_Blob(bytes(range(256))), Value_Null(),
                    Value_Integer(-9223372036854775808), Value_Real(0.1), Value_Text(""), Value_Blob(b""), Value_Null()])
                await collect((rows, result))
                counts = {"changes": await db.changes(), "rowid": await db.last_insert_rowid()}
                columns, rows, result = await db.execute("SELECT * FROM v ORDER BY i DESC", [])
                # Read the stream in small pieces, as an app may.
                seen = []
                with rows, result:
                    while not rows.writer_dropped:
                        seen += await rows.read(1)
                    outcome = await result.read()
            body = {"columns": columns, "rows": [[tagged(v) for v in row.values] for row in seen],
                    "outcome": type(outcome).__name__, **counts}
        elif path == "/errors":
            db = await Connection.open_default()
            columns, rows, result = await db.execute("SELEC 1", [])
            body = {
                "denied": await error(Connection.open("orders")),
                "syntax_columns": columns,
                "syntax": await error(collect((rows, result))),
                "params": await error(collect((await db.execute("SELECT ?", []))[1:])),
            }
            db.__exit__(None, None, None)
            body["closed"] = await error(db.execute("SELECT 1", []))
        elif path == "/older":
            handle = v1.open("default")
            v1.execute(handle, "CREATE TABLE IF NOT EXISTS older (v)", [])
            v1.execute(handle, "INSERT INTO older VALUES (?)", [v1.Value_Blob(b"\x00v1")])
            first = v1.execute(handle, "SELECT v FROM older", [])
            v1.close(handle)
            with v2.Connection.open("default") as db:
                second = db.execute("SELECT count(*) AS n FROM older", [])
            try:
                v1.open("orders")
                denied = None
            except Err as err:
                denied = type(err.value).__name__
            body = {"v1": [[tagged(v) for v in row.values] for row in first.rows],
                    "v2": [second.columns, [[tagged(v) for v in row.values] for row in second.rows]],
                    "denied": denied}
        else:
            return Response(404, {}, b"")
        return Response(200, {"content-type": "application/json"}, json.dumps(body).encode())
'''

# The original API (spin-python-sdk's old-sdk branch): spin_sqlite.
ORIGINAL_APP = r'''
import json
from spin_http import Response
from spin_sqlite import sqlite_open, sqlite_open_default


def failure(call):
    try:
        call()
    except AssertionError as error:
        return [type(error).__name__, str(error)]
    return None


def handle_request(request):
    if request.uri == "/roundtrip":
        conn = sqlite_open_default()
        conn.execute("CREATE TABLE IF NOT EXISTS o (a, b, c, d, e, f, g)", [])
        conn.execute("DELETE FROM o", [])
        conn.execute("INSERT INTO o VALUES (?, ?, ?, ?, ?, ?, ?)",
                     [9223372036854775807, 1.25, "text ✓", b"\x00\xffblob", None, True, 2 ** 70])
        result = conn.execute("SELECT a, b, c, d, e, f, g, typeof(g) FROM o", [])
        body = {"columns": result.columns(),
                "rows": [[[type(v).__name__, v] for v in row] for row in result.rows()]}
    elif request.uri == "/errors":
        conn = sqlite_open_default()
        body = {
            "denied": failure(lambda: sqlite_open("orders")),
            "syntax": failure(lambda: conn.execute("SELEC 1", [])),
            "quoted": failure(lambda: conn.execute("SELECT * FROM \"we\\ird\"", [])),
            "parameter": failure(lambda: conn.execute("SELECT ?", [[1]])),
        }
    else:
        return Response(404, {}, b"")
    return Response(200, {"content-type": "application/json"}, bytes(json.dumps(body), "utf-8"))
'''
