"""The runtime config's `[llm_compute]` table: where Serverless AI runs (Spin's
crates/runtime-config/src/lib.rs `llm_compute`, crates/factor-llm/src/spin.rs
LlmCompute: `type = "spin"`, local models, or `type = "remote_http"` with `url`,
`auth_token` and `api_type`). The LLM capability reads it; the generic reader
(spin_py/runtime_config.py) knows nothing of it."""

from dataclasses import dataclass

from spin_py.runtime_config import RuntimeConfig

API_TYPES = ("default", "open_ai")


@dataclass(frozen=True)
class LlmCompute:
    type: str = "spin"  # "spin": local models; "remote_http": a model server
    url: str | None = None
    auth_token: str | None = None
    api_type: str = "default"


def llm_compute(runtime_config: RuntimeConfig) -> LlmCompute:
    """The table's settings (Spin's default without one); RuntimeConfigError naming the file and key."""
    if "llm_compute" not in runtime_config.data:
        return LlmCompute()
    table = runtime_config.table("llm_compute")
    kind = table.get("type", "spin")
    if kind == "spin":
        unknown = sorted(set(table) - {"type"})
        if unknown:
            raise runtime_config.error(f"llm_compute.{unknown[0]}", 'unknown key for type "spin"')
        return LlmCompute()
    if kind != "remote_http":
        raise runtime_config.error("llm_compute.type", f'expected "spin" or "remote_http", found {kind!r}')
    unknown = sorted(set(table) - {"type", "url", "auth_token", "api_type"})
    if unknown:
        raise runtime_config.error(f"llm_compute.{unknown[0]}", "unknown key (expected url, auth_token, api_type)")
    for key in ("url", "auth_token"):
        if not isinstance(table.get(key), str) or not table[key]:
            raise runtime_config.error(f"llm_compute.{key}", 'required for type "remote_http" (a string)')
    if not table["url"].startswith(("http://", "https://")):
        raise runtime_config.error("llm_compute.url", f"must be an http:// or https:// URL, found {table['url']!r}")
    api_type = table.get("api_type", "default")
    if api_type not in API_TYPES:
        raise runtime_config.error("llm_compute.api_type", f'expected "default" or "open_ai", found {api_type!r}')
    return LlmCompute("remote_http", table["url"], table["auth_token"], api_type)
