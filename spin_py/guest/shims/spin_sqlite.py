"""The original Spin Python API's `spin_sqlite` module (spin-python-sdk's
old-sdk branch, built with `spin py2wasm`): ``sqlite_open``,
``sqlite_open_default``, ``SqliteConnection.execute`` and ``QueryResult``.

It behaves as that SDK's native module did (crates/spin-python-engine/src/lib.rs
on the old-sdk branch, pyo3 0.17 over spin-sdk's sqlite):
- a parameter is tried as a 64-bit int, then a float, a str, None, bytes, in
  that order, so an int too big for SQLite is stored as a real;
- ``rows()`` gives lists of int, float, str, None, and a blob as a list of
  ints (pyo3 turns a Rust Vec<u8> into a list);
- every failure is an AssertionError whose text is the Rust error's Debug form,
  e.g. ``Error::AccessDenied`` or ``Error::Io("no such table: todos")``.
"""

import operator
from typing import Any

from spin_py_guest import host
from spin_py_guest.bindings import sqlite as _sqlite
from spin_py_wire.rust_text import rust_debug

_I64 = (-(2**63), 2**63 - 1)


def _assertion(error: Any) -> AssertionError:
    # wit-bindgen 0.8's Display for an error variant is its Debug: Error::Case or Error::Io("...").
    if error.kind in ("NoSuchDatabase", "AccessDenied", "InvalidConnection", "DatabaseFull"):
        return AssertionError(f"Error::{error.kind}")
    return AssertionError(f"Error::Io({rust_debug(error.message)})")


def _parameter(value) -> Any:
    """The old engine's conversion: extract i64, else f64, else &str, else None, else PyBytes."""
    try:
        number = operator.index(value)  # pyo3's i64 goes through __index__: int, bool, numpy ints
    except TypeError:
        number = None
    if number is not None and _I64[0] <= number <= _I64[1]:
        return number
    if value is not None and not isinstance(value, (str, bytes, bytearray)):
        try:
            return float(value)  # PyFloat_AsDouble: a float, __float__, or an int too big for i64
        except (TypeError, ValueError, OverflowError):
            pass
    if isinstance(value, str):
        return value
    if value is None:
        return None
    if isinstance(value, bytes):
        return _sqlite.to_wire(value)
    raise AssertionError(
        f"Unable to use {value!r} as a SQLite `execute` parameter -- expected `int`, `float`, `bytes`, `string`, or `None`"
    )


class QueryResult:
    """The result of a query"""

    def __init__(self, columns, rows) -> None:
        self._columns = columns
        self._rows = rows

    def rows(self) -> list:
        """The row results, each of which contains the values for all the columns in that row"""
        return [[_result_value(value) for value in row] for row in self._rows]

    def columns(self) -> list:
        """The names of the columns retrieved in the query"""
        return list(self._columns)


def _result_value(value) -> Any:
    if isinstance(value, dict):
        return list(_sqlite.from_wire(value))  # a blob: pyo3 made a list of ints of a Vec<u8>
    return value


class SqliteConnection:
    """Represents an open connection to an SQLite database"""

    def __init__(self, handle) -> None:
        self._handle = handle

    def execute(self, query: str, parameters: Any) -> "QueryResult":
        """Execute the specified statement"""
        params = [_parameter(value) for value in parameters]
        try:
            result = _sqlite.call("execute", connection=self._handle, statement=query, params=params)
        except host.HostError as error:
            raise _assertion(error) from None
        return QueryResult(result["columns"], result["rows"])


def sqlite_open(database: str) -> "SqliteConnection":
    """Open a connection to a named database instance.

    If `database` is "default", the default instance is opened.

    An `AssertionError` will be raised if the `name` is not recognized.
    """
    try:
        return SqliteConnection(_sqlite.call("open", database=database))
    except host.HostError as error:
        raise _assertion(error) from None


def sqlite_open_default() -> "SqliteConnection":
    """Open a connection to the default database"""
    return sqlite_open("default")
