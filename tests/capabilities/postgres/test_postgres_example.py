"""spin-python-sdk's public `spin-postgres` example through `spin-py up` against
a real PostgreSQL. Copied from spinframework/spin-python-sdk (Apache-2.0), branch
main, `examples/spin-postgres/{app.py,spin.toml}` (requirements.txt: spin-sdk ==
4.0.0), with only the connection string's address changed (it hard-codes the
default port)."""

import psycopg
from apps import sdk4_python, write_app

# examples/spin-postgres/app.py: `host=localhost` became `host=localhost port=PORT`
APP = '''
from spin_sdk import http, postgres, util
from spin_sdk.http import Request, Response
from spin_sdk.postgres import Connection, RowSet, DbValue

def format_value(db_value: DbValue) -> str:
    if hasattr(db_value, "value"):
        return str(db_value.value)
    return "NULL"

def format_rowset(rowset: RowSet) -> str:
    lines = []
    col_names = [col.name for col in rowset.columns]
    lines.append(" | ".join(col_names))
    lines.append("-" * len(lines[0]))
    for row in rowset.rows:
        values = [format_value(v) for v in row]
        lines.append(" | ".join(values))
    return "\\n".join(lines)

class HttpHandler(http.Handler):
    async def handle_request(self, request: Request) -> Response:
        with await Connection.open("user=postgres dbname=spin_dev host=localhost port=PORT sslmode=disable password=password") as db:
            columns, stream, future = await db.query("SELECT * FROM test", [])
            rows = await util.collect((stream, future))
            rowset = RowSet(columns, list(rows))
            result = format_rowset(rowset)

        return Response(200, {"content-type": "text/plain"}, bytes(result, "utf-8"))
'''

# examples/spin-postgres/spin.toml (unchanged)
MANIFEST = '''
spin_manifest_version = 2

[application]
name = "test"
version = "0.1.0"
authors = ["Spin Framework Contributors"]
description = ""

[[trigger.http]]
route = "/..."
component = "test"

[component.test]
source = "app.wasm"
allowed_outbound_hosts = ["*://*:*"]
[component.test.build]
command = "componentize-py -w spin:up/http-trigger@4.0.0 componentize app -o app.wasm"
'''


def test_spin_postgres_example(tmp_path, spin_up, postgres_service):
    with psycopg.connect(postgres_service.url.replace("postgres://", "postgresql://"), autocommit=True) as db:
        db.execute("DROP TABLE IF EXISTS test")
        db.execute("CREATE TABLE test (id integer, name text, note text)")
        db.execute("INSERT INTO test VALUES (1, 'one', NULL), (2, 'two', 'x')")
    path = write_app(tmp_path, MANIFEST, {"app.py": APP.replace("PORT", str(postgres_service.port))})
    server = spin_up(path, "--python", str(sdk4_python()))
    status, _, body = server.get("/")
    assert status == 200, body
    assert body.decode() == "id | name | note\n----------------\n1 | one | NULL\n2 | two | x"
