"""PostgreSQL values both ways, as Spin's crates/factor-outbound-pg/src/types.rs
converts them: a parameter's case picks the PostgreSQL type it is sent as, and
a column's type picks the case of its values. Results are read in binary, so a
type Spin does not know comes back as its raw bytes (Spin's `Unsupported`)."""

import datetime
import json
import struct
import uuid
from decimal import Decimal, InvalidOperation
from typing import Any

from spin_py.capabilities.seam import decode_bytes, encode_bytes

# PostgreSQL type oids -> Spin's DbDataType case (convert_data_type).
TYPES = {
    16: "Boolean", 17: "Binary", 700: "Floating32", 701: "Floating64", 21: "Int16", 23: "Int32", 20: "Int64",
    25: "Str", 1043: "Str", 1042: "Str", 1114: "Datetime", 1184: "Datetime", 1082: "Date", 1083: "Time",
    2950: "Uuid", 3802: "Jsonb", 1700: "Decimal", 3904: "RangeInt32", 3926: "RangeInt64", 3906: "RangeDecimal",
    1007: "ArrayInt32", 1016: "ArrayInt64", 1231: "ArrayDecimal", 1009: "ArrayStr", 1015: "ArrayStr",
    1014: "ArrayStr", 1186: "Interval",
}
INTERVAL_OID = 1186


class ConversionError(ValueError):
    """A parameter Spin could not turn into a PostgreSQL value: its text (anyhow's Debug form)."""


class PgInterval:
    """spin:postgres@4.2.0's interval: sent and read in PostgreSQL's binary layout."""

    def __init__(self, micros: int, days: int, months: int) -> None:
        self.micros, self.days, self.months = micros, days, months


def register(connection: Any) -> None:
    """Interval loader and dumper for one psycopg connection."""
    from psycopg.adapt import Dumper, Loader
    from psycopg.pq import Format

    class IntervalLoader(Loader):
        format = Format.BINARY

        def load(self, data: Any) -> PgInterval:
            micros, days, months = struct.unpack("!qii", bytes(data))
            return PgInterval(micros, days, months)

    class IntervalDumper(Dumper):
        format = Format.BINARY
        oid = INTERVAL_OID

        def dump(self, obj: Any) -> bytes:
            return struct.pack("!qii", obj.micros, obj.days, obj.months)

    connection.adapters.register_loader(INTERVAL_OID, IntervalLoader)
    connection.adapters.register_dumper(PgInterval, IntervalDumper)


def to_sql(param: list[Any]) -> Any:
    """A ``[case, payload]`` parameter as the psycopg value of the type Spin sends it as (to_sql_parameter)."""
    from psycopg.types.json import Jsonb
    from psycopg.types.numeric import Float4, Float8, Int2, Int4, Int8
    from psycopg.types.range import Int4Range, Int8Range, NumericRange

    case = param[0]
    value: Any = param[1] if len(param) > 1 else None
    if case == "DbNull":
        return None
    if case == "Boolean":
        return bool(value)
    if case in ("Int8", "Int16"):
        return Int2(value)  # PostgreSQL has no one-byte integer
    if case == "Int32":
        return Int4(value)
    if case == "Int64":
        return Int8(value)
    if case == "Floating32":
        return Float4(value)
    if case == "Floating64":
        return Float8(value)
    if case == "Str":
        return str(value)
    if case == "Binary":
        return decode_bytes(value, "parameter")
    if case == "Date":
        return _date(*value)
    if case == "Time":
        return _time(*value)
    if case == "Datetime":
        year, month, day, hour, minute, second, nanos = value
        return datetime.datetime.combine(_date(year, month, day), _time(hour, minute, second, nanos))
    if case == "Timestamp":
        try:
            return datetime.datetime.fromtimestamp(value, datetime.UTC)
        except (OverflowError, OSError, ValueError):
            raise ConversionError(f"invalid epoch timestamp {value}") from None
    if case == "Uuid":
        try:
            return uuid.UUID(value)
        except ValueError:
            raise ConversionError(f"invalid UUID {value}") from None
    if case == "Jsonb":
        data = decode_bytes(value, "parameter")
        try:
            return Jsonb(json.loads(data))
        except ValueError:
            raise ConversionError(f"invalid JSON {data.decode('utf-8', 'replace')}") from None
    if case == "Decimal":
        return _decimal(value)
    if case in ("RangeInt32", "RangeInt64", "RangeDecimal"):
        lower, upper = value
        make = {"RangeInt32": Int4Range, "RangeInt64": Int8Range, "RangeDecimal": NumericRange}[case]
        convert = _decimal if case == "RangeDecimal" else int
        bounds = ("[" if lower is None or lower[1] == "INCLUSIVE" else "(") + (
            "]" if upper is not None and upper[1] == "INCLUSIVE" else ")")
        return make(None if lower is None else convert(lower[0]), None if upper is None else convert(upper[0]), bounds)
    if case == "ArrayInt32":
        return [None if v is None else Int4(v) for v in value]
    if case == "ArrayInt64":
        return [None if v is None else Int8(v) for v in value]
    if case == "ArrayDecimal":
        return [None if v is None else _decimal(v) for v in value]
    if case == "ArrayStr":
        return [None if v is None else str(v) for v in value]
    if case == "Interval":
        return PgInterval(value["micros"], value["days"], value["months"])
    raise ConversionError(f"unknown parameter type {case}")


def _date(year: int, month: int, day: int) -> Any:
    try:
        return datetime.date(year, month, day)
    except (ValueError, OverflowError):
        raise ConversionError(f"invalid date y={year}, m={month}, d={day}") from None


def _time(hour: int, minute: int, second: int, nanos: int) -> Any:
    try:
        return datetime.time(hour, minute, second, nanos // 1000)
    except (ValueError, OverflowError):
        raise ConversionError(f"invalid time {hour}:{minute}:{second}:{nanos}") from None


def _decimal(text: str) -> Any:
    try:
        value = Decimal(text)
    except (InvalidOperation, TypeError):
        raise ConversionError(f"invalid decimal {text}") from None
    if not value.is_finite():
        raise ConversionError(f"invalid decimal {text}")
    return value


def data_type(oid: int, name: str) -> Any:
    """A column's case: Spin's convert_data_type, or ["Other", type name]."""
    return TYPES.get(oid) or ["Other", name]


def from_sql(oid: int, value: Any) -> list[Any]:
    """One result value as ``[case, payload]`` (convert_entry)."""
    if value is None:
        return ["DbNull"]
    case = TYPES.get(oid)
    if case is None:
        return ["Unsupported", encode_bytes(value if isinstance(value, (bytes, bytearray, memoryview)) else str(value).encode())]
    if case == "Binary":
        return [case, encode_bytes(value)]
    if case == "Datetime":
        if value.tzinfo is not None:
            value = value.astimezone(datetime.UTC).replace(tzinfo=None)
        return [case, [value.year, value.month, value.day, value.hour, value.minute, value.second, value.microsecond * 1000]]
    if case == "Date":
        return [case, [value.year, value.month, value.day]]
    if case == "Time":
        return [case, [value.hour, value.minute, value.second, value.microsecond * 1000]]
    if case == "Uuid":
        return [case, str(value)]
    if case == "Jsonb":
        # serde_json's Value keeps its keys sorted and writes no spaces.
        return [case, encode_bytes(json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode())]
    if case == "Decimal":
        return [case, str(value)]
    if case.startswith("Range"):
        convert = str if case == "RangeDecimal" else int
        lower = None if value.lower is None else [convert(value.lower), "INCLUSIVE" if value.lower_inc else "EXCLUSIVE"]
        upper = None if value.upper is None else [convert(value.upper), "INCLUSIVE" if value.upper_inc else "EXCLUSIVE"]
        return [case, [lower, upper]]
    if case == "ArrayDecimal":
        return [case, [None if v is None else str(v) for v in value]]
    if case == "Interval":
        return [case, {"micros": value.micros, "days": value.days, "months": value.months}]
    return [case, value]
