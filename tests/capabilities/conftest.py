"""The capabilities' unit tests' fixture (tests/capability_unit.py has the rest)."""

import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from capability_unit import HEAD, ConfigureCapability, Configured

from spin_py.capabilities.seam import AppContext, Capability, HostContext
from spin_py.config import UpConfig
from spin_py.manifest import load_manifest
from spin_py.runtime_config import RuntimeConfig


@pytest.fixture
def configure_capability(tmp_path: Path) -> Iterator[ConfigureCapability]:
    """``configure_capability(CapabilityClass, components, runtime_config="", flags=None, **up)``:
    the capability configured for ``HEAD + components`` written to a spin.toml in a folder of
    its own (which is also where `spin-py up` runs, for .env), with the runtime config text
    given and ``flags`` as the capability flags' settings; ``up`` sets other UpConfig fields."""
    made: list[Configured] = []

    def configure(capability_class: Callable[[HostContext], Capability], components: str, runtime_config: str = "",
                  flags: dict[str, Any] | None = None, **up: Any) -> Configured:
        folder = tmp_path / f"app{len(made)}"
        folder.mkdir(exist_ok=True)  # a test may have put files (.env) there first
        manifest = folder / "spin.toml"
        manifest.write_text(HEAD + components)
        rc = RuntimeConfig()
        if runtime_config:
            (folder / "runtime-config.toml").write_text(runtime_config)
            rc = RuntimeConfig(folder / "runtime-config.toml", tomllib.loads(runtime_config))
        config = UpConfig(manifest=manifest, capability_flags=dict(flags or {}), **up)
        said: list[str] = []
        capability = capability_class(HostContext(config, said.append))
        context = AppContext(load_manifest(manifest), rc, folder / ".spin", config, cwd=folder)
        configured = Configured(capability, capability.configure(context), context, said)
        made.append(configured)
        return configured

    yield configure
    for configured in made:
        for instance in configured.instances:
            instance.close()
        configured.app.close()
        configured.capability.close()
