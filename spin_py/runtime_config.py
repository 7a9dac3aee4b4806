"""Spin's runtime config file (`--runtime-config-file`).

Each capability reads its own tables (``table(key)``), as each Spin factor
reads its own (crates/factors: RuntimeConfigSourceFinalizer); `[llm_compute]`,
which says where Serverless AI runs, is parsed here.
"""

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

API_TYPES = ("default", "open_ai")


class RuntimeConfigError(Exception):
    """One line naming the file and the key."""


@dataclass(frozen=True)
class LlmCompute:
    type: str = "spin"  # "spin": local models; "remote_http": a model server
    url: str | None = None
    auth_token: str | None = None
    api_type: str = "default"


@dataclass(frozen=True)
class RuntimeConfig:
    path: Path | None = None  # None: no --runtime-config-file, Spin's defaults everywhere
    llm_compute: LlmCompute = LlmCompute()
    data: dict = field(default_factory=dict)  # the whole file, for the capabilities' own tables

    def table(self, key: str) -> dict:
        """A top-level table (``{}`` when absent); RuntimeConfigError when it is not a table."""
        value = self.data.get(key, {})
        if not isinstance(value, dict):
            raise RuntimeConfigError(f"{self.path}: {key}: must be a table")
        return value

    def tables(self, key: str) -> list:
        """An array of tables such as ``[[variables_provider]]`` (``[]`` when absent)."""
        value = self.data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            raise RuntimeConfigError(f"{self.path}: {key}: must be an array of tables ([[{key}]])")
        return value

    def error(self, key: str, message: str) -> "RuntimeConfigError":
        return RuntimeConfigError(f"{self.path}: {key}: {message}")


def load_runtime_config(path):
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise RuntimeConfigError(f"{path}: cannot read the runtime config file: {error.strerror or error}") from None
    except tomllib.TOMLDecodeError as error:
        raise RuntimeConfigError(f"{path}: {error}") from None
    return RuntimeConfig(path, _llm_compute(path, data), data)


def _llm_compute(path, data):
    def fail(key, message):
        raise RuntimeConfigError(f"{path}: {key}: {message}")

    table = data.get("llm_compute")
    if table is None:
        return LlmCompute()
    if not isinstance(table, dict):
        fail("llm_compute", "must be a table")
    kind = table.get("type", "spin")
    if kind == "spin":
        unknown = sorted(set(table) - {"type"})
        if unknown:
            fail(f"llm_compute.{unknown[0]}", 'unknown key for type "spin"')
        return LlmCompute()
    if kind != "remote_http":
        fail("llm_compute.type", f'expected "spin" or "remote_http", found {kind!r}')
    unknown = sorted(set(table) - {"type", "url", "auth_token", "api_type"})
    if unknown:
        fail(f"llm_compute.{unknown[0]}", "unknown key (expected url, auth_token, api_type)")
    for key in ("url", "auth_token"):
        if not isinstance(table.get(key), str) or not table[key]:
            fail(f"llm_compute.{key}", 'required for type "remote_http" (a string)')
    if not table["url"].startswith(("http://", "https://")):
        fail("llm_compute.url", f"must be an http:// or https:// URL, found {table['url']!r}")
    api_type = table.get("api_type", "default")
    if api_type not in API_TYPES:
        fail("llm_compute.api_type", f'expected "default" or "open_ai", found {api_type!r}')
    return LlmCompute("remote_http", table["url"], table["auth_token"], api_type)
