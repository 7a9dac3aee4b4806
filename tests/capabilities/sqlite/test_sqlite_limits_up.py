"""A SQLite host call belongs to its request, end to end through `spin-py up`: a
component's endless query ends with the request's --request-timeout, or when its
client leaves, and the database's turn is free for the next request at once (the
query would hold it, and a core, forever)."""

import contextlib
import socket
import sqlite3
import time

from apps import component, manifest, sdk3_python, write_app

ENDLESS_APP = """
    from spin_sdk import sqlite
    from spin_sdk.http import IncomingHandler, Request, Response

    ENDLESS = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT count(*) FROM c"

    class IncomingHandler(IncomingHandler):
        def handle_request(self, request: Request) -> Response:
            with sqlite.open_default() as db:
                if request.uri.startswith("/endless"):
                    db.execute("CREATE TABLE IF NOT EXISTS started (at)", [])
                    db.execute("INSERT INTO started VALUES (1)", [])
                    db.execute(ENDLESS, [])
                    return Response(200, {"content-type": "text/plain"}, b"the endless query ended")
                answer = db.execute("SELECT 41 + 1", []).rows[0].values[0].value
                return Response(200, {"content-type": "text/plain"}, str(answer).encode())
"""

PROMPT = 5.0  # seconds: the most the next request may take once the first one has ended


def serve(tmp_path, spin_up, timeout):
    path = write_app(tmp_path / "app", manifest(component("db", route="/...", extra='sqlite_databases = ["default"]')),
                     {"app.py": ENDLESS_APP})
    return spin_up(path, "--python", str(sdk3_python()), "--request-timeout", str(timeout)), tmp_path / "app"


def quick_answer(server):
    started = time.monotonic()
    status, _, body = server.get("/quick", timeout=PROMPT * 3)
    took = time.monotonic() - started
    assert (status, body) == (200, b"42")
    assert took < PROMPT, f"the next request waited {took:.1f} s for the database"


def test_the_request_timeout_ends_an_endless_query_and_frees_the_database(tmp_path, spin_up):
    server, _ = serve(tmp_path, spin_up, 2)
    started = time.monotonic()
    status, _, _ = server.get("/endless", timeout=20)
    took = time.monotonic() - started
    assert status >= 500 and took < 2 + PROMPT, (status, took)
    quick_answer(server)


def test_a_client_that_leaves_ends_an_endless_query_and_frees_the_database(tmp_path, spin_up):
    server, folder = serve(tmp_path, spin_up, 300)
    client = socket.create_connection(("127.0.0.1", server.port))
    client.sendall(b"GET /endless HTTP/1.1\r\nHost: app\r\nConnection: close\r\n\r\n")
    # The handler notes it started before its query; then the client leaves.
    database = folder / ".spin" / "sqlite_db.db"
    deadline = time.monotonic() + 30
    while not _started(database):
        assert time.monotonic() < deadline, "the handler never started its query"
        time.sleep(0.05)
    client.close()
    quick_answer(server)


def _started(database) -> bool:
    if not database.exists():
        return False
    with contextlib.closing(sqlite3.connect(database, timeout=0.1)) as db:
        try:
            return db.execute("SELECT count(*) FROM started").fetchone()[0] > 0
        except sqlite3.OperationalError:  # no table yet, or the file is busy
            return False
