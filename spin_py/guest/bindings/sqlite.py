"""SQLite for the app's real spin-sdk: every generated sqlite interface
forwards to the host's `sqlite` capability, with results and errors as the
SDK's own types.

Interfaces, by generation:
- spin-sdk 2.x/3.x ``sqlite`` (fermyon:spin/sqlite@2.0.0): ``Connection.open``,
  ``execute`` returning ``QueryResult(columns, rows)``; spin-sdk 2.0 spells its
  classes ``ValueInteger``/``ErrorIo``, later ones ``Value_Integer``/``Error_Io``;
- spin-sdk 3.x ``spin_sqlite_sqlite`` (spin:sqlite@3.0.0): the same plus
  ``last_insert_rowid`` and ``changes``;
- spin-sdk 4.x/5.x ``fermyon_spin_sqlite`` (the unversioned interface: functions
  over integer handles), ``fermyon_spin_sqlite_2_0_0``, and
  ``spin_sqlite_sqlite_3_1_0``, whose ``execute_async`` returns the columns, a
  stream of rows and a future of the statement's result, read here on demand
  from the host as the app reads them (crates/factor-sqlite/src/host.rs execute_async).

Values cross the channel as plain JSON: int, float, str, null, and bytes as
{"$bytes": base64}.
"""

from typing import Any

from spin_py_wire.codec import decode_bytes, encode_bytes

from .. import host

CAPABILITY = "sqlite"
_UNIT_ERRORS = ("NoSuchDatabase", "AccessDenied", "InvalidConnection", "DatabaseFull")
I64_MIN, I64_MAX = -(2**63), 2**63 - 1


# -- the calls, shared by every generation (and the original API's spin_sqlite) --


def call(function, **args) -> Any:
    return host.call(CAPABILITY, function, args)


def to_wire(value) -> Any:
    """A Python value (int, float, str, bytes, None) as the channel carries it."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return encode_bytes(value)
    return value


def from_wire(value) -> Any:
    if isinstance(value, dict):
        return decode_bytes(value)
    return value


# -- the SDK's own types --


def _class(module, family, case) -> Any:
    """``Value_Integer`` (spin-sdk >= 3), or ``ValueInteger`` (spin-sdk 2.0)."""
    found = getattr(module, f"{family}_{case}", None) or getattr(module, f"{family}{case}", None)
    if found is None:
        raise RuntimeError(f"{module.__name__} has no {family}_{case}: an spin-sdk this binding does not know")
    return found


def sdk_error(module, error) -> Any:
    """The SDK's ``Err(Error_<kind>)`` for a host.HostError."""
    if error.kind in _UNIT_ERRORS:
        variant = _class(module, "Error", error.kind)()
    else:
        variant = _class(module, "Error", "Io")(error.message)
    return module.Err(variant)


def value_to_wire(value) -> Any:
    """One of the SDK's Value_* objects, as the channel carries it."""
    case = type(value).__name__.replace("Value_", "").replace("Value", "", 1)
    if case == "Null":
        return None
    payload = getattr(value, "value", None)
    if case == "Integer":
        if not isinstance(payload, int):
            raise TypeError(f"Value_Integer holds an int, not {type(payload).__name__}")
        if not I64_MIN <= payload <= I64_MAX:
            raise OverflowError(f"Value_Integer({payload}) does not fit SQLite's signed 64-bit integer")
        return int(payload)
    if case == "Real":
        if not isinstance(payload, (int, float)):
            raise TypeError(f"Value_Real holds a float, not {type(payload).__name__}")
        return float(payload)
    if case == "Text":
        if not isinstance(payload, str):
            raise TypeError(f"Value_Text holds a str, not {type(payload).__name__}")
        return payload
    if case == "Blob":
        if not isinstance(payload, (bytes, bytearray, memoryview)):
            raise TypeError(f"Value_Blob holds bytes, not {type(payload).__name__}")
        return to_wire(payload)
    raise TypeError(f"a SQLite parameter must be one of the SDK's Value_* types, not {type(value).__name__}")


def value_from_wire(module, value) -> Any:
    if value is None:
        return _class(module, "Value", "Null")()
    if isinstance(value, (bool, int)):
        return _class(module, "Value", "Integer")(int(value))
    if isinstance(value, float):
        return _class(module, "Value", "Real")(value)
    if isinstance(value, str):
        return _class(module, "Value", "Text")(value)
    return _class(module, "Value", "Blob")(from_wire(value))


def row_from_wire(module, row) -> Any:
    return module.RowResult([value_from_wire(module, value) for value in row])


def _params(parameters) -> list:
    return [value_to_wire(value) for value in parameters]


def _handle(connection) -> Any:
    handle = getattr(connection, "_spin_py_connection", None)
    return handle


def _new_connection(cls, handle) -> Any:
    connection = object.__new__(cls)
    connection._spin_py_connection = handle
    return connection


# -- the generated interfaces --


def bind_resource(module) -> None:
    """fermyon:spin/sqlite@2.0.0 and spin:sqlite@3.x: a ``Connection`` resource."""
    cls = module.Connection

    def checked(function, **args) -> Any:
        try:
            return call(function, **args)
        except host.HostError as error:
            raise sdk_error(module, error) from None

    def open(cls, database) -> Any:
        return _new_connection(cls, checked("open", database=database))

    def execute(self, statement, parameters) -> Any:
        result = checked("execute", connection=_handle(self), statement=statement, params=_params(parameters))
        return module.QueryResult(result["columns"], [row_from_wire(module, row) for row in result["rows"]])

    def last_insert_rowid(self) -> Any:
        return checked("last_insert_rowid", connection=_handle(self))

    def changes(self) -> Any:
        return checked("changes", connection=_handle(self))

    def __exit__(self, *exc_info) -> None:
        handle = _handle(self)
        if handle is not None:
            self._spin_py_connection = None
            call("close", connection=handle)
        return None

    async def open_async(cls, database) -> Any:
        return open(cls, database)

    async def execute_async(self, statement, parameters) -> tuple:
        result = checked("execute_stream", connection=_handle(self), statement=statement, params=_params(parameters))
        return result["columns"], _row_stream(module, result["stream"]), _outcome(module, result["stream"])

    async def last_insert_rowid_async(self) -> Any:
        return last_insert_rowid(self)

    async def changes_async(self) -> Any:
        return changes(self)

    cls.open = classmethod(open)
    cls.execute = execute
    cls.__exit__ = __exit__
    for name, function in (
        ("last_insert_rowid", last_insert_rowid),
        ("changes", changes),
        ("execute_async", execute_async),
        ("last_insert_rowid_async", last_insert_rowid_async),
        ("changes_async", changes_async),
    ):
        if name in vars(cls):  # only what this interface version has
            setattr(cls, name, function)
    if "open_async" in vars(cls):
        cls.open_async = classmethod(open_async)


def bind_functions(module) -> None:
    """The unversioned interface (spin-sdk 4.x/5.x ``fermyon_spin_sqlite``): functions over integer handles."""

    def checked(function, **args) -> Any:
        try:
            return call(function, **args)
        except host.HostError as error:
            raise sdk_error(module, error) from None

    def open(database) -> Any:
        return checked("open", database=database)

    def execute(conn, statement, parameters) -> Any:
        result = checked("execute", connection=conn, statement=statement, params=_params(parameters))
        return module.QueryResult(result["columns"], [row_from_wire(module, row) for row in result["rows"]])

    def close(conn) -> None:
        call("close", connection=conn)

    module.open = open
    module.execute = execute
    module.close = close


def _row_stream(module, stream) -> Any:
    """The readable end of the row stream, as componentize-py's StreamReader behaves:
    ``read(n)`` gives up to n rows, and [] with ``writer_dropped`` set once the statement is done."""
    base: Any = getattr(module, "StreamReader", object)

    class RowStream(base):
        def __init__(self) -> None:
            # The SDK's constructor registers a Component Model handle; there is none here.
            self.writer_dropped = False
            self.handle = stream

        async def read(self, max_count) -> list:
            if self.writer_dropped:
                return []
            rows = call("read_rows", stream=stream, max=max(1, int(max_count)))
            if not rows:
                self.writer_dropped = True
            return [row_from_wire(module, row) for row in rows]

        def __enter__(self) -> Any:
            return self

        def __exit__(self, *exc_info) -> None:
            self.handle = None
            return None

    return RowStream()


def _outcome(module, stream) -> Any:
    """The future of the statement's result: ``Ok(None)``, or ``Err(Error_Io(...))``
    for an error that happened while the rows were produced."""
    base: Any = getattr(module, "FutureReader", object)

    class Outcome(base):
        def __init__(self) -> None:
            self.handle = stream

        async def read(self) -> Any:
            if self.handle is None:
                raise AssertionError
            self.handle = None
            try:
                call("finish", stream=stream)
            except host.HostError as error:
                return sdk_error(module, error)
            return module.Ok(None)

        def __enter__(self) -> Any:
            return self

        def __exit__(self, *exc_info) -> None:
            self.handle = None
            return None

    return Outcome()


BINDINGS = {
    "spin_sdk.wit.imports.sqlite": bind_resource,  # spin-sdk 2.x, 3.x: fermyon:spin/sqlite@2.0.0
    "spin_sdk.wit.imports.spin_sqlite_sqlite": bind_resource,  # spin-sdk 3.x: spin:sqlite@3.0.0
    "spin_sdk.wit.imports.fermyon_spin_sqlite": bind_functions,  # spin-sdk 4.x, 5.x: unversioned
    "spin_sdk.wit.imports.fermyon_spin_sqlite_2_0_0": bind_resource,  # spin-sdk 4.x, 5.x
    "spin_sdk.wit.imports.spin_sqlite_sqlite_3_1_0": bind_resource,  # spin-sdk 4.x, 5.x: sync and async
}
