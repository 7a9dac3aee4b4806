"""What the capabilities share is worked out once per manifest (Spin's factors take
``ctx.app_state::<OutboundNetworkingFactor>()``): every capability of the table,
configured from one AppContext, answers from the same variables resolver and the same
outbound networking, and the manifest load reads .env once. And a manifest edit that
changes only fields the capabilities declare as host-side keeps a component's workers."""

from pathlib import Path
from typing import Any

import pytest

import spin_py.capabilities.variables.resolver as resolver_module
from spin_py.capabilities import capability_classes, load_capabilities
from spin_py.capabilities.outbound_access import OutboundApp
from spin_py.capabilities.seam import AppContext, HostContext
from spin_py.config import UpConfig
from spin_py.host.runtime import _same_worker
from spin_py.manifest import load_manifest
from spin_py.runtime_config import RuntimeConfig

MANIFEST = """
spin_manifest_version = 2

[application]
name = "shared"

[variables]
db_host = { required = true }

[[trigger.http]]
route = "/..."
component = "web"

[component.web]
source = "web.wasm"
allowed_outbound_hosts = ["postgres://{{ db_host }}:5432", "redis://{{ db_host }}:6379"]
ai_models = ["llama2-chat"]
key_value_stores = ["default"]
sqlite_databases = ["default"]
[component.web.variables]
host = "{{ db_host }}"
"""


def test_every_capability_shares_one_resolver_and_one_networking(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "spin.toml").write_text(MANIFEST)
    (tmp_path / ".env").write_text("SPIN_VARIABLE_DB_HOST=db.example\n")
    reads = []
    real = resolver_module.read_dotenv
    monkeypatch.setattr(resolver_module, "read_dotenv", lambda path: reads.append(path) or real(path))
    config = UpConfig(manifest=tmp_path / "spin.toml", ai_engine="deterministic")
    capabilities = load_capabilities(HostContext(config, lambda line: None))
    context = AppContext(load_manifest(tmp_path / "spin.toml"), RuntimeConfig(), tmp_path / ".spin", config, cwd=tmp_path)
    configured = {capability.name: capability.configure(context) for capability in capabilities}
    try:
        assert reads == [tmp_path / ".env"]
        assert configured["variables"].resolver is context.variables()  # type: ignore[attr-defined]
        networking = context.networking()
        outbound = [app for app in configured.values() if isinstance(app, OutboundApp)]
        assert {app.access.networking for app in outbound} == {networking}
        assert {type(app).__name__ for app in outbound} == {"RedisApp", "PostgresApp", "MysqlApp", "MqttApp"}
        assert configured["outbound_http"].networking is networking  # type: ignore[attr-defined]
        # The component's own sockets get the same hosts, resolved with the same .env value.
        assert "db.example" in str(networking.socket_rules("web"))
    finally:
        for app in configured.values():
            app.close()
        for capability in capabilities:
            capability.close()


def test_only_the_declared_host_side_fields_keep_the_workers(tmp_path: Path) -> None:
    def component(extra: str) -> Any:
        (tmp_path / "spin.toml").write_text(MANIFEST.replace('ai_models = ["llama2-chat"]', extra))
        return load_manifest(tmp_path / "spin.toml").components["web"]

    host_fields = frozenset(name for capability in capability_classes() for name in capability.host_fields)
    assert host_fields == {"ai_models", "key_value_stores", "sqlite_databases", "variables"}
    before = component('ai_models = ["llama2-chat"]')
    assert _same_worker(before, component('ai_models = ["codellama-instruct"]'), host_fields)
    assert not _same_worker(before, component('ai_models = ["llama2-chat"]\nenvironment = { A = "1" }'), host_fields)
