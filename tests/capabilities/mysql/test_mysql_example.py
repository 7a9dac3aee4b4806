"""spin-python-sdk's public `spin-mysql` example through `spin-py up` against a
real MariaDB. Copied from spinframework/spin-python-sdk (Apache-2.0), branch main,
`examples/spin-mysql/{app.py,spin.toml}` (requirements.txt: spin-sdk == 4.0.0,
whose `spin_sdk.mysql.open` is synchronous), with only the address changed (it
hard-codes the default port)."""

import time

import pymysql
from apps import sdk4_python, write_app

# examples/spin-mysql/app.py: `127.0.0.1` became `127.0.0.1:PORT`
APP = '''
from spin_sdk import http, mysql
from spin_sdk.http import Request, Response

class HttpHandler(http.Handler):
    async def handle_request(self, request: Request) -> Response:
        with mysql.open("mysql://root:@127.0.0.1:PORT/spin_dev") as db:
            print(db.query("select * from test", []))

        return Response(
            200,
            {"content-type": "text/plain"},
            bytes("Hello from Python!", "utf-8")
        )
'''

# examples/spin-mysql/spin.toml (unchanged)
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


def test_spin_mysql_example(tmp_path, spin_up, mariadb_service):
    db = pymysql.connect(host="127.0.0.1", port=mariadb_service.port, user="root", password="", database="spin_dev",
                         autocommit=True)
    with db.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS test")
        cursor.execute("CREATE TABLE test (id INT, name VARCHAR(10))")
        cursor.execute("INSERT INTO test VALUES (1, 'one')")
    db.close()
    path = write_app(tmp_path, MANIFEST, {"app.py": APP.replace("PORT", str(mariadb_service.port))})
    server = spin_up(path, "--python", str(sdk4_python()))
    status, _, body = server.get("/")
    assert (status, body) == (200, b"Hello from Python!")
    log = tmp_path / ".spin" / "logs" / "test_stdout.txt"
    deadline = time.monotonic() + 10
    while "RowSet" not in log.read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert log.read_text().splitlines()[-1] == (
        "RowSet(columns=[Column(name='id', data_type=<DbDataType.INT32: 3>), "
        "Column(name='name', data_type=<DbDataType.STR: 11>)], "
        "rows=[[DbValue_Int32(value=1), DbValue_Str(value='one')]])"
    )
