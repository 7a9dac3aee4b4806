"""What the PostgreSQL and MySQL bindings share: a generated ``Connection``
(sync or async, RowSet or the async (columns, row stream, outcome) triple)
forwarding to the host's ``postgres`` or ``mysql`` capability, values and
columns converted to and from the SDK's own classes, and the host's error kinds
as the interface's ``Error_*`` variants (see spin_py/capabilities/rdbms.py for
the channel's shapes).
"""

import dataclasses
import enum
import inspect
import json
from typing import Any

from spin_py_wire.codec import decode_bytes, encode_bytes

from .. import host

HANDLE = "_spin_py_handle"
KINDS = ("ConnectionFailed", "BadParameter", "QueryFailed", "ValueConversionFailed", "Other")


def variant(module, prefix, case, *payload) -> Any:
    """``<prefix>_<case>`` (spin-sdk 3+) or ``<prefix><case>`` (spin-sdk 2.0)."""
    cls = getattr(module, f"{prefix}_{case}", None) or getattr(module, f"{prefix}{case}")
    return cls(*payload)


def types_module(module) -> Any:
    """The module holding the interface's DbValue classes: itself, or the rdbms-types it imports."""
    if hasattr(module, "DbValue_Str") or hasattr(module, "DbValueStr"):
        return module
    for value in vars(module).values():
        if inspect.ismodule(value) and (hasattr(value, "DbValue_Str") or hasattr(value, "DbValueStr")):
            return value
    raise ImportError(f"{module.__name__} has no DbValue types")


# -- values -----------------------------------------------------------------------

def _case(value, family) -> Any:
    name = type(value).__name__
    if not name.startswith(family):
        raise TypeError(f"a parameter must be a {family}, not {name}")
    return name[len(family):].lstrip("_")


def _to_wire(value) -> Any:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return encode_bytes(value)
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, (list, tuple)):
        return [_to_wire(item) for item in value]
    if dataclasses.is_dataclass(value):
        return {field.name: _to_wire(getattr(value, field.name)) for field in dataclasses.fields(value)}
    return value


def params_to_wire(params) -> Any:
    out = []
    for param in params:
        case = _case(param, "ParameterValue")
        fields = dataclasses.fields(param) if dataclasses.is_dataclass(param) else ()
        out.append([case, _to_wire(param.value)] if fields else [case])
    return out


_bytes = decode_bytes


def _bound(types, bound, convert) -> tuple | None:
    return None if bound is None else (convert(bound[0]), types.RangeBoundKind[bound[1]])


def value_from_wire(types, value) -> Any:
    case = value[0]
    payload: Any = value[1] if len(value) > 1 else None
    cls = getattr(types, f"DbValue_{case}", None) or getattr(types, f"DbValue{case}")
    if not dataclasses.fields(cls):
        return cls()
    if case in ("Binary", "Jsonb", "Unsupported"):
        return cls(_bytes(payload))
    if case in ("Date", "Time", "Datetime"):
        return cls(tuple(payload))
    if case in ("RangeInt32", "RangeInt64"):
        return cls(tuple(_bound(types, bound, int) for bound in payload))
    if case == "RangeDecimal":
        return cls(tuple(_bound(types, bound, str) for bound in payload))
    if case == "Interval":
        return cls(types.Interval(micros=payload["micros"], days=payload["days"], months=payload["months"]))
    return cls(payload)


def column_from_wire(types, column) -> Any:
    data_type = column["type"]
    kinds = types.DbDataType
    if isinstance(kinds, type) and issubclass(kinds, enum.Enum):
        found = kinds[("Other" if isinstance(data_type, list) else data_type).upper()]
    elif isinstance(data_type, list):
        found = variant(types, "DbDataType", "Other", data_type[1])
    else:
        found = variant(types, "DbDataType", data_type)
    return types.Column(name=column["name"], data_type=found)


def rows_from_wire(types, rows) -> list:
    return [[value_from_wire(types, value) for value in row] for row in rows]


# -- errors ---------------------------------------------------------------------------

def to_error(module, types, error, prefix="Error") -> Any:
    kind = error.kind if error.kind in KINDS else "Other"
    message = error.message or error.kind
    if kind == "QueryFailed":
        try:
            detail = json.loads(message)
        except ValueError:
            detail = {"text": message}
        if hasattr(types, "QueryError_Text"):  # spin:postgres@4.2.0
            if "db" in detail:
                db = detail["db"]
                payload = types.QueryError_DbError(types.DbError(
                    as_text=db["as_text"], severity=db["severity"], code=db["code"], message=db["message"],
                    detail=db["detail"], extras=[tuple(pair) for pair in db["extras"]]))
            else:
                payload = types.QueryError_Text(detail["text"])
            return module.Err(variant(types, prefix, kind, payload))
        message = detail["db"]["as_text"] if "db" in detail else detail["text"]
    return module.Err(variant(types, prefix, kind, message))


# -- the async query triple ----------------------------------------------------------------

def query_triple(module, types, result) -> tuple:
    """(columns, StreamReader[List[DbValue]], FutureReader[Result[None, Error]]) over rows the host
    already sent: the SDK's own classes, so ``spin_sdk.util.collect`` reads them as under Spin."""
    # The SDK's own module (spin-sdk 4 and later), in the app's environment only.
    from componentize_py_async_support.futures import FutureReader  # type: ignore[import-not-found]
    from componentize_py_async_support.streams import StreamReader  # type: ignore[import-not-found]

    class _Detached:
        def detach(self) -> None:
            return None

    class RowStream(StreamReader):
        def __init__(self, rows) -> None:
            self.writer_dropped = False
            self.type_ = None
            self.handle = None
            self.finalizer = _Detached()
            self._rows = rows

        async def read(self, max_count) -> Any:
            if not self._rows:
                self.writer_dropped = True
                return []
            chunk, self._rows = self._rows[:max_count], self._rows[max_count:]
            return chunk

        def __exit__(self, exc_type, exc_value, traceback) -> None:
            self._rows = []
            return None

    class Outcome(FutureReader):
        def __init__(self) -> None:
            self.type_ = None
            self.handle = None
            self.finalizer = _Detached()
            self._read = False

        async def read(self) -> Any:
            if self._read:
                raise AssertionError
            self._read = True
            return module.Ok(None)

        def __exit__(self, exc_type, exc_value, traceback) -> None:
            return None

    columns = [column_from_wire(types, column) for column in result["columns"]]
    return columns, RowStream(rows_from_wire(types, result["rows"])), Outcome()


# -- a generated Connection ------------------------------------------------------------------

def cases(types) -> list:
    """The DbValue cases an interface has: what the host may answer it with."""
    return sorted({name.split("_", 1)[1] if "_" in name else name[len("DbValue"):]
                   for name in vars(types) if name.startswith("DbValue") and name != "DbValue"})


def bind_connection(module, capability, execute_returns=True) -> None:
    """Fill in ``module.Connection`` (and ``ConnectionBuilder`` where the interface has one)."""
    types = types_module(module)
    cls = module.Connection
    interface = cases(types)

    def run(function, **args) -> Any:
        try:
            return host.call(capability, function, args)
        except host.HostError as error:
            raise to_error(module, types, error) from None

    def statement_args(self, statement, params) -> dict:
        if not isinstance(statement, str):
            raise TypeError(f"the statement must be a str, not {type(statement).__name__}")
        return {"connection": getattr(self, HANDLE, None), "statement": statement, "params": params_to_wire(params)}

    def opened(address) -> Any:
        if not isinstance(address, str):
            raise TypeError(f"the address must be a str, not {type(address).__name__}")
        connection = cls.__new__(cls)
        setattr(connection, HANDLE, run("open", address=address, cases=interface))
        return connection

    def query_rowset(self, statement, params) -> Any:
        result = run("query", **statement_args(self, statement, params))
        columns = [column_from_wire(types, column) for column in result["columns"]]
        return types.RowSet(columns=columns, rows=rows_from_wire(types, result["rows"]))

    async def query_stream(self, statement, params) -> Any:
        return query_triple(module, types, run("query", **statement_args(self, statement, params)))

    def execute(self, statement, params) -> Any:
        count = run("execute", **statement_args(self, statement, params))
        return count if execute_returns else None

    async def execute_async(self, statement, params) -> Any:
        return execute(self, statement, params)

    def __exit__(self, exc_type=None, exc_value=None, traceback=None) -> None:
        handle = getattr(self, HANDLE, None)
        if handle is not None:
            setattr(self, HANDLE, None)
            host.call(capability, "close", {"connection": handle})
        return None

    for name in ("open", "open_async"):
        original = cls.__dict__.get(name)
        if original is None:
            continue
        function = original.__func__
        if inspect.iscoroutinefunction(function):
            async def open(cls, address) -> Any:
                return opened(address)
        else:
            def open(cls, address) -> Any:  # type: ignore[misc]  # the plain twin of an async function: their types differ by nature
                return opened(address)
        open.__doc__ = function.__doc__
        setattr(cls, name, classmethod(open))
    for name in ("query", "query_async"):
        original = cls.__dict__.get(name)
        if original is not None:
            chosen = query_stream if inspect.iscoroutinefunction(original) else query_rowset
            _install(cls, name, chosen, original)
    for name in ("execute", "execute_async"):
        original = cls.__dict__.get(name)
        if original is not None:
            _install(cls, name, execute_async if inspect.iscoroutinefunction(original) else execute, original)
    _install(cls, "__exit__", __exit__, cls.__dict__["__exit__"])

    builder = getattr(module, "ConnectionBuilder", None)
    if builder is not None:
        _bind_builder(builder, opened)


def _install(cls, name, function, original) -> None:
    def method(*args, **kwargs) -> Any:
        return function(*args, **kwargs)

    if inspect.iscoroutinefunction(function):
        async def method(*args, **kwargs) -> Any:  # type: ignore[misc]  # the async twin
            return await function(*args, **kwargs)
    method.__name__ = name
    method.__qualname__ = f"{cls.__name__}.{name}"
    method.__doc__ = getattr(original, "__doc__", None)
    setattr(cls, name, method)


def _bind_builder(builder, opened) -> None:
    """spin:postgres@4.2.0's ConnectionBuilder: the address now, the connection at build.
    The root certificate is kept but not used: spin-py connects with libpq's defaults."""

    def __init__(self, address) -> None:
        self._spin_py_address = address
        self._spin_py_ca_root = None

    def set_ca_root(self, certificate) -> None:
        self._spin_py_ca_root = certificate

    def build(self) -> Any:
        return opened(self._spin_py_address)

    async def build_async(self) -> Any:
        return opened(self._spin_py_address)

    def __exit__(self, exc_type=None, exc_value=None, traceback=None) -> None:
        return None

    for function in (__init__, set_ca_root, build, build_async, __exit__):
        original = builder.__dict__.get(function.__name__)
        if original is not None:
            function.__doc__ = original.__doc__
            setattr(builder, function.__name__, function)


def bind_functions(module, capability, prefix, execute_returns=True) -> None:
    """The unversioned interfaces: ``query(address, statement, params)`` and
    ``execute(...)``, each on a connection of its own, errors as ``<prefix>_*``."""
    types = types_module(module)
    interface = cases(types)

    def run(function, **args) -> Any:
        try:
            return host.call(capability, function, args)
        except host.HostError as error:
            raise to_error(module, module, error, prefix=prefix) from None

    def one_shot(function, address, statement, params) -> Any:
        handle = run("open", address=address, cases=interface)
        try:
            return run(function, connection=handle, statement=statement, params=params_to_wire(params))
        finally:
            host.call(capability, "close", {"connection": handle})

    def query(address, statement, params) -> Any:
        result = one_shot("query", address, statement, params)
        columns = [column_from_wire(types, column) for column in result["columns"]]
        return types.RowSet(columns=columns, rows=rows_from_wire(types, result["rows"]))

    def execute(address, statement, params) -> Any:
        count = one_shot("execute", address, statement, params)
        return count if execute_returns else None

    for function in (query, execute):
        original = getattr(module, function.__name__, None)
        if original is not None:
            function.__doc__ = original.__doc__
            setattr(module, function.__name__, function)
