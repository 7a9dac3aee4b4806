"""The "spin" store type: one SQLite file (or an in-memory database) with Spin's
own schema, so a file written here is read by `spin up` and the other way round
(crates/key-value-spin/src/store.rs). Every label configured with the same file
shares one table, told apart by the `store` column.

As in Spin, one connection per file behind one lock: writes from concurrent
requests are serialized and each statement is atomic, so no write is lost and
no reader sees half a value. A busy timeout lets another process (a `spin up`
on the same state dir) hold the file for a moment.

A store opened for a request keeps to its limits (seam.Instance.ended): its wait
for the lock gives up, a statement is interrupted between its steps, and the busy
timeout is cut to what is left of the time limit, once the request has ended; the
call fails with Other(the reason).
"""

import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from spin_py.capabilities.errors import CapabilityError
from spin_py.capabilities.key_value.errors import OTHER
from spin_py.capabilities.limits import acquire

T = TypeVar("T")

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
PROGRESS_STEPS = 20_000  # VM steps between two looks at the request (see sqlite/engine.py)



def _never() -> None:
    return None


class SqliteStoreManager:
    """One file (``path``) or, with ``path=None``, one in-memory database for the life of `spin-py up`."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._connection = None
        self._ended = _never  # the request whose call holds the lock, for the progress handler
        self._busy_ms = BUSY_TIMEOUT_MS

    def summary(self) -> str:
        """crates/key-value-spin/src/store.rs `summary`."""
        return "a temporary in-memory store" if self.path is None else f'"{self.path}"'

    def store(self, label: str, request: Any = None) -> "SqliteStore":
        """``label``'s rows, for ``request`` (a seam.Instance, whose limits bound each call; None: none)."""
        return SqliteStore(self, label, request)

    def run(self, work: Callable[[Any], T], request: Any = None) -> T:
        """``work(connection)`` under the file's lock; SQLite errors become Spin's `Other`."""
        ended = request.ended if request is not None else None
        reason = ended() if ended is not None else None
        if reason is None:
            reason = acquire(self._lock, ended)
        if reason is not None:
            raise CapabilityError(OTHER, reason)
        try:
            if self._connection is None:
                self._connection = self._connect()
            self._ended = ended or _never
            self._keep_busy_within(self._connection, request)
            return work(self._connection)
        except sqlite3.Error as error:
            reason = ended() if ended is not None else None
            raise CapabilityError(OTHER, reason or f"{type(error).__name__}: {error}") from None
        finally:
            self._ended = _never
            self._lock.release()

    def _keep_busy_within(self, connection: Any, request: Any) -> None:
        """Wait for another process's lock no longer than the request's time limit allows."""
        seconds = request.seconds_left() if request is not None else None
        wanted = BUSY_TIMEOUT_MS if seconds is None else max(1, min(BUSY_TIMEOUT_MS, int(seconds * 1000)))
        if wanted != self._busy_ms:
            connection.execute(f"PRAGMA busy_timeout = {wanted}")
            self._busy_ms = wanted

    def _connect(self) -> Any:
        if self.path is None:
            connection = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
        else:
            connection = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        connection.execute(SCHEMA)
        connection.set_progress_handler(lambda: self._ended() is not None, PROGRESS_STEPS)
        return connection

    def close(self) -> None:
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None


def _transaction(connection: Any, work: Callable[[], T]) -> T:
    connection.execute("BEGIN IMMEDIATE")
    try:
        result = work()
    except BaseException:
        if connection.in_transaction:  # an interrupted write has rolled its transaction back already
            connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")
    return result


class SqliteStore:
    """One label's rows."""

    def __init__(self, manager: SqliteStoreManager, label: str, request: Any = None) -> None:
        self.manager = manager
        self.label = label
        self.request = request

    def _run(self, work: Callable[[Any], T]) -> T:
        return self.manager.run(work, self.request)

    def get(self, key: str) -> bytes | None:
        def work(db: Any) -> bytes | None:
            row = db.execute("SELECT value FROM spin_key_value WHERE store=?1 AND key=?2", (self.label, key)).fetchone()
            return None if row is None else bytes(row[0])

        return self._run(work)

    def set(self, key: str, value: bytes) -> None:
        self._run(lambda db: db.execute(UPSERT, (self.label, key, value)))

    def delete(self, key: str) -> None:
        self._run(lambda db: db.execute("DELETE FROM spin_key_value WHERE store=?1 AND key=?2", (self.label, key)))

    def exists(self, key: str) -> bool:
        return self.get(key) is not None

    def get_keys(self) -> list[str]:
        return self._run(
            lambda db: [row[0] for row in db.execute("SELECT key FROM spin_key_value WHERE store=?1", (self.label,))]
        )

    def get_many(self, keys: list[str]) -> list[tuple[str, bytes]]:
        """The keys that exist, with their values (Spin's `SELECT ... key IN rarray(...)`)."""

        def work(db: Any) -> list[tuple[str, bytes]]:
            found: dict[str, bytes] = {}
            for key in dict.fromkeys(keys):
                reason = self.request.ended() if self.request is not None else None
                if reason is not None:  # each statement is too short for the progress handler to look
                    raise CapabilityError(OTHER, reason)
                row = db.execute("SELECT value FROM spin_key_value WHERE store=?1 AND key=?2", (self.label, key)).fetchone()
                if row is not None:
                    found[key] = bytes(row[0])
            return list(found.items())

        return self._run(work)

    def set_many(self, pairs: list[tuple[str, bytes]]) -> None:
        self._run(lambda db: _transaction(db, lambda: db.executemany(UPSERT, [(self.label, k, v) for k, v in pairs])))

    def delete_many(self, keys: list[str]) -> None:
        def work(db: Any) -> None:
            db.executemany("DELETE FROM spin_key_value WHERE store=?1 AND key=?2", [(self.label, k) for k in keys])

        self._run(lambda db: _transaction(db, lambda: work(db)))

    def increment(self, key: str, delta: int) -> int:
        """Spin keeps the counter as 8 little-endian bytes (crates/key-value-spin/src/store.rs `increment`)."""

        def work(db: Any) -> int:
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

        return self._run(lambda db: _transaction(db, lambda: work(db)))

    def compare_and_swap(self, key: str) -> "SqliteCas":
        return SqliteCas(self, key)


class SqliteCas:
    """wasi:keyvalue/atomics `cas` (crates/key-value-spin/src/store.rs CompareAndSwap):
    `current` remembers the value; `swap` writes only if it is still that value."""

    def __init__(self, store: SqliteStore, key: str) -> None:
        self.store = store
        self.key = key
        self.seen: bytes | None = None

    def current(self) -> bytes | None:
        self.seen = self.store.get(self.key)
        return self.seen

    def renew(self) -> "SqliteCas":
        return SqliteCas(self.store, self.key)

    def swap(self, value: bytes) -> bool:
        """True when written; False when the value changed since `current`."""
        label, key, seen = self.store.label, self.key, self.seen

        def work(db: Any) -> int:
            if seen is None:
                return _transaction(db, lambda: db.execute(UPSERT, (label, key, value)).rowcount)
            return db.execute(
                "UPDATE spin_key_value SET value=:new_value WHERE store=:name and key=:key and value=:old_value",
                {"new_value": value, "name": label, "key": key, "old_value": seen},
            ).rowcount

        return self.store._run(work) == 1
