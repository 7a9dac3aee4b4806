"""What the store browser reads: an app's key-value stores and SQLite databases, straight from
the configured capabilities (``runtime.capabilities["key_value"]`` and ``["sqlite"]``), never
through a component's instance, so browsing records no host call and needs no permission.

Everything it answers is bounded: values cut at ``value_limit`` bytes, listings at ``key_limit``
keys, queries at ``row_limit`` rows and QUERY_SECONDS. SQLite is read only: the file is opened as
``file:...?mode=ro`` with ``PRAGMA query_only``, and an authorizer denies every action that would
write before the statement runs (``ReadOnlyRefused``).
"""

import base64
import sqlite3
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import quote

VALUE_LIMIT = 4096
KEY_LIMIT = 1000
ROW_LIMIT = 500
QUERY_SECONDS = 5.0
_BATCH = 100  # values read from a store at once

REFUSED_TEXT = ("refused: the store browser runs read-only statements (SELECT, EXPLAIN, read-only PRAGMA); "
                "this one would write")


class BrowseError(Exception):
    """One line for the page, with the HTTP status it is answered with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class ReadOnlyRefused(BrowseError):
    """A statement that would write (or attach, or change a setting): refused before it runs."""

    def __init__(self) -> None:
        super().__init__(400, REFUSED_TEXT)


def _capability(runtime: Any, name: str) -> Any:
    return (getattr(runtime, "capabilities", None) or {}).get(name)


def _labels(allowed: dict, component: str | None) -> dict[str, list[str]]:
    """{label: [component ids that list it]}: every component's, or only ``component``'s."""
    found: dict[str, list[str]] = {}
    for component_id, labels in sorted(allowed.items()):
        if component is not None and component_id != component:
            continue
        for label in labels:
            found.setdefault(label, []).append(component_id)
    return dict(sorted(found.items()))


def list_stores(runtime: Any, component: str | None = None) -> dict:
    """``{"key_value": [...], "sqlite": [...]}``: the labels the app's components (or one) list."""
    key_value, sqlite = _capability(runtime, "key_value"), _capability(runtime, "sqlite")
    stores = []
    if key_value is not None:
        for label, users in _labels(key_value.allowed, component).items():
            manager = key_value.managers.get(label)
            stores.append({"label": label, "location": manager.summary() if manager else None, "components": users})
    databases = []
    if sqlite is not None:
        for label, users in _labels(sqlite.allowed, component).items():
            database = sqlite.databases.get(label)
            databases.append({
                "label": label, "location": database.summary() if database else None, "components": users,
                "browsable": bool(database is not None and database.path is not None),
            })
    return {"key_value": stores, "sqlite": databases}


def _store(runtime: Any, label: str, component: str | None) -> Any:
    key_value = _capability(runtime, "key_value")
    if key_value is None or label not in _labels(key_value.allowed, component) or label not in key_value.managers:
        raise BrowseError(404, f"no key-value store {label!r}" + (f" for component {component!r}" if component else ""))
    return key_value.managers[label].store(label)


def describe_value(value: bytes, limit: int = VALUE_LIMIT) -> dict:
    """A value as the page shows it: UTF-8 text when it is that, else base64; cut at ``limit`` bytes."""
    cut = value[:limit]
    try:
        text = cut.decode("utf-8")
        encoding = "utf-8"
    except UnicodeDecodeError as error:
        if len(value) > limit and error.start >= len(cut) - 3:  # the cut split a character
            text, encoding = cut[: error.start].decode("utf-8"), "utf-8"
        else:
            text, encoding = base64.b64encode(cut).decode("ascii"), "base64"
    return {"size": len(value), "value": text, "encoding": encoding, "truncated": len(value) > limit}


def _failed(error: Exception) -> BrowseError:
    return BrowseError(500, f"the store failed: {getattr(error, 'message', '') or error}")


def kv_keys(runtime: Any, label: str, component: str | None = None, prefix: str = "",
            limit: int = KEY_LIMIT, value_limit: int = VALUE_LIMIT) -> dict:
    """The store's keys (sorted, those starting with ``prefix``, at most ``limit``) with their values."""
    store = _store(runtime, label, component)
    try:
        keys = sorted(key for key in store.get_keys() if key.startswith(prefix))
        shown = keys[: max(0, limit)]
        values: dict[str, bytes] = {}
        for start in range(0, len(shown), _BATCH):
            values.update((k, v) for k, v in store.get_many(shown[start : start + _BATCH]) if v is not None)
    except Exception as error:  # a backend's failure (I/O, Redis down) is the page's one line
        raise _failed(error) from None
    listed = [{"key": key, **describe_value(values[key], value_limit)} for key in shown if key in values]
    return {"store": label, "total": len(keys), "more": len(keys) > len(shown), "keys": listed}


def kv_value(runtime: Any, label: str, key: str, component: str | None = None, value_limit: int = VALUE_LIMIT) -> dict:
    store = _store(runtime, label, component)
    try:
        value = store.get(key)
    except Exception as error:
        raise _failed(error) from None
    if value is None:
        raise BrowseError(404, f"no key {key!r} in store {label!r}")
    return {"store": label, "key": key, **describe_value(value, value_limit)}


# --- SQLite -----------------------------------------------------------------------------------

# What a read-only statement may do (sqlite3's authorizer action codes); anything else is refused.
_READ_ACTIONS = frozenset({sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_FUNCTION,
                           sqlite3.SQLITE_RECURSIVE, sqlite3.SQLITE_PRAGMA})
# PRAGMAs that only read (with no argument): table_info and friends, and the settings a reader wants.
_READ_PRAGMAS = frozenset({
    "table_info", "table_xinfo", "table_list", "index_list", "index_info", "index_xinfo", "foreign_key_list",
    "database_list", "collation_list", "function_list", "module_list", "pragma_list", "compile_options",
    "page_count", "page_size", "freelist_count", "user_version", "application_id", "schema_version",
    "encoding", "journal_mode", "foreign_keys", "integrity_check", "quick_check", "data_version",
})
# Pragmas that take their argument as a name to look up, not a value to set.
_ARGUMENT_PRAGMAS = frozenset({"table_info", "table_xinfo", "index_list", "index_info", "index_xinfo",
                               "foreign_key_list", "integrity_check", "quick_check", "table_list"})


class _Guard:
    """The authorizer: remembers whether it denied a write, so the error says so."""

    def __init__(self) -> None:
        self.refused = False

    def __call__(self, action: int, first: str | None, second: str | None, database: str | None,
                 trigger: str | None) -> int:
        if action in _READ_ACTIONS:
            if action != sqlite3.SQLITE_PRAGMA:
                return sqlite3.SQLITE_OK
            name = (first or "").lower()
            if name in _READ_PRAGMAS and (second is None or name in _ARGUMENT_PRAGMAS):
                return sqlite3.SQLITE_OK
        self.refused = True
        return sqlite3.SQLITE_DENY


def _database(runtime: Any, label: str, component: str | None) -> Any:
    sqlite = _capability(runtime, "sqlite")
    if sqlite is None or label not in _labels(sqlite.allowed, component) or label not in sqlite.databases:
        raise BrowseError(404, f"no SQLite database {label!r}" + (f" for component {component!r}" if component else ""))
    database = sqlite.databases[label]
    if database.path is None:
        raise BrowseError(404, f"the SQLite database {label!r} is in memory: each connection has its own, so none can be browsed")
    return database


def connect_read_only(path: Any, seconds: float = QUERY_SECONDS) -> tuple[sqlite3.Connection, _Guard]:
    """A connection that cannot write ``path``, and its guard; BrowseError when the file is missing."""
    uri = "file:" + quote(str(path), safe="/") + "?mode=ro"
    try:
        connection = sqlite3.connect(uri, uri=True, check_same_thread=False, isolation_level=None, timeout=seconds)
    except sqlite3.Error as error:
        raise BrowseError(404, f"cannot open {path} read-only: {error}") from None
    connection.execute("PRAGMA query_only = ON")
    guard = _Guard()
    connection.set_authorizer(guard)
    deadline = time.monotonic() + seconds
    connection.set_progress_handler(lambda: time.monotonic() > deadline, 10_000)
    return connection, guard


def _cell(value: Any, value_limit: int) -> Any:
    if isinstance(value, bytes):
        cut = value[:value_limit]
        return {"$bytes": base64.b64encode(cut).decode("ascii"), "size": len(value), "truncated": len(value) > value_limit}
    if isinstance(value, str) and len(value) > value_limit:
        return value[:value_limit]
    return value


def run_query(connection: sqlite3.Connection, guard: _Guard, sql: str, limit: int = ROW_LIMIT,
              value_limit: int = VALUE_LIMIT, params: Iterable = ()) -> dict:
    """One read-only statement: ``{"columns", "rows", "truncated", "elapsed_ms"}``."""
    started = time.perf_counter()
    try:
        cursor = connection.execute(sql, tuple(params))
        rows = cursor.fetchmany(max(0, limit) + 1)
    except sqlite3.Warning as error:  # e.g. "You can only execute one statement at a time."
        raise BrowseError(400, str(error)) from None
    except sqlite3.DatabaseError as error:
        if guard.refused or "readonly" in str(error) or "read-only" in str(error):
            guard.refused = False
            raise ReadOnlyRefused() from None
        if str(error) == "interrupted":
            raise BrowseError(400, f"the query ran past {QUERY_SECONDS:g} s and was stopped") from None
        raise BrowseError(400, f"{type(error).__name__}: {error}") from None
    columns = [column[0] for column in cursor.description or ()]
    cursor.close()
    return {
        "columns": columns,
        "rows": [[_cell(value, value_limit) for value in row] for row in rows[:limit]],
        "truncated": len(rows) > limit,
        "elapsed_ms": round((time.perf_counter() - started) * 1000, 3),
    }


def _with_database(runtime: Any, label: str, component: str | None, work: Callable) -> Any:
    connection, guard = connect_read_only(_database(runtime, label, component).path)
    try:
        return work(connection, guard)
    finally:
        connection.close()


def sqlite_query(runtime: Any, label: str, sql: str, component: str | None = None, limit: int = ROW_LIMIT,
                 value_limit: int = VALUE_LIMIT) -> dict:
    """A read-only statement against the database ``label``; ReadOnlyRefused when it would write."""
    if not isinstance(sql, str) or not sql.strip():
        raise BrowseError(400, "the query is empty")
    return _with_database(runtime, label, component, lambda c, g: run_query(c, g, sql, limit, value_limit))


def sqlite_tables(runtime: Any, label: str, component: str | None = None) -> dict:
    """The database's tables and views, their columns and row counts."""

    def work(connection: sqlite3.Connection, guard: _Guard) -> dict:
        try:
            found = connection.execute(
                "SELECT name, type, sql FROM sqlite_schema WHERE type IN ('table', 'view') "
                "AND name NOT LIKE 'sqlite_%' ORDER BY name").fetchall()
            tables = []
            for name, kind, sql in found:
                quoted = '"' + name.replace('"', '""') + '"'
                columns = [{"name": row[1], "type": row[2]} for row in connection.execute(f"PRAGMA table_info({quoted})")]
                rows = connection.execute(f"SELECT count(*) FROM {quoted}").fetchone()[0] if kind == "table" else None
                tables.append({"name": name, "type": kind, "sql": sql, "columns": columns, "rows": rows})
        except sqlite3.Error as error:
            raise BrowseError(500, f"reading the schema failed: {error}") from None
        return {"database": label, "tables": tables}

    return _with_database(runtime, label, component, work)
