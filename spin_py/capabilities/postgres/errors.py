"""PostgreSQL errors worded as Spin words them: tokio-postgres's `{:?}` of a
database error (crates/factor-outbound-pg/src/client.rs query_failed), with
spin:postgres@4.2.0's DbError fields, from a psycopg error's diagnostics."""

import json
from typing import Any

from spin_py.capabilities.errors import CapabilityError
from spin_py.capabilities.rdbms import QUERY_FAILED
from spin_py.wire.rust_text import rust_debug

_SEVERITIES = {"ERROR": "Error", "FATAL": "Fatal", "PANIC": "Panic", "WARNING": "Warning", "NOTICE": "Notice",
               "DEBUG": "Debug", "INFO": "Info", "LOG": "Log"}


def _opt(value: Any, quoted: bool = True) -> str:
    if value is None:
        return "None"
    return f"Some({rust_debug(value) if quoted else value})"


def query_failed(error: Any) -> CapabilityError:
    """QueryFailed: a DbError when the server answered, else the error's text."""
    diag = getattr(error, "diag", None)
    if diag is None or diag.sqlstate is None:
        return CapabilityError(QUERY_FAILED, json.dumps({"text": str(error)}))
    severity = diag.severity or "ERROR"
    parsed = _SEVERITIES.get(diag.severity_nonlocalized or severity)
    if diag.statement_position:
        position = f"Some(Original({diag.statement_position}))"
    elif diag.internal_position:
        position = f"Some(Internal {{ position: {diag.internal_position}, query: {rust_debug(diag.internal_query or '')} }})"
    else:
        position = "None"
    line = diag.source_line
    as_text = (
        f"Error {{ kind: Db, cause: Some(DbError {{ severity: {rust_debug(severity)}, "
        f"parsed_severity: {_opt(parsed, quoted=False)}, code: SqlState(E{diag.sqlstate}), "
        f"message: {rust_debug(diag.message_primary or '')}, detail: {_opt(diag.message_detail)}, "
        f"hint: {_opt(diag.message_hint)}, position: {position}, where_: {_opt(diag.context)}, "
        f"schema: {_opt(diag.schema_name)}, table: {_opt(diag.table_name)}, column: {_opt(diag.column_name)}, "
        f"datatype: {_opt(diag.datatype_name)}, constraint: {_opt(diag.constraint_name)}, "
        f"file: {_opt(diag.source_file)}, line: {_opt(line, quoted=False)}, routine: {_opt(diag.source_function)} }}) }}"
    )
    # client.rs pg_extras, in its order
    extras = [(name, value) for name, value in (
        ("column", diag.column_name), ("constraint", diag.constraint_name), ("routine", diag.source_function),
        ("hint", diag.message_hint), ("table", diag.table_name), ("datatype", diag.datatype_name),
        ("schema", diag.schema_name), ("file", diag.source_file), ("line", line), ("where_", diag.context),
    ) if value is not None]
    db = {"as_text": as_text, "severity": severity, "code": diag.sqlstate, "message": diag.message_primary or "",
          "detail": diag.message_detail, "extras": [[name, str(value)] for name, value in extras]}
    return CapabilityError(QUERY_FAILED, json.dumps({"db": db}))
