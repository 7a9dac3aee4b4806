"""Spin's SQLite capability (crates/factor-sqlite): `sqlite_databases` in the
manifest, `[sqlite_database.<label>]` in the runtime config, `default` in the
state dir, `--sqlite` statements before serving.

Host calls (capability "sqlite"), values as plain JSON (int: integer, float:
real, str: text, {"$bytes": base64}: blob, null: null):
  open {database}                        -> connection handle
  execute {connection, statement, params} -> {"columns", "rows"}       (sync interfaces)
  execute_stream {connection, statement, params} -> {"columns", "stream"}  (spin:sqlite@3.1.0 async)
  read_rows {stream, max}                -> rows ([] once the statement is done)
  finish {stream}                        -> null, or the statement's error (the future)
  changes / last_insert_rowid {connection} -> int
  close {connection}                     -> null (v1 close, resource drop)
Errors are CapabilityError with Spin's variants (errors.py). A statement keeps to
its request's limits: one still running (or waiting for the file) when the time
limit passes, the client leaves or the turn ends fails with Io(the reason), and
lets go of the file (engine.py).
"""

import threading
import weakref
from typing import Any, ClassVar

from spin_py.capabilities.errors import CapabilityError
from spin_py.capabilities.seam import (
    AppContext,
    Args,
    ConfigureError,
    Flag,
    HostContext,
    HostFunction,
    HostFunctions,
    Instance,
    UnknownHandle,
    decode_bytes,
    encode_bytes,
)
from spin_py.capabilities.sqlite import errors
from spin_py.capabilities.sqlite.databases import (
    DEFAULT_LABEL,
    Database,
    read_databases,
    undefined_databases_text,
)
from spin_py.capabilities.sqlite.engine import Connection

NAME = "sqlite"
CONNECTION = "sqlite.connection"
STREAM = "sqlite.stream"
MAX_ROWS_PER_READ = 4096  # a guest asks for what it wants; the host never sends more at once

SQLITE_FLAG = Flag(
    "--sqlite", "sqlite_statements", "STATEMENT",
    "Run a SQLite statement such as a migration against the default database before serving; "
    "@FILE runs a file of statements, @FILE:LABEL against the database LABEL. Repeatable.",
)


class SqliteCapability:
    """SQLite for one `spin-py up`: runs the --sqlite statements on the first
    configuration (Spin runs them once, before serving)."""

    name: ClassVar[str] = NAME
    host_fields: ClassVar[tuple[str, ...]] = ("sqlite_databases",)
    flags: ClassVar[tuple[Flag, ...]] = (SQLITE_FLAG,)

    def __init__(self, host: HostContext) -> None:
        self.host = host
        self._statements = tuple(host.flag("sqlite_statements") or ())
        self._statements_ran = False
        self._lock = threading.Lock()

    def configure(self, context: AppContext) -> "SqliteAppCapability":
        app = context.app
        databases = read_databases(context.runtime_config, context.state_dir)
        problem = undefined_databases_text(app, databases)
        if problem:
            raise ConfigureError(problem)
        with self._lock:
            if not self._statements_ran:
                from spin_py.capabilities.sqlite.statements import StatementError, run_statements

                try:
                    run_statements(self._statements, databases)
                except StatementError as error:
                    raise ConfigureError(str(error)) from None
                self._statements_ran = True
        allowed = {component_id: frozenset(c.sqlite_databases) for component_id, c in app.components.items()}
        return SqliteAppCapability(allowed, databases)

    def close(self) -> None:
        pass


class SqliteAppCapability(HostFunctions):
    """The `sqlite_databases` of one loaded manifest, checked at every open
    (crates/factor-sqlite/src/host.rs open_impl)."""

    def __init__(self, allowed: dict[str, frozenset[str]], databases: dict[str, Database]) -> None:
        self.allowed = allowed
        self.databases = databases
        self._open: weakref.WeakKeyDictionary[Instance, set[int]] = weakref.WeakKeyDictionary()  # its open connection handles
        self._open_lock = threading.Lock()

    def startup_lines(self) -> list[str]:
        # crates/trigger/src/cli/summary.rs SqliteDefaultStoreSummaryHook: only when a component uses it.
        if not any(DEFAULT_LABEL in labels for labels in self.allowed.values()):
            return []
        return [f"Storing default SQLite data to {self.databases[DEFAULT_LABEL].summary()}."]

    def close(self) -> None:
        pass

    def unknown_function(self, function: str) -> CapabilityError:
        return CapabilityError(errors.IO, f"unknown sqlite function '{function}'")

    # -- host functions --

    def open(self, instance: Instance, args: Args) -> Any:
        label = args.get("database")
        if not isinstance(label, str):
            raise CapabilityError(errors.IO, "the database name must be a string")
        if label not in self.allowed.get(instance.component_id, ()):
            raise CapabilityError(errors.ACCESS_DENIED)
        database = self.databases.get(label)
        if database is None:
            raise CapabilityError(errors.NO_SUCH_DATABASE)
        if database.create_folder_on_open and database.path is not None:
            try:
                database.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError:
                # crates/sqlite/src/lib.rs: the default's factory makes the folder; its failure is InvalidConnection.
                raise CapabilityError(errors.INVALID_CONNECTION) from None
        with self._open_lock:
            handles = self._open.setdefault(instance, set())
            handles.intersection_update(h for h in list(handles) if _is_open(instance, h))
            if len(handles) >= errors.MAX_CONNECTIONS:
                raise CapabilityError(errors.IO, errors.TOO_MANY_CONNECTIONS)
            handle = instance.add(CONNECTION, Connection(database.path, database.allow_attach_file, instance.ended))
            handles.add(handle)
        return handle

    def execute(self, instance: Instance, args: Args) -> Any:
        connection = _connection(instance, args)
        columns, rows = connection.query(_statement(args), _params(args))
        return {"columns": columns, "rows": [_row(row) for row in rows]}

    def execute_stream(self, instance: Instance, args: Args) -> Any:
        connection = _connection(instance, args)
        stream = connection.query_stream(_statement(args), _params(args))
        return {"columns": stream.columns, "stream": instance.add(STREAM, stream)}

    def read_rows(self, instance: Instance, args: Args) -> Any:
        stream = _stream(instance, args)
        count = args.get("max", 1)
        if not isinstance(count, int) or isinstance(count, bool) or count < 1:
            raise CapabilityError(errors.IO, "max must be a positive integer")
        return [_row(row) for row in stream.read(min(count, MAX_ROWS_PER_READ))]

    def finish(self, instance: Instance, args: Args) -> Any:
        stream = _stream(instance, args)
        try:
            stream.finish()
        finally:
            instance.remove(STREAM, args.get("stream"))
        return None

    def changes(self, instance: Instance, args: Args) -> Any:
        return _connection(instance, args).changes()

    def last_insert_rowid(self, instance: Instance, args: Args) -> Any:
        return _connection(instance, args).last_insert_rowid()

    def close_connection(self, instance: Instance, args: Args) -> Any:
        try:
            instance.remove(CONNECTION, args.get("connection"))
        except UnknownHandle:
            pass  # Spin ignores a second drop (host.rs: `let _ = self.connections.remove(...)`)
        return None

    functions: ClassVar[dict[str, HostFunction]] = {
        "open": open,
        "execute": execute,
        "execute_stream": execute_stream,
        "read_rows": read_rows,
        "finish": finish,
        "changes": changes,
        "last_insert_rowid": last_insert_rowid,
        "close": close_connection,
    }



def _is_open(instance: Instance, handle: int) -> bool:
    try:
        instance.get(CONNECTION, handle)
        return True
    except UnknownHandle:
        return False


def _connection(instance: Instance, args: Args) -> Any:
    try:
        return instance.get(CONNECTION, args.get("connection"))
    except UnknownHandle:
        raise CapabilityError(errors.INVALID_CONNECTION) from None


def _stream(instance: Instance, args: Args) -> Any:
    try:
        return instance.get(STREAM, args.get("stream"))
    except UnknownHandle:
        raise CapabilityError(errors.IO, "the row stream is closed") from None


def _statement(args: Args) -> str:
    statement = args.get("statement")
    if not isinstance(statement, str):
        raise CapabilityError(errors.IO, "the statement must be a string")
    return statement


I64_MIN, I64_MAX = -(2**63), 2**63 - 1


def _params(args: Args) -> list[Any]:
    params = args.get("params", [])
    if not isinstance(params, list):
        raise CapabilityError(errors.IO, "the parameters must be a list")
    values = []
    for value in params:
        if isinstance(value, bool):
            value = int(value)
        if isinstance(value, int):
            if not I64_MIN <= value <= I64_MAX:
                raise CapabilityError(errors.IO, f"integer parameter {value} is out of the 64-bit range")
        elif isinstance(value, dict):
            value = decode_bytes(value, "blob parameter")
        elif not (value is None or isinstance(value, (float, str))):
            raise CapabilityError(errors.IO, "a parameter must be an integer, real, text, blob or null")
        values.append(value)
    return values


def _row(row: Any) -> list[Any]:
    return [encode_bytes(value) if isinstance(value, bytes) else value for value in row]
