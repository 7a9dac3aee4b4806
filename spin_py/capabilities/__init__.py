"""Host capabilities: what a guest's host calls reach, one folder each, all of
one shape (see seam.py). The server knows them only through this table:
adding a capability is adding its folder and one line here (and its guest
binding in spin_py/guest/bindings/)."""

import importlib
from dataclasses import dataclass

# "module:Class", imported when the server starts, so `spin-py --help` imports none of them.
CAPABILITIES = (
    "spin_py.capabilities.llm:LlmCapability",
    "spin_py.capabilities.sqlite:SqliteCapability",
    "spin_py.capabilities.key_value:KeyValueCapability",
    "spin_py.capabilities.variables:VariablesCapability",
    "spin_py.capabilities.redis:RedisCapability",
    "spin_py.capabilities.postgres:PostgresCapability",
    "spin_py.capabilities.mysql:MysqlCapability",
    "spin_py.capabilities.mqtt:MqttCapability",
    "spin_py.capabilities.outbound_http:OutboundHttpCapability",
)


@dataclass(frozen=True)
class NotProvided:
    """A Spin capability that spin-py does not provide yet: named at startup for
    each component whose manifest asks for it; its calls fail with the SDK's
    own error type saying so (spin_py/guest/bindings/not_provided.py)."""

    name: str  # as the user knows it
    schemes: tuple  # allowed_outbound_hosts schemes that ask for it


NOT_PROVIDED = ()


def load_capabilities(host) -> list:
    """One instance of each capability for the life of `spin-py up` (Spin's Factor::init)."""
    capabilities = []
    for entry in CAPABILITIES:
        module, _, name = entry.partition(":")
        capabilities.append(getattr(importlib.import_module(module), name)(host))
    return capabilities


def not_provided_lines(app) -> list[str]:
    """Startup lines: each component whose allowed_outbound_hosts asks for what spin-py does not provide."""
    lines = []
    for component in app.components.values():
        for capability in NOT_PROVIDED:
            asked = [host for host in component.allowed_outbound_hosts if _scheme(host) in capability.schemes]
            if asked:
                lines.append(
                    f"Component '{component.id}' allows {', '.join(asked)}: spin-py does not provide "
                    f"{capability.name} yet, so those calls fail with an error saying so"
                )
    return lines


def _scheme(host):
    scheme, sep, _ = host.partition("://")
    return scheme.lower() if sep else None
