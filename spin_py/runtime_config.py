"""Spin's runtime config file (`--runtime-config-file`).

The generic reader: each capability reads its own tables (``table(key)``,
``tables(key)``), as each Spin factor reads its own (crates/factors:
RuntimeConfigSourceFinalizer); this module knows none of them.
"""

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class RuntimeConfigError(Exception):
    """One line naming the file and the key."""


@dataclass(frozen=True)
class RuntimeConfig:
    path: Path | None = None  # None: no --runtime-config-file, Spin's defaults everywhere
    data: dict[str, Any] = field(default_factory=dict)  # the whole file, for the capabilities' own tables

    def table(self, key: str) -> dict[str, Any]:
        """A top-level table (``{}`` when absent); RuntimeConfigError when it is not a table."""
        value = self.data.get(key, {})
        if not isinstance(value, dict):
            raise RuntimeConfigError(f"{self.path}: {key}: must be a table")
        return value

    def tables(self, key: str) -> list[dict[str, Any]]:
        """An array of tables such as ``[[variables_provider]]`` (``[]`` when absent)."""
        value = self.data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            raise RuntimeConfigError(f"{self.path}: {key}: must be an array of tables ([[{key}]])")
        return value

    def error(self, key: str, message: str) -> "RuntimeConfigError":
        return RuntimeConfigError(f"{self.path}: {key}: {message}")


def load_runtime_config(path: str | Path) -> RuntimeConfig:
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise RuntimeConfigError(f"{path}: cannot read the runtime config file: {error.strerror or error}") from None
    except tomllib.TOMLDecodeError as error:
        raise RuntimeConfigError(f"{path}: {error}") from None
    return RuntimeConfig(path, data)
