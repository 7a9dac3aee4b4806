"""Outbound PostgreSQL for every spin-sdk generation, over the host's
``postgres`` capability (crates/factor-outbound-pg/src/host.rs):

- spin-sdk 2.x/3.x ``postgres`` (fermyon:spin/postgres@2.0.0, what
  ``spin_sdk.postgres`` opens there), ``spin_postgres_postgres`` (spin:postgres@3.0.0)
  and ``spin_postgres_postgres_4_0_0``;
- 4.x/5.x ``spin_postgres_postgres_4_2_0`` (what ``spin_sdk.postgres`` opens:
  sync and async, ``query_async`` giving columns, a row stream and a future;
  ``ConnectionBuilder``), ``spin_postgres_postgres_3_0_0``,
  ``fermyon_spin_postgres_2_0_0`` and the unversioned ``fermyon_spin_postgres``
  (functions on an address, ``PgError_*``).
"""

from . import rdbms

CAPABILITY = "postgres"


def bind(module) -> None:
    rdbms.bind_connection(module, CAPABILITY)


def bind_v1(module) -> None:
    rdbms.bind_functions(module, CAPABILITY, prefix="PgError")


PREFIX = "spin_sdk.wit.imports."
BINDINGS = {
    PREFIX + "postgres": bind,  # spin-sdk 2.x, 3.x: spin_sdk.postgres
    PREFIX + "spin_postgres_postgres": bind,
    PREFIX + "spin_postgres_postgres_4_0_0": bind,
    PREFIX + "spin_postgres_postgres_4_2_0": bind,  # spin-sdk 4.x, 5.x: spin_sdk.postgres
    PREFIX + "spin_postgres_postgres_3_0_0": bind,
    PREFIX + "fermyon_spin_postgres_2_0_0": bind,
    PREFIX + "fermyon_spin_postgres": bind_v1,
}
