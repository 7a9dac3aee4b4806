"""Outbound PostgreSQL in the host (crates/factor-outbound-pg/src/host.rs, client.rs).

`open` reads the connection string as tokio-postgres does (a URL or
``key=value`` pairs, via libpq's parser), checks each host against the
component's allowed_outbound_hosts with the ``postgres`` scheme, and connects;
the connection is this request's own (Spin takes one from a pool per address;
spin-py opens one per `open`), in autocommit as Spin's statements run. The host
calls (values as spin_py/capabilities/rdbms.py describes):

  ``open``     ``{"address", "cases"}`` -> connection handle
  ``query``    ``{"connection", "statement", "params"}`` -> ``{"columns", "rows"}``
  ``execute``  ``{"connection", "statement", "params"}`` -> rows affected
  ``close``    ``{"connection"}``

``cases`` are the value cases the guest's interface has (its DbValue classes).
As in Spin, the columns of a query come from its first row, so a
query that returns no rows has no columns.

A call keeps to its request's limits (seam.Instance.ended): `open` waits for the
server no longer than the time limit allows, and a statement still running when
the time limit passes, the client leaves or the turn ends is cancelled on the
server (PostgreSQL's cancel request, so the server lets go of what it holds; the
connection is cut if the server does not answer, capabilities/limits.py) and the
call fails with QueryFailed(the reason).
"""

import json
import math
from typing import Any, ClassVar

from spin_py.capabilities import rdbms
from spin_py.capabilities.errors import CapabilityError
from spin_py.capabilities.limits import GRACE, cut_socket, watched
from spin_py.capabilities.outbound_access import OutboundApp, OutboundCapability
from spin_py.capabilities.rdbms import BAD_PARAMETER, CONNECTION_FAILED, QUERY_FAILED, VALUE_CONVERSION_FAILED
from spin_py.capabilities.seam import Args, HostFunction, Instance, text_arg
from spin_py.capabilities.sizes import MAX_HOST_BUFFERED_BYTES

NAME = "postgres"
CONNECTION = "postgres.connection"
MAX_RESULT_BYTES = MAX_HOST_BUFFERED_BYTES
CONNECT_TIMEOUT = 10  # seconds


class PgConnection:
    def __init__(self, connection: Any, interface: frozenset[str]) -> None:
        self.connection = connection
        self.interface = interface

    def close(self) -> None:
        self.connection.close()


class PostgresApp(OutboundApp):
    CONNECTION = CONNECTION
    WHAT = "outbound PostgreSQL"

    def call_open(self, instance: Instance, args: Args) -> Any:
        address = text_arg(args, "address")
        interface = rdbms.value_set(args)
        self._check_address(instance.component_id, address)
        import psycopg

        from spin_py.capabilities.postgres.values import register

        _stop_if_ended(instance, CONNECTION_FAILED)
        left = instance.seconds_left()
        # libpq takes whole seconds, and treats less than 2 as 2.
        timeout = CONNECT_TIMEOUT if left is None else max(1, min(CONNECT_TIMEOUT, math.ceil(left)))
        try:
            # RawCursor: the statement goes as written, with PostgreSQL's own $1 placeholders.
            connection = psycopg.connect(address, autocommit=True, connect_timeout=timeout, cursor_factory=psycopg.RawCursor)
        except psycopg.Error as error:
            reason = instance.ended()
            raise CapabilityError(CONNECTION_FAILED, reason or str(error).strip()) from None
        register(connection)
        return instance.add(CONNECTION, PgConnection(connection, interface))

    def _check_address(self, component_id: str, address: str) -> None:
        """allowed_hosts.rs ensure_address_allowed: each host of the connection string."""
        from psycopg import conninfo

        try:
            settings = conninfo.conninfo_to_dict(address)
        except Exception as error:
            raise CapabilityError(CONNECTION_FAILED, str(error).strip()) from None
        hosts = [h for h in str(settings.get("host", "")).split(",") if h] or ["localhost"]
        ports = [p for p in str(settings.get("port", "")).split(",") if p]
        for index, host in enumerate(hosts):
            if host.startswith("/"):
                raise CapabilityError(CONNECTION_FAILED, "Unix sockets are not supported on WebAssembly")
            port = ports[index] if index < len(ports) else ports[0] if len(ports) == 1 else None
            url = f"{host}:{port}" if port else host
            if not self.access.allows(component_id, url, "postgres"):
                raise CapabilityError(CONNECTION_FAILED, f"address postgres://{url} is not permitted")

    def call_query(self, instance: Instance, args: Args) -> Any:
        return self._run(instance, "query", args)

    def call_execute(self, instance: Instance, args: Args) -> Any:
        return self._run(instance, "execute", args)

    def _run(self, instance: Instance, function: str, args: Args) -> Any:
        import psycopg

        from spin_py.capabilities.postgres.values import ConversionError, to_sql

        pg = rdbms.connection(instance, CONNECTION, args)
        statement = text_arg(args, "statement")
        wire = rdbms.params(args)
        if any(p[0] in rdbms.UNSIGNED for p in wire):
            # crates/world/src/conversions.rs: v2 parameters to spin:postgres@4.2.0
            raise CapabilityError(VALUE_CONVERSION_FAILED, "Postgres does not support unsigned integers")
        try:
            values = [to_sql(p) for p in wire]
        except (ConversionError, TypeError, ValueError, KeyError, IndexError) as error:
            kind = VALUE_CONVERSION_FAILED if function == "execute" else BAD_PARAMETER
            raise CapabilityError(kind, str(error)) from None
        _stop_if_ended(instance)
        connection = pg.connection
        try:
            with watched(instance.ended, lambda: connection.cancel_safe(timeout=GRACE),
                         lambda: cut_socket(connection.fileno())) as call:
                result = _statement(pg, function, statement, values)
        except psycopg.Error as error:
            from spin_py.capabilities.postgres.errors import query_failed

            _stop_if_ended(instance)
            raise query_failed(error) from None
        if call is not None and call.reason is not None:
            raise _ended_error(call.reason)  # stopped, though the statement's answer came first
        return result

    functions: ClassVar[dict[str, HostFunction]] = {
        "open": call_open,
        "query": call_query,
        "execute": call_execute,
        "close": OutboundApp.call_close,
    }


def _statement(pg: PgConnection, function: str, statement: str, values: list[Any]) -> Any:
    from spin_py.capabilities.postgres.values import data_type, from_sql

    with pg.connection.cursor(binary=True) as cursor:
        cursor.execute(statement, values or None, prepare=False)
        if function == "execute":
            return max(cursor.rowcount, 0)
        if cursor.description is None:
            return {"columns": [], "rows": []}
        oids = [(column.type_code, _type_name(pg.connection, column.type_code)) for column in cursor.description]
        names = [column.name for column in cursor.description]
        rows, size = [], 0
        for row in cursor:
            converted = [rdbms.narrowed(from_sql(oid, value), pg.interface) for (oid, _), value in zip(oids, row, strict=False)]
            size += sum(len(json.dumps(value)) for value in converted)
            if size > MAX_RESULT_BYTES:
                raise CapabilityError(QUERY_FAILED, json.dumps({"text": f"query result exceeds limit of {MAX_RESULT_BYTES} bytes"}))
            rows.append(converted)
    columns = [{"name": name, "type": rdbms.narrowed_type(data_type(oid, type_name), pg.interface)}
               for name, (oid, type_name) in zip(names, oids, strict=False)] if rows else []
    return {"columns": columns, "rows": rows}


def _ended_error(reason: str, kind: str = QUERY_FAILED) -> CapabilityError:
    return CapabilityError(kind, json.dumps({"text": reason}) if kind == QUERY_FAILED else reason)


def _stop_if_ended(instance: Instance, kind: str = QUERY_FAILED) -> None:
    reason = instance.ended()
    if reason is not None:
        raise _ended_error(reason, kind)


class PostgresCapability(OutboundCapability):
    name: ClassVar[str] = NAME
    App = PostgresApp


def _type_name(connection: Any, oid: int) -> str:
    from psycopg.postgres import types

    info = types.get(oid)
    if info is not None:
        return info.name
    try:
        found = connection.execute("SELECT typname FROM pg_type WHERE oid = %s", [oid]).fetchone()
    except Exception:
        return str(oid)
    return found[0] if found else str(oid)
