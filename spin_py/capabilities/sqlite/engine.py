"""One connection to one SQLite database, behaving as Spin's in-process
connection (crates/sqlite-inproc/src/lib.rs, on rusqlite 0.34 with its bundled
SQLite) and failing with the texts rusqlite gives:

- the file is opened at the first statement, not at `open` (Spin's OnceLock),
  with rusqlite's busy timeout of 5 s, so writers from many requests wait for
  each other instead of failing; no implicit transactions (autocommit, as
  rusqlite), so every statement is on disk when it returns; and, beyond Spin,
  statements outside a transaction take turns per database file in this
  process (see ``_turn``), so a burst of writers never waits out the busy
  timeout and fails with "database is locked";
- `ATTACH` of a file is refused unless the database allows it (Spin's authorizer);
- `execute` runs the first statement of its text only (rusqlite's prepare
  ignores the tail), after rusqlite's parameter-count check;
- a statement that fails to compile says where, as rusqlite does
  (``{message} in {sql} at offset {n}``, src/error.rs ``error_with_offset``);
- results are limited to Spin's MAX_HOST_BUFFERED_BYTES, counted as Spin counts
  them (crates/world/src/lib.rs ``memory_size``);
- a connection opened for a request keeps to its limits (``ended``, seam.Instance.ended):
  a statement is interrupted between its steps (SQLite's progress handler), a wait
  for a lock (busy handler, the file's turn) gives up, once the request's time limit
  has passed, its client has gone or its turn has ended, and the call fails with
  that reason, so the file's turn is free for the next request at once.

APSW is the SQLite binding because it reports the error offset, which
Python's sqlite3 module does not, and it bundles a current SQLite as rusqlite does.
"""

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import apsw
import apsw.ext

from spin_py.capabilities.errors import CapabilityError
from spin_py.capabilities.limits import acquire
from spin_py.capabilities.sizes import MAX_HOST_BUFFERED_BYTES
from spin_py.capabilities.sqlite.errors import IO

MAX_RESULT_BYTES = MAX_HOST_BUFFERED_BYTES
BUSY_TIMEOUT_MS = 5000  # rusqlite src/inner_connection.rs: sqlite3_busy_timeout(db, 5000)
# sqlite3.c sqliteDefaultBusyCallback: the waits of sqlite3_busy_timeout, in ms, the last one repeated.
BUSY_DELAYS_MS = (1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50, 100)
# VM steps between two looks at the request: a look (a clock read) costs about as much as
# a few hundred steps, so a statement runs within 1% of its speed and stops within a millisecond.
PROGRESS_STEPS = 20_000
# std::mem::size_of of Spin's Rust types, which its result limit counts.
VALUE_SIZE = 32  # sqlite::Value
QUERY_RESULT_SIZE = 48  # sqlite::QueryResult
I64 = (-(2**63), 2**63 - 1)


class SqliteError(CapabilityError):
    """An `Io` error with rusqlite's text."""

    def __init__(self, message: str) -> None:
        super().__init__(IO, message)


def describe(error: apsw.Error, sql: str | None = None) -> str:
    """rusqlite's Display of an error; ``sql`` when it happened while compiling ``sql``."""
    message = error.args[0] if error.args else type(error).__name__
    offset = getattr(error, "error_offset", -1)
    # src/error.rs error_with_offset: only a plain SQLITE_ERROR with a known offset says where.
    if sql is not None and getattr(error, "result", None) == apsw.SQLITE_ERROR and offset is not None and offset >= 0:
        return f"{message} in {sql} at offset {offset}"
    return message


def value_size(value: Any) -> int:
    if isinstance(value, str):
        return VALUE_SIZE + len(value.encode("utf-8", "surrogatepass"))
    if isinstance(value, bytes):
        return VALUE_SIZE + len(value)
    return VALUE_SIZE


def result_limit_error(limit: int) -> SqliteError:
    return SqliteError(f"query result exceeds limit of {limit} bytes")


Ended = Callable[[], str | None] | None  # seam.Instance.ended: why the request is over, or None


def failure(error: apsw.Error, sql: str | None = None, ended: Ended = None) -> SqliteError:
    """The SqliteError for ``error``: the request's end when that is what interrupted the
    statement or gave up its wait for a lock, else rusqlite's text."""
    if ended is not None and isinstance(error, (apsw.InterruptError, apsw.BusyError)):
        reason = ended()
        if reason is not None:
            return SqliteError(reason)
    return SqliteError(describe(error, sql))


class Statement:
    """The first statement of a text, compiled and checked, ready to run."""

    def __init__(self, connection: apsw.Connection, sql: str, params: list, ended: Ended = None) -> None:
        self.ended = ended
        try:
            details = apsw.ext.query_info(connection, sql)
        except apsw.Error as error:
            raise failure(error, sql, ended) from None
        self.columns = [column[0] for column in details.description or ()]
        self.sql = details.first_query
        self.params = params
        self.empty = not details.has_vdbe
        self.parameter_count = details.bindings_count

    def rows(self, connection: apsw.Connection) -> Iterator[tuple[Any, ...]]:
        """The rows, as tuples of int, float, str, bytes, None; raises SqliteError (binding
        comes after the columns are known, as in rusqlite)."""
        _check_parameter_count(len(self.params), self.parameter_count)
        if self.empty:
            # rusqlite steps the NULL statement of a text with no SQL in it: SQLITE_MISUSE.
            raise SqliteError("bad parameter or other API misuse")
        cursor = connection.cursor()
        try:
            yield from cursor.execute(self.sql, self.params)
        except apsw.Error as error:
            raise failure(error, ended=self.ended) from None
        finally:
            cursor.close(force=True)


def _check_parameter_count(given: int, expected: int) -> None:
    """rusqlite src/statement.rs bind_parameters: one too many is counted, then it stops."""
    counted = min(given, expected + 1)
    if counted != expected:
        raise SqliteError(f"Wrong number of parameters passed to query. Got {counted}, needed {expected}")


class Connection:
    """A connection to the database at ``path`` (None: a private in-memory database);
    ``ended`` (a request's Instance.ended) bounds every statement and wait."""

    def __init__(self, path: Path | None, allow_attach_file: bool = False, ended: Ended = None) -> None:
        self.path = path
        self.allow_attach_file = allow_attach_file
        self.ended = ended
        self._db: apsw.Connection | None = None
        self._lock = threading.Lock()  # Spin's Mutex around the rusqlite connection

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Spin's Mutex, given up when the request ends (a close from another thread waits
        for the statement, which its progress handler stops)."""
        self._check()
        reason = acquire(self._lock, self.ended)
        if reason is not None:
            raise SqliteError(reason)
        try:
            yield
        finally:
            self._lock.release()

    def _check(self) -> None:
        """A call that starts after its request ended fails at once, even one too short
        for the progress handler to look."""
        reason = self.ended() if self.ended is not None else None
        if reason is not None:
            raise SqliteError(reason)

    def _connection(self) -> apsw.Connection:
        if self._db is None:
            target = ":memory:" if self.path is None else str(self.path)
            try:
                db = apsw.Connection(target)
            except apsw.CantOpenError as error:
                # rusqlite src/inner_connection.rs open_with_flags adds the path.
                raise SqliteError(f"{describe(error)}: {target}") from None
            except apsw.Error as error:
                raise SqliteError(describe(error)) from None
            if self.ended is None:
                db.set_busy_timeout(BUSY_TIMEOUT_MS)
            else:
                db.set_busy_handler(self._busy)
                db.set_progress_handler(self._interrupt, PROGRESS_STEPS)
            if not self.allow_attach_file:
                db.authorizer = _deny_attaching_files
            self._db = db
        return self._db

    def _interrupt(self) -> bool:
        return self.ended is not None and self.ended() is not None

    def _busy(self, count: int) -> bool:
        """sqlite3_busy_timeout's waits (SQLite's default busy handler), given up when the request ends."""
        if self.ended is None or self.ended() is not None:
            return False
        if count < len(BUSY_DELAYS_MS):
            delay, waited = BUSY_DELAYS_MS[count], sum(BUSY_DELAYS_MS[:count])
        else:
            delay = BUSY_DELAYS_MS[-1]
            waited = sum(BUSY_DELAYS_MS) + delay * (count - len(BUSY_DELAYS_MS))
        delay = min(delay, BUSY_TIMEOUT_MS - waited)
        if delay <= 0:
            return False
        time.sleep(delay / 1000)
        return True

    def query(self, sql: str, params: list, limit: int = MAX_RESULT_BYTES) -> tuple[list, list]:
        """(columns, rows), the whole result at once (Connection::query)."""
        with self._locked():
            db = self._connection()
            with _turn(self.path, db, self.ended):
                statement = Statement(db, sql, params, self.ended)
                size = QUERY_RESULT_SIZE
                rows = []
                for row in statement.rows(db):
                    size += sum(value_size(value) for value in row)
                    if size > limit:
                        raise result_limit_error(limit)
                    rows.append(row)
            return statement.columns, rows

    def query_stream(self, sql: str, params: list, limit: int = MAX_RESULT_BYTES) -> "RowStream":
        """The columns now, the rows as they are read, the error at the end (Connection::query_async)."""
        with self._locked():
            db = self._connection()
        with _turn(self.path, db, self.ended):
            return RowStream(self, db, sql, params, limit)

    def execute_batch(self, sql: str) -> None:
        """Every statement of ``sql`` in turn (rusqlite's execute_batch); the error names the failing rest."""
        with self._locked():
            db = self._connection()
            rest = sql
            while rest:
                try:
                    details = apsw.ext.query_info(db, rest)
                except apsw.Error as error:
                    raise failure(error, rest, self.ended) from None
                if details.has_vdbe:
                    cursor = db.cursor()
                    try:
                        for _ in cursor.execute(details.first_query):
                            pass
                    except apsw.Error as error:
                        raise failure(error, ended=self.ended) from None
                    finally:
                        cursor.close(force=True)
                if not details.query_remaining:
                    break
                # SQLite's tail starts right after the statement; APSW's first_query also
                # holds the whitespace after it, which rusqlite leaves in the rest (and its offsets).
                rest = rest[len(details.first_query.rstrip()) :]

    def changes(self) -> int:
        with self._locked():
            return self._connection().changes()

    def last_insert_rowid(self) -> int:
        with self._locked():
            return self._connection().last_insert_rowid()

    def close(self) -> None:
        with self._lock:
            db, self._db = self._db, None
        if db is not None:
            db.close(True)


class RowStream:
    """One statement run as Spin's query_async runs it: compile and bind errors do
    not raise here, they end the stream and come out of ``finish`` (the future),
    with no columns when the statement did not compile."""

    def __init__(self, connection: Connection, db: apsw.Connection, sql: str, params: list, limit: int) -> None:
        self.connection = connection
        self.limit = limit
        self.error: SqliteError | None = None
        self.columns = []
        self._rows: Iterator[tuple[Any, ...]] = iter(())
        self._first: list[tuple[Any, ...]] = []
        try:
            statement = Statement(db, sql, params, connection.ended)
        except SqliteError as error:
            self.error = error
            return
        self.columns = statement.columns
        self._rows = statement.rows(db)
        # Spin runs the statement at once, whether or not the stream is read: an
        # INSERT is done when execute returns. Stepping to the first row does that here.
        self._first = self.read(1)

    def read(self, count: int) -> list:
        """Up to ``count`` rows; [] once the statement is done (or failed)."""
        rows, self._first = self._first[:count], self._first[count:]
        with self.connection._locked():
            while len(rows) < count and self.error is None:
                try:
                    row = next(self._rows)
                except StopIteration:
                    self._rows = iter(())
                    break
                except SqliteError as error:
                    self.error = error
                    break
                if sum(value_size(value) for value in row) > self.limit:
                    # crates/sqlite-inproc: each row is held to the limit, not the whole stream.
                    self.error = result_limit_error(self.limit)
                    break
                rows.append(row)
        return rows

    def finish(self) -> None:
        """The future's value: run what is left unread, then raise the error if there was one."""
        while self.read(128):
            pass
        if self.error is not None:
            raise self.error

    def close(self) -> None:
        close = getattr(self._rows, "close", None)
        if close is not None:
            close()


_file_locks: dict[str, threading.Lock] = {}
_file_locks_lock = threading.Lock()


@contextlib.contextmanager
def _turn(path: Path | None, db: apsw.Connection, ended: Ended = None) -> Iterator[None]:
    """Hold this database file's lock while a statement outside a transaction compiles and runs.

    SQLite's busy handler polls with growing sleeps, so under a burst of requests
    one connection can lose every race for the file lock for 5 s and fail with
    "database is locked" (a new connection even has to win a race to read the
    schema), which Spin would do too. Queueing here instead makes each statement
    of this process wait its turn. Statements inside a transaction (BEGIN ...
    COMMIT over several calls) do not queue: the transaction already holds
    SQLite's lock, and the busy timeout still covers other processes.
    """
    if path is None or not db.get_autocommit():
        yield
        return
    with _file_locks_lock:
        lock = _file_locks.setdefault(str(path), threading.Lock())
    # A request that ends while it waits gives up its place; the holder's own request
    # ending interrupts its statement, so no request holds the turn past its end.
    reason = acquire(lock, ended)
    if reason is not None:
        raise SqliteError(reason)
    try:
        yield
    finally:
        lock.release()


def _deny_attaching_files(action: int, name: str | None, _2: str | None, _database: str | None, _trigger: str | None) -> int:
    # crates/sqlite-inproc/src/lib.rs: a tempfile ("") or ":memory:" may be attached, a file may not.
    if action == apsw.SQLITE_ATTACH and name not in ("", ":memory:", None):
        return apsw.SQLITE_DENY
    return apsw.SQLITE_OK
