"""Which database backs each label: `[sqlite_database.<label>]` tables of the
runtime config, over Spin's `default` database in the state dir
(crates/sqlite/src/lib.rs RuntimeConfigResolver, crates/runtime-config/src/lib.rs
sqlite_config_resolver), and Spin's check that every database a component
names is defined (crates/factor-sqlite/src/lib.rs ensure_allowed_databases_are_configured)."""

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from spin_py.runtime_config import RuntimeConfig

TABLE = "sqlite_database"
DEFAULT_LABEL = "default"
DEFAULT_FILENAME = "sqlite_db.db"  # crates/sqlite/src/lib.rs DEFAULT_SQLITE_DB_FILENAME
SPIN_KEYS = ("path", "allow_attach_file")  # crates/sqlite/src/lib.rs InProcDatabase (deny_unknown_fields)
LIBSQL_KEYS = ("url", "token")  # LibSqlDatabase
NOT_PROVIDED_TYPES = ("libsql",)


@dataclass(frozen=True)
class Database:
    label: str
    path: Path | None  # None: each connection gets its own temporary in-memory database, as in Spin
    allow_attach_file: bool = False
    create_folder_on_open: bool = False  # the default's folder is made when it is opened, others' at startup

    def summary(self) -> str:
        """crates/sqlite-inproc/src/lib.rs InProcConnection::summary."""
        return "a temporary in-memory database" if self.path is None else f'"{self.path}"'


def default_database(state_dir: str | Path) -> Database:
    return Database(DEFAULT_LABEL, Path(os.path.abspath(Path(state_dir) / DEFAULT_FILENAME)), create_folder_on_open=True)


def read_databases(runtime_config: RuntimeConfig, state_dir: str | Path) -> dict[str, Database]:
    """{label: Database}; RuntimeConfigError (file: key: message) for a table Spin refuses."""
    databases = {}
    for label, table in runtime_config.table(TABLE).items():
        key = f"{TABLE}.{label}"
        if not isinstance(table, dict):
            raise runtime_config.error(key, "must be a table")
        kind = table.get("type")
        if kind is None:
            raise runtime_config.error(key, "missing field `type`")
        if kind == "spin":
            databases[label] = _spin_database(runtime_config, key, label, table)
        elif kind in NOT_PROVIDED_TYPES:
            _check_libsql(runtime_config, key, table)
            raise runtime_config.error(
                f"{key}.type", f"the database type '{kind}' is not provided by spin-py (it provides 'spin')"
            )
        else:
            # crates/sqlite/src/lib.rs get_connection_creator
            raise runtime_config.error(f"{key}.type", f"Unknown database kind: {kind}")
    databases.setdefault(DEFAULT_LABEL, default_database(state_dir))
    return databases


def _unknown_field(runtime_config: RuntimeConfig, key: str, table: dict[str, Any], expected: tuple[str, ...]) -> None:
    unknown = sorted(set(table) - {"type", *expected})
    if unknown:
        names = " or ".join(f"`{name}`" for name in expected)
        raise runtime_config.error(f"{key}.{unknown[0]}", f"unknown field `{unknown[0]}`, expected {names}")


def _spin_database(runtime_config: RuntimeConfig, key: str, label: str, table: dict[str, Any]) -> Database:
    _unknown_field(runtime_config, key, table, SPIN_KEYS)
    path = table.get("path")
    if path is not None and not isinstance(path, str):
        raise runtime_config.error(f"{key}.path", "must be a string")
    attach = table.get("allow_attach_file", False)
    if not isinstance(attach, bool):
        raise runtime_config.error(f"{key}.allow_attach_file", "must be true or false")
    if path is None:
        return Database(label, None, attach)
    # Relative to the directory spin-py runs in, as Spin resolves it (crates/runtime-config/src/lib.rs
    # sqlite_config_resolver: std::env::current_dir()), not to the runtime config file.
    resolved = Path(os.path.abspath(path))
    try:
        resolved.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        # crates/sqlite-inproc/src/lib.rs InProcDatabaseLocation::from_path
        raise runtime_config.error(
            f"{key}.path", f"failed to create sqlite database directory '{resolved.parent}': {error.strerror or error}"
        ) from None
    return Database(label, resolved, attach)


def _check_libsql(runtime_config: RuntimeConfig, key: str, table: dict[str, Any]) -> None:
    _unknown_field(runtime_config, key, table, LIBSQL_KEYS)
    for name in LIBSQL_KEYS:
        if not isinstance(table.get(name), str):
            raise runtime_config.error(f"{key}.{name}", f"missing field `{name}`" if name not in table else "must be a string")
    url = table["url"]
    if not url.startswith(("https://", "http://")):
        # crates/sqlite/src/lib.rs check_url, with its context
        raise runtime_config.error(
            f"{key}.url",
            f"unexpected libSQL URL '{url}' in runtime config file: URL does not start with 'https://' or "
            "'http://'. Spin currently only supports talking to libSQL databases over HTTP(S)",
        )


def undefined_databases_text(app: Any, databases: dict[str, Database]) -> str | None:
    """Spin's startup error when a component names a database nothing defines, else None."""
    errors = [
        f"- Component {component.id} uses database '{label}'"
        for component in app.components.values()
        for label in dict.fromkeys(component.sqlite_databases)
        if label not in databases
    ]
    if not errors:
        return None
    # crates/factor-sqlite/src/lib.rs ensure_allowed_databases_are_configured
    return "\n".join(
        [
            "One or more components use SQLite databases which are not defined.",
            "Check the spelling, or pass a runtime configuration file that defines these stores.",
            "See https://spinframework.dev/dynamic-configuration#sqlite-storage-runtime-configuration",
            "Details:",
            *errors,
        ]
    )
