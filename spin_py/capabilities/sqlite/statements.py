"""`spin-py up --sqlite`: statements run against the app's databases before it
serves, as `spin up --sqlite` runs them (crates/trigger/src/cli/sqlite_statements.rs):
a literal statement against `default`, `@file.sql` against `default`, and
`@file.sql:label` against the database defined under that label. Errors carry
Spin's texts, with their causes below them as Spin prints them."""

from collections.abc import Iterable
from pathlib import Path

from spin_py.capabilities.sqlite.databases import DEFAULT_LABEL, Database
from spin_py.capabilities.sqlite.engine import Connection, SqliteError


class StatementError(Exception):
    """A --sqlite statement that fails: Spin's message, then its causes."""

    def __init__(self, message: str, *causes: str) -> None:
        self.message = message
        self.causes = causes
        super().__init__(_spin_error_text(message, causes))


def _spin_error_text(message: str, causes: tuple[str, ...]) -> str:
    # anyhow's {:?}, as `spin up` prints an error that stops it.
    if not causes:
        return message
    if len(causes) == 1:
        return f"{message}\n\nCaused by:\n    {causes[0]}"
    return f"{message}\n\nCaused by:\n" + "\n".join(f"    {n}: {cause}" for n, cause in enumerate(causes))


def parse_file_and_label(config: str) -> tuple[str, str]:
    """The `FILE[:LABEL]` after `@` (sqlite_statements.rs parse_file_and_label)."""
    config = config.strip()
    if not config:
        raise StatementError(f"database configuration is empty in the '@{config}' sqlite statement")
    file, sep, label = config.partition(":")
    if not sep:
        return config, DEFAULT_LABEL
    if not label.strip():
        raise StatementError(f"database label is empty in the '@{config}' sqlite statement")
    if not file.strip():
        raise StatementError(f"file path is empty in the '@{config}' sqlite statement")
    return file.strip(), label.strip()


def run_statements(statements: Iterable[str], databases: dict[str, Database]) -> None:
    """Run each statement in order; StatementError for the first that fails."""
    for statement in statements:
        if statement.startswith("@"):
            config = statement[1:]
            file, label = parse_file_and_label(config)
            database = databases.get(label)
            if database is None:
                raise StatementError(
                    f"based on the '@{config}' a registered database named '{label}' was expected but not found."
                )
            try:
                sql = Path(file).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as error:
                raise StatementError(f"could not read file '{file}' containing sql statements", _io_text(error)) from None
            connection = _connect(database)
            try:
                connection.execute_batch(sql)
            except SqliteError as error:
                raise StatementError(
                    f"failed to execute sql against database '{label}' from file '{file}'",
                    "failed to execute batch statements",
                    error.message,
                ) from None
            finally:
                connection.close()
        else:
            connection = _connect(databases[DEFAULT_LABEL])
            try:
                connection.query(statement, [])
            except SqliteError as error:
                raise StatementError(
                    f"failed to execute following sql statement against default database: '{statement}'", error.message
                ) from None
            finally:
                connection.close()


def _connect(database: Database) -> Connection:
    if database.create_folder_on_open and database.path is not None:
        try:
            database.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise StatementError(f"failed connect to database with label '{database.label}'", _io_text(error)) from None
    return Connection(database.path, database.allow_attach_file)


def _io_text(error: BaseException) -> str:
    """Rust's io::Error Display: "No such file or directory (os error 2)"."""
    if isinstance(error, OSError) and error.errno is not None:
        return f"{error.strerror} (os error {error.errno})"
    if isinstance(error, UnicodeDecodeError):
        return "stream did not contain valid UTF-8"
    return str(error)
