"""What the capabilities' unit tests share (the fixture is tests/capabilities/conftest.py's
``configure_capability``), after Spin's tests/factor_test.rs per factor: an
inline manifest loaded for real, the capability configured for it as `spin-py up` would
(one AppContext, the flags as UpConfig holds them), and per-request Instances whose host
calls go through Instance.call, as a worker's do. No spin-py up, no worker."""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from spin_py.capabilities.errors import CapabilityError
from spin_py.capabilities.seam import AppCapability, AppContext, Capability, Instance

HEAD = 'spin_manifest_version = 2\n\n[application]\nname = "unit"\n\n'


def http_component(component_id: str, extra: str = "") -> str:
    """A component with a route, and ``extra`` lines in its table (``ai_models = [...]`` ...)."""
    return (f'[[trigger.http]]\nroute = "/{component_id}/..."\ncomponent = "{component_id}"\n\n'
            f'[component.{component_id}]\nsource = "{component_id}.wasm"\n{extra}\n\n')


@dataclass
class Configured:
    """A capability configured for one manifest, and what it said on the terminal."""

    capability: Capability
    app: AppCapability
    context: AppContext
    said: list[str]
    instances: list[Instance] = field(default_factory=list)

    def instance(self, component_id: str = "web", **limits: Any) -> Instance:
        """A fresh request's instance of ``component_id`` (closed at the test's end)."""
        instance = Instance(component_id, lambda: {self.capability.name: self.app}, **limits)
        self.instances.append(instance)
        return instance

    def call(self, instance: Instance, function: str, **args: Any) -> Any:
        return instance.call(self.capability.name, function, args)

    def error(self, instance: Instance, function: str, **args: Any) -> CapabilityError:
        """The CapabilityError the call fails with (the test fails if it does not)."""
        with pytest.raises(CapabilityError) as caught:
            instance.call(self.capability.name, function, args)
        return caught.value


ConfigureCapability = Callable[..., Configured]
