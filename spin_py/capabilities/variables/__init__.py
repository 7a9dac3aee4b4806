"""Spin's application variables in the host (crates/factor-variables).

configure(): the manifest's ``[variables]`` and each component's ``variables``
templates are checked as Spin checks them (a bad name, a template naming a variable
that does not exist, a required variable no provider resolves: Spin's texts), against
the providers of resolver.py: ``--variable``, the runtime config's
``[[variables_provider]]``, then ``SPIN_VARIABLE_<NAME>`` and ``.env``. Every valid
spin.toml, runtime config or .env edit configures again, so a value edit applies
from the next request.

The host calls, as they cross the channel:

  ``get``      ``{"name"}`` -> str: the calling component's variable
  ``get_all``  ``{}`` -> [[name, value], ...]: all of them (wasi:config/store get-all)

Errors are CapabilityError with the kinds in errors.py and the payload texts of
crates/factor-variables/src/host.rs (expressions_to_variables_err); each guest binding
maps them to its own interface's variants.
"""

from spin_py.capabilities.errors import CapabilityError
from spin_py.capabilities.seam import ConfigureError
from spin_py.capabilities.variables.errors import OTHER, VariablesError
from spin_py.capabilities.variables.providers import NOT_PROVIDED, NotProvidedProvider
from spin_py.capabilities.variables.resolver import Resolver, ResolverConfigError, resolver_for

NAME = "variables"


class VariablesCapability:
    name = NAME

    def __init__(self, host):
        self.host = host

    def configure(self, app, runtime_config, state_dir) -> "VariablesApp":
        try:
            resolver = resolver_for(app, runtime_config, self.host.config)
        except ResolverConfigError as error:
            raise ConfigureError(str(error)) from None
        return VariablesApp(resolver, runtime_config)

    def close(self) -> None:
        pass


class VariablesApp:
    """The variables of one loaded manifest and runtime config."""

    def __init__(self, resolver: Resolver, runtime_config):
        self.resolver = resolver
        self.runtime_config = runtime_config

    def startup_lines(self) -> list[str]:
        lines = []
        for provider in self.resolver.providers:
            if isinstance(provider, NotProvidedProvider):
                lines.append(
                    f"{self.runtime_config.path}: variables_provider type \"{provider.type}\" "
                    f"({NOT_PROVIDED[provider.type]}) is not provided by spin-py: no variable comes from it"
                )
        return lines

    def handle(self, instance, function, args):
        try:
            if function == "get":
                name = args.get("name")
                if not isinstance(name, str):
                    raise CapabilityError(OTHER, "the variable name must be a string")
                return self.resolver.resolve(instance.component_id, name)
            if function == "get_all":
                return [list(pair) for pair in self.resolver.resolve_all(instance.component_id)]
        except VariablesError as error:
            raise guest_error(error) from None
        raise CapabilityError(OTHER, f"variables has no host function '{function}'")

    def close(self) -> None:
        pass


def guest_error(error: VariablesError) -> CapabilityError:
    """Spin's expressions_to_variables_err: a template error is Other with its whole text."""
    if error.kind == "InvalidTemplate":
        return CapabilityError(OTHER, str(error))
    return CapabilityError(error.kind, error.detail)
