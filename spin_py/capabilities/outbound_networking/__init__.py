"""Outbound networking as Spin's factor-outbound-networking checks it: each component's
``allowed_outbound_hosts`` parsed and matched as Spin does (allowed_hosts.py), for every
capability that opens a connection (outbound HTTP today; Redis, PostgreSQL, MySQL, MQTT
when spin-py provides them), and for the guest's own sockets (spin_py/guest/network_guard.py).

    networking = ComponentNetworking.configure(app, resolver)   # ConfigureError with Spin's text
    networking.hosts("component-id")                              # AllowedHosts (or raises AllowedHostError)
"""

from typing import Any

from spin_py.capabilities.outbound_networking.allowed_hosts import (
    AllowedHostConfig,
    AllowedHostError,
    AllowedHosts,
    OutboundUrl,
    denial_lines,
    service_chaining_target,
)
from spin_py.capabilities.variables.errors import PROVIDER, VariablesError
from spin_py.wire.rust_text import rust_debug


class DefaultsResolver:
    """The variables' manifest defaults only: what Spin's loader validates templates with."""

    def __init__(self, variables: dict) -> None:
        self.variables = variables

    def resolve_variable(self, name: str) -> str:
        variable = self.variables.get(name)
        if variable is None or variable.default is None:
            raise VariablesError(PROVIDER, f"no default for {rust_debug(name)}")
        return variable.default


def validate_app(app: Any) -> None:
    """Spin's loader check (crates/loader/src/local.rs): each component's entries, templates
    with their default values. Raises AllowedHostError naming the component and key."""
    defaults = DefaultsResolver(dict(app.variables))
    for component in app.components.values():
        try:
            AllowedHosts.validate(list(component.allowed_outbound_hosts), defaults)
        except AllowedHostError as error:
            raise error.context("`allowed_outbound_hosts` is malformed").context(
                f"component.{component.id}.allowed_outbound_hosts"
            ) from None


class ComponentNetworking:
    """Every component's allowed_outbound_hosts of one loaded manifest, resolved with the
    app's variables (Spin resolves them per instance; a failure denies, as Spin's
    ``unwrap_or(false)`` does, and says why once)."""

    def __init__(self, app: Any, resolver: Any) -> None:
        self.app = app
        self._resolved: dict[str, AllowedHosts | AllowedHostError] = {}
        component_ids = list(app.components)
        for component in app.components.values():
            try:
                self._resolved[component.id] = AllowedHosts.parse(
                    list(component.allowed_outbound_hosts), resolver, component_ids
                )
            except AllowedHostError as error:
                self._resolved[component.id] = error

    def hosts(self, component_id: str) -> AllowedHosts:
        """Raises AllowedHostError when the component's entries do not resolve."""
        found = self._resolved.get(component_id, AllowedHosts(()))
        if isinstance(found, AllowedHostError):
            raise found
        return found

    def socket_rules(self, component_id: str) -> list:
        """The component's entries for its worker's socket check (JSON)."""
        try:
            return self.hosts(component_id).socket_rules()
        except AllowedHostError:
            return []


__all__ = [
    "AllowedHostConfig", "AllowedHostError", "AllowedHosts", "ComponentNetworking", "DefaultsResolver",
    "OutboundUrl", "denial_lines", "service_chaining_target", "validate_app",
]
