"""spin-python-sdk's own SQLite examples, copied unchanged into data/ (Apache-2.0;
each file names where it comes from), served by `spin-py up` as `spin up` would.

- old-sdk `examples/sqlite` (the original API): its README runs it with
  `--sqlite @migration.sql`; the query then finds no todo past id 1.
- main `examples/spin-sqlite` (spin-sdk 4.0.0): its README shows `[]`, which is
  what the app answered before it became async; the app now inserts two rows,
  selects `id > 0` and asserts it got one, so under Spin its own assertion fails
  and the request fails. spin-py answers the same failure (a 500, with the
  assertion in the body, as spin-py does for any handler that raises).
"""

import contextlib
import shutil
import sqlite3
import sys
from pathlib import Path

from apps import sdk4_python
from live import LiveServer

DATA = Path(__file__).resolve().parent / "data"


def serve(example, tmp_path, *flags):
    folder = tmp_path / example
    shutil.copytree(DATA / example, folder)
    server = LiveServer(folder / "spin.toml", "--no-watch", *flags, log_path=tmp_path / f"{example}.log")
    try:
        return folder, server.wait_ready(timeout=60)
    except Exception:
        server.stop()
        raise


def test_old_sdk_sqlite_example_with_its_migration(tmp_path):
    folder, server = serve(
        "old-sdk-sqlite", tmp_path, "--python", sys.executable,
        "--sqlite", f"@{tmp_path}/old-sdk-sqlite/migration.sql",
        "--sqlite", "INSERT INTO todos (description, starred) VALUES ('first', 1), ('second', 0)",
    )
    try:
        status, headers, body = server.get("/")
        assert (status, headers["content-type"]) == (200, "application/json")
        assert body == b"[[2, 'second', None, 0, 0]]"
        assert f'Storing default SQLite data to "{folder}/.spin/sqlite_db.db".' in server.output()
    finally:
        server.stop()


def test_old_sdk_sqlite_example_fresh_from_its_readme(tmp_path):
    _, server = serve("old-sdk-sqlite", tmp_path, "--python", sys.executable,
                      "--sqlite", f"@{tmp_path}/old-sdk-sqlite/migration.sql")
    try:
        assert server.get("/")[::2] == (200, b"[]")
    finally:
        server.stop()


def test_spin_sqlite_example_fails_its_own_assertion_as_under_spin(tmp_path):
    folder, server = serve("spin-sqlite", tmp_path, "--python", str(sdk4_python()))
    try:
        status, _, body = server.get("/")
        assert status == 500
        assert b"assert len(rows) == 1" in body and b"AssertionError" in body
    finally:
        server.stop()
    # Everything before the assertion ran, as it would under Spin: the table holds both rows.
    with contextlib.closing(sqlite3.connect(folder / ".spin" / "sqlite_db.db")) as db:
        assert db.execute("SELECT id, value FROM example ORDER BY id").fetchall() == [(1, "foo"), (2, "bar")]
