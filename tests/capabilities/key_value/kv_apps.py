"""Shared pieces of the key-value tests: manifests, runtime config, reading Spin's table."""

import json
import sqlite3
import textwrap
from pathlib import Path

from apps import component, manifest, write_app

# Three components on one app module: both directions of `key_value_stores`.
COMPONENTS = (
    ("kv", '["default", "other"]'),
    ("nokv", None),
    ("otheronly", '["other"]'),
)
RUNTIME_CONFIG = """
    [key_value_store.other]
    type = "spin"
    path = "data/other.db"
"""


def write_kv_app(folder, source, world="spin-http", components=COMPONENTS, runtime_config=RUNTIME_CONFIG):
    """The app, and its runtime config file when given; returns (manifest path, runtime config path or None)."""
    parts = [
        component(cid, route=f"/{cid}/...", world=world, extra=f"key_value_stores = {stores}" if stores else "")
        for cid, stores in components
    ]
    path = write_app(folder, manifest(*parts), {"app.py": source})
    config = None
    if runtime_config is not None:
        config = Path(folder) / "runtime-config.toml"
        config.write_text(textwrap.dedent(runtime_config).lstrip())
    return path, config


def get_json(server, path, method="GET", body=None):
    status, _, payload = server.request(method, path, body=body)
    assert status == 200, payload
    return json.loads(payload)


def spin_rows(db_path, store=None):
    """{(store, key): value} read back with Spin's schema, through Python's sqlite3."""
    with sqlite3.connect(db_path) as db:
        rows = db.execute("SELECT store, key, value FROM spin_key_value").fetchall()
    return {(s, k): bytes(v) for s, k, v in rows if store is None or s == store}


def spin_schema(db_path):
    with sqlite3.connect(db_path) as db:
        return db.execute("SELECT sql FROM sqlite_master WHERE name = 'spin_key_value'").fetchone()[0]
