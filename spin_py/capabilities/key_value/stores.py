"""Which store backs each label: `[key_value_store.<label>]` tables of the
runtime config, over Spin's `default` store in the state dir
(crates/runtime-config/src/lib.rs `key_value_config_resolver`,
crates/factor-key-value/src/runtime_config/spin.rs)."""

import os
from pathlib import Path
from typing import Any, Protocol

from spin_py.capabilities.key_value.redis_store import RedisStoreManager, check_url
from spin_py.capabilities.key_value.sqlite_store import SqliteStoreManager
from spin_py.runtime_config import RuntimeConfig


class Cas(Protocol):
    """One compare-and-swap on a key (wasi:keyvalue/atomics)."""

    def current(self) -> bytes | None: ...

    def swap(self, value: bytes) -> bool: ...

    def renew(self) -> "Cas": ...


class Store(Protocol):
    """One label's store as a request sees it (crates/factor-key-value: the Store trait); every
    call keeps to the request's limits and fails with CapabilityError."""

    def get(self, key: str) -> bytes | None: ...

    def set(self, key: str, value: bytes) -> None: ...

    def delete(self, key: str) -> None: ...

    def exists(self, key: str) -> bool: ...

    def get_keys(self) -> list[str]: ...

    def get_many(self, keys: list[str]) -> list[tuple[str, bytes]]: ...

    def set_many(self, pairs: list[tuple[str, bytes]]) -> None: ...

    def delete_many(self, keys: list[str]) -> None: ...

    def increment(self, key: str, delta: int) -> int: ...

    def compare_and_swap(self, key: str) -> Cas: ...


class StoreManager(Protocol):
    """A backend (crates/factor-key-value: the StoreManager trait), kept across manifest edits."""

    def store(self, label: str, request: Any = None) -> Store: ...

    def summary(self) -> str: ...

    def close(self) -> None: ...

TABLE = "key_value_store"
DEFAULT_LABEL = "default"
DEFAULT_FILENAME = "sqlite_key_value.db"  # crates/runtime-config/src/lib.rs DEFAULT_SPIN_STORE_FILENAME
NOT_PROVIDED_TYPES = ("azure_cosmos", "aws_dynamo")  # Spin's other store types


class StoreConfigError(Exception):
    """(key under the runtime config, message)."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key
        self.message = message


def wanted_stores(runtime_config: RuntimeConfig, state_dir: Path) -> dict[str, tuple[str, Any]]:
    """{label: (type, setting)}: ("spin", absolute path or None for in-memory) or ("redis", url).
    Raises StoreConfigError for a table Spin would refuse."""
    wanted: dict[str, tuple[str, Any]] = {DEFAULT_LABEL: ("spin", Path(os.path.abspath(Path(state_dir) / DEFAULT_FILENAME)))}
    base = Path(os.path.abspath(runtime_config.path)).parent if runtime_config.path else None
    for label, table in runtime_config.table(TABLE).items():
        key = f"{TABLE}.{label}"
        if not isinstance(table, dict):
            raise StoreConfigError(key, "must be a table")
        kind = table.get("type")
        if kind is None:
            raise StoreConfigError(key, "missing field `type`")
        if kind == "spin":
            path = table.get("path")
            if path is not None and not isinstance(path, str):
                raise StoreConfigError(f"{key}.path", "must be a string")
            if path is None:
                wanted[label] = ("spin", None)  # Spin: no path, a temporary in-memory store
            else:
                # Relative to the runtime config file's folder (crates/key-value-spin/src/lib.rs).
                wanted[label] = ("spin", Path(os.path.abspath(Path(path) if base is None else base / path)))
        elif kind == "redis":
            url = table.get("url")
            if not isinstance(url, str):
                raise StoreConfigError(f"{key}.url", "missing field `url`" if url is None else "must be a string")
            problem = check_url(url)
            if problem:
                raise StoreConfigError(f"{key}.url", f"{problem}: {url!r}")
            wanted[label] = ("redis", url)
        elif kind in NOT_PROVIDED_TYPES:
            raise StoreConfigError(f"{key}.type", f"the store type '{kind}' is not provided by spin-py (it provides 'spin' and 'redis')")
        else:
            # crates/factor-key-value/src/runtime_config/spin.rs store_manager_from_config
            raise StoreConfigError(f"{key}.type", f"the store type '{kind}' was not registered with the config resolver")
    return wanted


def make_manager(kind: str, setting: Any, label: str) -> StoreManager:
    if kind == "redis":
        return RedisStoreManager(setting)
    if setting is not None:
        try:
            setting.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            # crates/key-value-spin/src/lib.rs (its quote is unbalanced there too)
            raise StoreConfigError(
                f"{TABLE}.{label}", f"failed to create key value store's parent directory: '{setting.parent}: {error.strerror or error}"
            ) from None
    return SqliteStoreManager(setting)
