"""The error kinds of the SQLite host calls: Spin's variants
(wit/deps/spin-sqlite@3.1.0/sqlite.wit `error`, the same in fermyon:spin@2.0.0
and the unversioned interface), raised as CapabilityError(kind, message).
Each guest binding maps them to its SDK generation's own variant."""

NO_SUCH_DATABASE = "NoSuchDatabase"  # no database is defined under that label
ACCESS_DENIED = "AccessDenied"  # the label is not in the component's sqlite_databases
INVALID_CONNECTION = "InvalidConnection"  # a connection this request never opened, or has closed
DATABASE_FULL = "DatabaseFull"
IO = "Io"  # everything SQLite itself says, with rusqlite's text

# crates/factor-sqlite/src/host.rs open_impl: the resource table holds 256 connections.
MAX_CONNECTIONS = 256
TOO_MANY_CONNECTIONS = "too many connections opened"
