"""The store browser over real HTTP on loopback, mounted under /stores as the inspector mounts it,
reading a real key-value store file and a real SQLite database through the capabilities' own
objects; statements that would write are refused and the file stays as it was."""

import json
import sqlite3
import threading
import urllib.error
import urllib.parse
import urllib.request
from types import SimpleNamespace

import pytest
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.serving import make_server

from spin_py.capabilities.key_value import KeyValueApp
from spin_py.capabilities.key_value.sqlite_store import SqliteStoreManager
from spin_py.capabilities.sqlite import SqliteAppCapability
from spin_py.capabilities.sqlite.databases import Database
from spin_py.stores_browser import StoresBrowser
from spin_py.stores_browser.api import REFUSED_TEXT

BIG = b"x" * 5000


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    folder = tmp_path_factory.mktemp("stores")
    manager = SqliteStoreManager(folder / "sqlite_key_value.db")
    store = manager.store("default")
    store.set("greeting", "héllo".encode())
    store.set("binary", b"\xff\x00\x01")
    store.set("big", BIG)
    store.set("other:key", b"1")
    database = folder / "sqlite_db.db"
    with sqlite3.connect(database) as db:
        db.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT, data BLOB)")
        db.executemany("INSERT INTO notes (body, data) VALUES (?, ?)", [("first", b"\x00\x01"), ("second", None)])
        db.execute("CREATE VIEW bodies AS SELECT body FROM notes")
    capabilities = {
        "key_value": KeyValueApp({"web": frozenset({"default"}), "worker": frozenset()}, {"default": manager}),
        "sqlite": SqliteAppCapability({"web": frozenset({"default", "scratch"}), "worker": frozenset()},
                                      {"default": Database("default", database), "scratch": Database("scratch", None)}),
    }
    runtime = SimpleNamespace(capabilities=capabilities)
    app = DispatcherMiddleware(lambda environ, start: [], {
        "/stores": StoresBrowser(lambda: runtime),
        "/worker": StoresBrowser(lambda: runtime, component="worker"),
    })
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield SimpleNamespace(url=f"http://127.0.0.1:{server.server_port}", database=database)
    finally:
        server.shutdown()
        manager.close()


def call(served, path, body=None):
    """(status, decoded JSON or the page's text)."""
    request = urllib.request.Request(served.url + path, data=json.dumps(body).encode() if body is not None else None,
                                     headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status, raw, kind = response.status, response.read(), response.headers["content-type"]
    except urllib.error.HTTPError as error:
        status, raw, kind = error.code, error.read(), error.headers["content-type"]
    return status, json.loads(raw) if kind == "application/json" else raw.decode()


def test_the_page_finds_its_api_under_the_mount(served):
    status, page = call(served, "/stores/")
    assert status == 200 and '"api": "/stores/api"' in page and "<script>" in page


def test_stores_lists_what_the_components_use(served):
    status, stores = call(served, "/stores/api/stores")
    assert status == 200
    assert [(s["label"], s["components"]) for s in stores["key_value"]] == [("default", ["web"])]
    assert stores["key_value"][0]["location"].endswith('sqlite_key_value.db"')
    assert [(d["label"], d["browsable"]) for d in stores["sqlite"]] == [("default", True), ("scratch", False)]
    assert call(served, "/worker/api/stores") == (200, {"key_value": [], "sqlite": []})
    status, answer = call(served, "/worker/api/kv/default")
    assert status == 404 and answer["error"] == "no key-value store 'default' for component 'worker'"


def test_keys_with_values_cut_at_a_size(served):
    status, listed = call(served, "/stores/api/kv/default")
    assert status == 200 and (listed["total"], listed["more"]) == (4, False)
    rows = {row["key"]: row for row in listed["keys"]}
    assert list(rows) == ["big", "binary", "greeting", "other:key"]
    assert rows["greeting"] == {"key": "greeting", "size": 6, "value": "héllo", "encoding": "utf-8", "truncated": False}
    assert (rows["binary"]["value"], rows["binary"]["encoding"]) == ("/wAB", "base64")
    assert (rows["big"]["size"], len(rows["big"]["value"]), rows["big"]["truncated"]) == (5000, 4096, True)
    status, listed = call(served, "/stores/api/kv/default?prefix=other&limit=5")
    assert [row["key"] for row in listed["keys"]] == ["other:key"]
    status, listed = call(served, "/stores/api/kv/default?limit=1")
    assert (listed["total"], listed["more"], len(listed["keys"])) == (4, True, 1)
    assert call(served, "/stores/api/kv/default/key?key=" + urllib.parse.quote("other:key"))[1]["value"] == "1"
    assert call(served, "/stores/api/kv/default/key?key=nope")[0] == 404
    assert call(served, "/stores/api/kv/nope")[0] == 404


def test_tables_and_a_read_only_query(served):
    status, found = call(served, "/stores/api/sqlite/default")
    assert status == 200
    tables = {table["name"]: table for table in found["tables"]}
    assert (tables["notes"]["rows"], tables["bodies"]["type"], tables["bodies"]["rows"]) == (2, "view", None)
    assert [column["name"] for column in tables["notes"]["columns"]] == ["id", "body", "data"]
    status, answer = call(served, "/stores/api/sqlite/default/query", {"sql": "SELECT body, data FROM notes ORDER BY id"})
    assert status == 200 and answer["columns"] == ["body", "data"] and answer["truncated"] is False
    assert answer["rows"] == [["first", {"$bytes": "AAE=", "size": 2, "truncated": False}], ["second", None]]
    status, answer = call(served, "/stores/api/sqlite/default/query", {"sql": "SELECT * FROM notes", "limit": 1})
    assert (len(answer["rows"]), answer["truncated"]) == (1, True)
    assert call(served, "/stores/api/sqlite/default/query?sql=" + urllib.parse.quote("PRAGMA table_info(notes)"))[0] == 200


@pytest.mark.parametrize("sql", [
    "INSERT INTO notes (body) VALUES ('third')",
    "UPDATE notes SET body = 'changed'",
    "DELETE FROM notes",
    "DROP TABLE notes",
    "CREATE TABLE more (x)",
    "PRAGMA user_version = 7",
    "ATTACH DATABASE 'elsewhere.db' AS elsewhere",
    "WITH doomed AS (SELECT id FROM notes) DELETE FROM notes WHERE id IN doomed",
])
def test_statements_that_write_are_refused_and_change_nothing(served, sql):
    assert call(served, "/stores/api/sqlite/default/query", {"sql": sql}) == (400, {"error": REFUSED_TEXT})
    with sqlite3.connect(served.database) as db:
        assert db.execute("SELECT group_concat(body) FROM notes").fetchone()[0] == "first,second"
        assert db.execute("PRAGMA user_version").fetchone()[0] == 0
        assert db.execute("SELECT count(*) FROM sqlite_schema").fetchone()[0] == 2


def test_other_query_mistakes_are_one_line(served):
    status, answer = call(served, "/stores/api/sqlite/default/query", {"sql": "SELECT 1; SELECT 2"})
    assert status == 400 and "one statement" in answer["error"]
    status, answer = call(served, "/stores/api/sqlite/default/query", {"sql": "SELECT * FROM nowhere"})
    assert status == 400 and answer["error"] == "OperationalError: no such table: nowhere"
    status, answer = call(served, "/stores/api/sqlite/scratch")
    assert status == 404 and "in memory" in answer["error"]
    assert call(served, "/stores/api/sqlite/default/query", {"sql": ""})[0] == 400


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


@pytest.mark.live  # it starts Chromium
def test_the_page_in_a_browser_shows_keys_tables_and_a_refused_write(served):
    from playwright.sync_api import expect, sync_playwright
    from servers import ensure_debian_package

    ensure_debian_package("chromium", "chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(served.url + "/stores/")
            expect(page.locator('#keys tr[data-key="greeting"]')).to_contain_text("héllo")
            expect(page.locator('#keys tr[data-key="big"]')).to_contain_text("cut at 4096 of 5000 bytes")
            # Optional parts of the view (the editor, the "more keys" note) left out, not written as "null".
            expect(page.locator("#view")).not_to_contain_text("null")
            page.locator('nav button[data-label="default"]').nth(1).click()  # the SQLite database of that name
            page.get_by_role("button", name="Run (read-only)").click()
            expect(page.locator("#result")).to_contain_text("second")
            page.get_by_label("SQL query").fill("DELETE FROM notes")
            page.get_by_role("button", name="Run (read-only)").click()
            expect(page.get_by_role("alert")).to_have_text(REFUSED_TEXT)
        finally:
            browser.close()
