"""Outbound MySQL in the host (crates/factor-outbound-mysql/src/host.rs, client.rs).

`open` checks the address against the component's allowed_outbound_hosts with
the ``mysql`` scheme ("address {address} is not permitted" otherwise), reads it
as mysql_async's URL (``mysql://user:password@host:port/database``,
``?ssl-mode=...``) and connects with PyMySQL; the connection is this request's
own, in autocommit. Statements take ``?`` placeholders, as mysql_async's
prepared statements do. The host calls (values as spin_py/capabilities/rdbms.py
describes):

  ``open``     ``{"address", "cases"}`` -> connection handle
  ``query``    ``{"connection", "statement", "params"}`` -> ``{"columns", "rows"}``
  ``execute``  ``{"connection", "statement", "params"}``
  ``close``    ``{"connection"}``

Columns and values follow client.rs: numeric and character columns map to
their cases, any other column type (DATE, DECIMAL, JSON ...) is Other, and a
value in an Other column fails the query with ValueConversionFailed.

A call keeps to its request's limits (seam.Instance.ended): `open` waits for the
server no longer than the time limit allows, and a statement still running when
the time limit passes, the client leaves or the turn ends is stopped on the
server (KILL QUERY from a connection of its own, so the server lets go of what
the statement holds; the connection is cut if that does not end it,
capabilities/limits.py) and the call fails with QueryFailed(the reason).
"""

import json
from typing import Any, ClassVar
from urllib.parse import parse_qsl, unquote, urlsplit

from spin_py.capabilities import rdbms
from spin_py.capabilities.errors import CapabilityError
from spin_py.capabilities.limits import GRACE, cut_socket, watched
from spin_py.capabilities.outbound_access import OutboundApp, OutboundCapability
from spin_py.capabilities.rdbms import CONNECTION_FAILED, OTHER, QUERY_FAILED, VALUE_CONVERSION_FAILED
from spin_py.capabilities.seam import Args, HostFunction, Instance, decode_bytes, encode_bytes, text_arg
from spin_py.capabilities.sizes import MAX_HOST_BUFFERED_BYTES

NAME = "mysql"
CONNECTION = "mysql.connection"
MAX_RESULT_BYTES = MAX_HOST_BUFFERED_BYTES
CONNECT_TIMEOUT = 10  # seconds

# MySQL column types (mysql_common::constants::ColumnType) and flags.
NUMERIC = {0: None, 1: "Int8", 2: "Int16", 3: "Int32", 4: "Floating32", 5: "Floating64", 8: "Int64", 9: "Int32",
           13: None, 246: None, 16: None}
UNSIGNED_CASES = {"Int8": "Uint8", "Int16": "Uint16", "Int32": "Uint32", "Int64": "Uint64"}
CHARACTER = {252: "blob", 251: "long_blob", 250: "medium_blob", 249: "tiny_blob", 254: "string", 253: "var_string",
             15: "varchar", 247: "enum", 248: "set", 245: "json"}
UNSIGNED_FLAG, BINARY_FLAG = 32, 128


class MyConnection:
    def __init__(self, connection: Any, cases: frozenset[str], options: dict[str, Any]) -> None:
        self.connection = connection
        self.cases = cases
        self.options = options  # how it was opened, for a connection that stops its statement

    def kill_query(self) -> None:
        """Stop the statement this connection runs (the connection itself stays)."""
        import pymysql

        thread_id = self.connection.thread_id()
        with (pymysql.connect(**self.options, connect_timeout=GRACE, read_timeout=GRACE, write_timeout=GRACE) as killer,
              killer.cursor() as cursor):
            cursor.execute(f"KILL QUERY {int(thread_id)}")

    def cut(self) -> None:
        sock = getattr(self.connection, "_sock", None)
        if sock is not None:
            cut_socket(sock.fileno())

    def close(self) -> None:
        self.connection.close()


class MysqlApp(OutboundApp):
    CONNECTION = CONNECTION
    WHAT = "outbound MySQL"

    def call_open(self, instance: Instance, args: Args) -> Any:
        address = text_arg(args, "address")
        cases = rdbms.value_set(args)
        if not self.access.allows(instance.component_id, address, "mysql"):
            raise CapabilityError(CONNECTION_FAILED, f"address {address} is not permitted")
        import pymysql

        _stop_if_ended(instance, CONNECTION_FAILED)
        left = instance.seconds_left()
        timeout = CONNECT_TIMEOUT if left is None else max(0.001, min(CONNECT_TIMEOUT, left))
        try:
            options = connect_options(address)
            connection = pymysql.connect(**options, autocommit=True, connect_timeout=timeout, charset="utf8mb4")
        except (ValueError, pymysql.Error) as error:
            raise CapabilityError(CONNECTION_FAILED, instance.ended() or _text(error)) from None
        return instance.add(CONNECTION, MyConnection(connection, cases, {**options, "charset": "utf8mb4"}))

    def call_query(self, instance: Instance, args: Args) -> Any:
        return self._run(instance, "query", args)

    def call_execute(self, instance: Instance, args: Args) -> Any:
        return self._run(instance, "execute", args)

    def _run(self, instance: Instance, function: str, args: Args) -> Any:
        import pymysql

        my = rdbms.connection(instance, CONNECTION, args)
        statement = text_arg(args, "statement")
        values = [to_sql(param) for param in rdbms.params(args)]
        _stop_if_ended(instance)
        try:
            sql = placeholders(statement, len(values))
            with watched(instance.ended, my.kill_query, my.cut) as call:
                result = _statement(my, function, sql, values)
        except pymysql.Error as error:
            _stop_if_ended(instance)
            raise CapabilityError(QUERY_FAILED, _text(error)) from None
        except _Placeholders as error:
            raise CapabilityError(QUERY_FAILED, str(error)) from None
        if call is not None and call.reason is not None:
            # KILL QUERY can end a statement without an error (SLEEP returns 1): it still did not finish.
            raise CapabilityError(QUERY_FAILED, call.reason)
        return result

    functions: ClassVar[dict[str, HostFunction]] = {
        "open": call_open,
        "query": call_query,
        "execute": call_execute,
        "close": OutboundApp.call_close,
    }


def _statement(my: MyConnection, function: str, sql: str, values: list[Any]) -> dict[str, Any] | None:
    with my.connection.cursor() as cursor:
        cursor.execute(sql, values if values else None)
        if function == "execute":
            return None
        fields = cursor._result.fields if cursor._result and cursor._result.fields else []
        columns = [{"name": field.name, "type": data_type(field)} for field in fields]
        rows, size = [], 0
        for row in cursor.fetchall():
            converted = [rdbms.narrowed(convert(value, column, field), my.cases)
                         for value, column, field in zip(row, columns, fields, strict=False)]
            size += sum(len(json.dumps(value)) for value in converted)
            if size > MAX_RESULT_BYTES:
                raise CapabilityError(OTHER, f"query result exceeds limit of {MAX_RESULT_BYTES} bytes")
            rows.append(converted)
    return {"columns": [{"name": c["name"], "type": rdbms.narrowed_type(c["type"], my.cases)} for c in columns],
            "rows": rows}


def _stop_if_ended(instance: Instance, kind: str = QUERY_FAILED) -> None:
    reason = instance.ended()
    if reason is not None:
        raise CapabilityError(kind, reason)


class MysqlCapability(OutboundCapability):
    name: ClassVar[str] = NAME
    App = MysqlApp


def _text(error: BaseException) -> str:
    if getattr(error, "args", None) and len(error.args) == 2 and isinstance(error.args[0], int):
        # mysql_async's Server error: ERROR {code} ({state}): {message}
        return f"Server(ServerError {{ code: {error.args[0]}, message: {json.dumps(error.args[1])} }})"
    return str(error)


def connect_options(address: str) -> dict[str, Any]:
    """mysql_async's URL (client.rs build_opts): user, password, host, port, database; TLS for ssl-mode."""
    parts = urlsplit(address)
    if parts.scheme != "mysql":
        raise ValueError(f"UrlError {{ error: UnsupportedScheme {{ scheme: {json.dumps(parts.scheme)} }} }}")
    query = dict(parse_qsl(parts.query))
    ssl_mode = next((v for k, v in query.items() if k.lower() in ("ssl-mode", "sslmode")), "disabled")
    options = {
        "host": parts.hostname or "127.0.0.1",
        "port": parts.port or 3306,
        "user": unquote(parts.username) if parts.username else "root",
        "password": unquote(parts.password) if parts.password else "",
        "database": unquote(parts.path.lstrip("/")) or None,
    }
    if ssl_mode.lower() != "disabled":
        options["ssl"] = {}
    return options


def to_sql(param: list[Any]) -> Any:
    case, value = param[0], param[1] if len(param) > 1 else None
    if case == "DbNull":
        return None
    if case == "Binary":
        return decode_bytes(value, "parameter")
    if case == "Boolean":
        return bool(value)
    return value


class _Placeholders(Exception):
    pass


def placeholders(statement: str, count: int) -> str:
    """``?`` placeholders (outside quotes and comments) as PyMySQL's ``%s``, ``%`` doubled;
    mysql_async's text when the count does not match."""
    out, found, index, quote = [], 0, 0, None
    while index < len(statement):
        char = statement[index]
        if quote:
            out.append("%%" if char == "%" else char)
            if char == "\\" and quote != "`" and index + 1 < len(statement):
                index += 1
                out.append("%%" if statement[index] == "%" else statement[index])
            elif char == quote:
                quote = None
        elif char in "'\"`":
            quote = char
            out.append(char)
        elif char == "?":
            found += 1
            out.append("%s")
        elif char == "%":
            out.append("%%")
        else:
            out.append(char)
        index += 1
    if found != count:
        raise _Placeholders(f"DriverError {{ Statement takes {found} parameters but {count} was supplied }}")
    return "".join(out) if count else statement


def data_type(field: Any) -> str:
    """client.rs convert_data_type, from the column's type and flags."""
    type_code, flags = field.type_code, field.flags
    if type_code in NUMERIC:
        case = NUMERIC[type_code]
        if case is None:
            return "Other"
        return UNSIGNED_CASES.get(case, case) if flags & UNSIGNED_FLAG else case
    binary = bool(flags & BINARY_FLAG) or getattr(field, "charsetnr", None) == 63
    if type_code == 252:  # BLOB, or TEXT without the binary flag
        return "Binary" if binary else "Str"
    if type_code in (251, 250):
        return "Binary"
    if type_code in (254, 253):
        return "Binary" if binary else "Str"
    return "Other"


def convert(value: Any, column: dict[str, Any], field: Any) -> list[Any]:
    """client.rs convert_value."""
    if value is None:
        return ["DbNull"]
    case = column["type"]
    if case == "Other":
        raise CapabilityError(
            VALUE_CONVERSION_FAILED,
            f"Cannot convert value {_value_debug(value)} in column {column['name']} data type Other",
        )
    if case == "Binary":
        return [case, encode_bytes(value if isinstance(value, bytes) else str(value).encode())]
    if case == "Str":
        return [case, value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)]
    return [case, value]


def _value_debug(value: Any) -> str:
    """mysql_common's Debug of a Value, for the conversion error's text."""
    import datetime

    if isinstance(value, datetime.datetime):
        return f"Date({value.year}, {value.month}, {value.day}, {value.hour}, {value.minute}, {value.second}, {value.microsecond})"
    if isinstance(value, datetime.date):
        return f"Date({value.year}, {value.month}, {value.day}, 0, 0, 0, 0)"
    if isinstance(value, datetime.timedelta):
        negative = value < datetime.timedelta(0)
        value = abs(value)
        hours, rest = divmod(value.seconds, 3600)
        minutes, seconds = divmod(rest, 60)
        return f"Time({str(negative).lower()}, {value.days}, {hours}, {minutes}, {seconds}, {value.microseconds})"
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    if len(text) <= 8:
        return f"Bytes({json.dumps(text)})"
    return f"Bytes({json.dumps(text[:8])}..)"
