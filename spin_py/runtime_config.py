"""Spin's runtime config file (`--runtime-config-file`): the `[llm_compute]`
table says where Serverless AI runs. Spin's other tables (key_value_store,
sqlite_database, variables_provider, ...) are accepted and not used yet."""

import tomllib
from dataclasses import dataclass
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
    path: Path | None = None
    llm_compute: LlmCompute = LlmCompute()


def load_runtime_config(path):
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise RuntimeConfigError(f"{path}: cannot read the runtime config file: {error.strerror or error}") from None
    except tomllib.TOMLDecodeError as error:
        raise RuntimeConfigError(f"{path}: {error}") from None

    def fail(key, message):
        raise RuntimeConfigError(f"{path}: {key}: {message}")

    table = data.get("llm_compute")
    if table is None:
        return RuntimeConfig(path)
    if not isinstance(table, dict):
        fail("llm_compute", "must be a table")
    kind = table.get("type", "spin")
    if kind == "spin":
        unknown = sorted(set(table) - {"type"})
        if unknown:
            fail(f"llm_compute.{unknown[0]}", 'unknown key for type "spin"')
        return RuntimeConfig(path)
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
    return RuntimeConfig(path, LlmCompute("remote_http", table["url"], table["auth_token"], api_type))
