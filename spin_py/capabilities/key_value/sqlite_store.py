"""The "spin" store type: one SQLite file (or an in-memory database) with Spin's
own schema, so a file written here is read by `spin up` and the other way round
(crates/key-value-spin/src/store.rs). Every label configured with the same file
shares one table, told apart by the `store` column.

As in Spin, one connection per file behind one lock: writes from concurrent
requests are serialized and each statement is atomic, so no write is lost and
no reader sees half a value. A busy timeout lets another process (a `spin up`
on the same state dir) hold the file for a moment.
"""

import sqlite3
import threading
from pathlib import Path

from spin_py.capabilities.errors import CapabilityError
from spin_py.capabilities.key_value.errors import OTHER

# crates/key-value-spin/src/store.rs, word for word.
SCHEMA = """CREATE TABLE IF NOT EXISTS spin_key_value (
                           store TEXT NOT NULL,
                           key   TEXT NOT NULL,
                           value BLOB NOT NULL,

                           PRIMARY KEY (store, key)
                        )"""
# Spin writes $1, $2, $3; Python binds the same positions as ?1, ?2, ?3.
UPSERT = """INSERT INTO spin_key_value (store, key, value) VALUES (?1, ?2, ?3)
                     ON CONFLICT(store, key) DO UPDATE SET value=?3"""
BUSY_TIMEOUT_MS = 5000


class SqliteStoreManager:
    """One file (``path``) or, with ``path=None``, one in-memory database for the life of `spin-py up`."""

    def __init__(self, path: Path | None):
        self.path = path
        self._lock = threading.Lock()
        self._connection = None

    def summary(self) -> str:
        """crates/key-value-spin/src/store.rs `summary`."""
        return "a temporary in-memory store" if self.path is None else f'"{self.path}"'

    def store(self, label: str) -> "SqliteStore":
        return SqliteStore(self, label)

    def run(self, work):
        """``work(connection)`` under the file's lock; SQLite errors become Spin's `Other`."""
        with self._lock:
            try:
                if self._connection is None:
                    self._connection = self._connect()
                return work(self._connection)
            except sqlite3.Error as error:
                raise CapabilityError(OTHER, f"{type(error).__name__}: {error}") from None

    def _connect(self):
        if self.path is None:
            connection = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
        else:
            connection = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        connection.execute(SCHEMA)
        return connection

    def close(self) -> None:
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None


def _transaction(connection, work):
    connection.execute("BEGIN IMMEDIATE")
    try:
        result = work()
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")
    return result


class SqliteStore:
    """One label's rows."""

    def __init__(self, manager: SqliteStoreManager, label: str):
        self.manager = manager
        self.label = label

    def get(self, key: str) -> bytes | None:
        def work(db):
            row = db.execute("SELECT value FROM spin_key_value WHERE store=?1 AND key=?2", (self.label, key)).fetchone()
            return None if row is None else bytes(row[0])

        return self.manager.run(work)

    def set(self, key: str, value: bytes) -> None:
        self.manager.run(lambda db: db.execute(UPSERT, (self.label, key, value)))

    def delete(self, key: str) -> None:
        self.manager.run(lambda db: db.execute("DELETE FROM spin_key_value WHERE store=?1 AND key=?2", (self.label, key)))

    def exists(self, key: str) -> bool:
        return self.get(key) is not None

    def get_keys(self) -> list[str]:
        return self.manager.run(
            lambda db: [row[0] for row in db.execute("SELECT key FROM spin_key_value WHERE store=?1", (self.label,))]
        )

    def get_many(self, keys: list[str]) -> list[tuple[str, bytes | None]]:
        """The keys that exist, with their values (Spin's `SELECT ... key IN rarray(...)`)."""

        def work(db):
            found = {}
            for key in dict.fromkeys(keys):
                row = db.execute("SELECT value FROM spin_key_value WHERE store=?1 AND key=?2", (self.label, key)).fetchone()
                if row is not None:
                    found[key] = bytes(row[0])
            return list(found.items())

        return self.manager.run(work)

    def set_many(self, pairs: list[tuple[str, bytes]]) -> None:
        self.manager.run(lambda db: _transaction(db, lambda: db.executemany(UPSERT, [(self.label, k, v) for k, v in pairs])))

    def delete_many(self, keys: list[str]) -> None:
        def work(db):
            db.executemany("DELETE FROM spin_key_value WHERE store=?1 AND key=?2", [(self.label, k) for k in keys])

        self.manager.run(lambda db: _transaction(db, lambda: work(db)))

    def increment(self, key: str, delta: int) -> int:
        """Spin keeps the counter as 8 little-endian bytes (crates/key-value-spin/src/store.rs `increment`)."""

        def work(db):
            row = db.execute("SELECT value FROM spin_key_value WHERE store=?1 AND key=?2", (self.label, key)).fetchone()
            if row is not None and len(row[0]) != 8:
                # Spin panics here ("incorrect length"); an error is kinder and says the same.
                raise CapabilityError(OTHER, "incorrect length")
            value = int.from_bytes(row[0], "little", signed=True) if row is not None else 0
            value += delta
            if not -(2**63) <= value < 2**63:
                raise CapabilityError(OTHER, "attempt to add with overflow")
            db.execute(UPSERT, (self.label, key, value.to_bytes(8, "little", signed=True)))
            return value

        return self.manager.run(lambda db: _transaction(db, lambda: work(db)))

    def compare_and_swap(self, key: str) -> "SqliteCas":
        return SqliteCas(self, key)


class SqliteCas:
    """wasi:keyvalue/atomics `cas` (crates/key-value-spin/src/store.rs CompareAndSwap):
    `current` remembers the value; `swap` writes only if it is still that value."""

    def __init__(self, store: SqliteStore, key: str):
        self.store = store
        self.key = key
        self.seen = None

    def current(self) -> bytes | None:
        self.seen = self.store.get(self.key)
        return self.seen

    def renew(self) -> "SqliteCas":
        return SqliteCas(self.store, self.key)

    def swap(self, value: bytes) -> bool:
        """True when written; False when the value changed since `current`."""
        label, key, seen = self.store.label, self.key, self.seen

        def work(db):
            if seen is None:
                return _transaction(db, lambda: db.execute(UPSERT, (label, key, value)).rowcount)
            return db.execute(
                "UPDATE spin_key_value SET value=:new_value WHERE store=:name and key=:key and value=:old_value",
                {"new_value": value, "name": label, "key": key, "old_value": seen},
            ).rowcount

        return self.store.manager.run(work) == 1
