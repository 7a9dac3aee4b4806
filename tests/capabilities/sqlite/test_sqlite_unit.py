"""SQLite configured from a loaded manifest and called through an Instance, as Spin's
crates/factor-sqlite/tests/factor_test.rs does: `sqlite_databases` checked at startup
with Spin's text, the default database in the state dir for real, `--sqlite`
statements run before serving, and `open` refused for a database the component does
not list. (test_sqlite_host.py tests the engine and the runtime config in depth.)"""

import pytest
from capability_unit import http_component

from spin_py.capabilities.seam import ConfigureError
from spin_py.capabilities.sqlite import SqliteCapability

COMPONENTS = http_component("web", 'sqlite_databases = ["default"]') + http_component("admin")


def test_the_default_database_is_real_and_the_flag_migrates_it(configure_capability) -> None:
    configured = configure_capability(SqliteCapability, COMPONENTS, flags={
        "sqlite_statements": ("CREATE TABLE pets (name TEXT)", "INSERT INTO pets VALUES ('Rex')"),
    })
    state = configured.context.state_dir
    assert configured.app.startup_lines() == [f'Storing default SQLite data to "{state}/sqlite_db.db".']
    web = configured.instance("web")
    connection = configured.call(web, "open", database="default")
    result = configured.call(web, "execute", connection=connection, statement="SELECT name FROM pets", params=[])
    assert result == {"columns": ["name"], "rows": [["Rex"]]}
    configured.call(web, "execute", connection=connection, statement="INSERT INTO pets VALUES (?)", params=["Tom"])
    assert configured.call(web, "changes", connection=connection) == 1


def test_open_is_refused_for_a_database_the_component_does_not_list(configure_capability) -> None:
    configured = configure_capability(SqliteCapability, COMPONENTS)
    admin = configured.instance("admin")
    assert configured.error(admin, "open", database="default").kind == "AccessDenied"
    web = configured.instance("web")
    assert configured.error(web, "open", database="orders").kind == "AccessDenied"  # checked before it is looked up
    assert configured.error(web, "execute", connection=31337, statement="SELECT 1", params=[]).kind == "InvalidConnection"
    assert configured.error(web, "vacuum").message == "unknown sqlite function 'vacuum'"


def test_a_database_nothing_defines_fails_startup_with_spins_text(configure_capability) -> None:
    with pytest.raises(ConfigureError) as caught:
        configure_capability(SqliteCapability, http_component("web", 'sqlite_databases = ["orders"]'))
    assert str(caught.value).splitlines()[0] == "One or more components use SQLite databases which are not defined."
    assert str(caught.value).splitlines()[-1] == "- Component web uses database 'orders'"
