"""Outbound MySQL for every spin-sdk generation, over the host's ``mysql``
capability (crates/factor-outbound-mysql/src/host.rs):

- spin-sdk 2.x/3.x ``mysql`` and 4.x/5.x ``fermyon_spin_mysql_2_0_0``
  (fermyon:spin/mysql@2.0.0: what ``spin_sdk.mysql`` opens in 2.x-4.x);
- 5.x ``spin_mysql_mysql_3_0_0`` (spin:mysql@3.0.0, what ``spin_sdk.mysql``
  opens in 5.x: async, ``query`` giving columns, a row stream and a future);
- 4.x/5.x ``fermyon_spin_mysql`` (unversioned: functions on an address, ``MysqlError_*``).

``execute`` returns nothing in every MySQL interface.
"""

from . import rdbms

CAPABILITY = "mysql"


def bind(module) -> None:
    rdbms.bind_connection(module, CAPABILITY, execute_returns=False)


def bind_v1(module) -> None:
    rdbms.bind_functions(module, CAPABILITY, prefix="MysqlError", execute_returns=False)


PREFIX = "spin_sdk.wit.imports."
BINDINGS = {
    PREFIX + "mysql": bind,  # spin-sdk 2.x, 3.x: spin_sdk.mysql
    PREFIX + "fermyon_spin_mysql_2_0_0": bind,  # spin-sdk 4.x: spin_sdk.mysql
    PREFIX + "spin_mysql_mysql_3_0_0": bind,  # spin-sdk 5.x: spin_sdk.mysql
    PREFIX + "fermyon_spin_mysql": bind_v1,
}
