"""What PostgreSQL and MySQL share on the channel: Spin's rdbms error kinds, and
values as ``[case, payload]`` with the WIT case names the SDK's classes carry
(``["Int32", 7]``, ``["Str", "x"]``, ``["DbNull"]``; bytes as seam.encode_bytes;
tuples as lists; a range bound as ``[value, "INCLUSIVE" | "EXCLUSIVE"]``; an
interval as ``{"micros", "days", "months"}``). A column is ``{"name", "type"}``
with ``type`` a case name, or ``["Other", pg type name]``.

Each connection remembers the value cases of the interface that opened it, and
its results use only those, as Spin's conversions in
crates/world/src/conversions.rs narrow spin:postgres@4.2.0 values to older
interfaces (a case they lack is Unsupported, a column type Other).
"""

from typing import Any

from spin_py.capabilities.errors import CapabilityError
from spin_py.capabilities.seam import Args, Instance, UnknownHandle

CONNECTION_FAILED = "ConnectionFailed"
BAD_PARAMETER = "BadParameter"
QUERY_FAILED = "QueryFailed"  # message: JSON {"text"} or {"db": {...}} (spin:postgres@4.2.0's QueryError)
VALUE_CONVERSION_FAILED = "ValueConversionFailed"
OTHER = "Other"

UNSIGNED = ("Uint8", "Uint16", "Uint32", "Uint64")


def value_set(args: Args) -> frozenset[str]:
    """The value cases of the guest's interface generation (``DbValue_*`` names it has), sent at `open`."""
    cases = args.get("cases")
    if not isinstance(cases, list) or not all(isinstance(case, str) for case in cases):
        raise CapabilityError(OTHER, "open needs the interface's value cases")
    return frozenset(cases)


def narrowed(value: list[Any], cases: frozenset[str]) -> list[Any]:
    """A value as an older interface sees it: a case it lacks is Unsupported."""
    return value if value[0] in cases or value[0] == "DbNull" else ["Unsupported", *value[1:2]] if value[0] == "Unsupported" else ["Unsupported"]


def narrowed_type(data_type: Any, cases: frozenset[str]) -> Any:
    if isinstance(data_type, list) or data_type not in cases:
        return data_type if isinstance(data_type, list) else ["Other", data_type]
    return data_type


def connection(instance: Instance, kind: str, args: Args) -> Any:
    try:
        return instance.get(kind, args.get("connection"))
    except UnknownHandle:
        # crates/factor-outbound-{pg,mysql}/src/host.rs get_client
        raise CapabilityError(CONNECTION_FAILED, "no connection found") from None


def params(args: Args) -> list[list[Any]]:
    value = args.get("params")
    if not isinstance(value, list) or not all(isinstance(p, list) and p and isinstance(p[0], str) for p in value):
        raise CapabilityError(OTHER, "the params must be a list of [case, value]")
    return value
