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

from typing import ClassVar

from spin_py.capabilities.errors import CapabilityError
from spin_py.capabilities.seam import AppContext, Args, Flag, HostContext, HostFunction, HostFunctions, Instance
from spin_py.capabilities.variables.errors import OTHER, VariablesError
from spin_py.capabilities.variables.providers import NOT_PROVIDED, NotProvidedProvider
from spin_py.capabilities.variables.resolver import Resolver
from spin_py.capabilities.variables.sources import parse_variables
from spin_py.runtime_config import RuntimeConfig

NAME = "variables"

VARIABLE_FLAG = Flag(
    "--variable", "variables", "KEY=VALUE | KEY=@FILE | @FILE.json | @FILE.toml",
    "A value for an application variable, over every other provider. Repeatable.", parse_variables,
)


class VariablesCapability:
    name: ClassVar[str] = NAME
    host_fields: ClassVar[tuple[str, ...]] = ("variables",)
    flags: ClassVar[tuple[Flag, ...]] = (VARIABLE_FLAG,)

    def __init__(self, host: HostContext) -> None:
        self.host = host

    def configure(self, context: AppContext) -> "VariablesApp":
        # The resolver is the app's one (AppContext): outbound networking resolves its hosts with it too.
        return VariablesApp(context.variables(), context.runtime_config)

    def close(self) -> None:
        pass


class VariablesApp(HostFunctions):
    """The variables of one loaded manifest and runtime config."""

    def __init__(self, resolver: Resolver, runtime_config: RuntimeConfig) -> None:
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

    def unknown_function(self, function: str) -> CapabilityError:
        return CapabilityError(OTHER, f"variables has no host function '{function}'")

    def get(self, instance: Instance, args: Args) -> str:
        name = args.get("name")
        if not isinstance(name, str):
            raise CapabilityError(OTHER, "the variable name must be a string")
        try:
            return self.resolver.resolve(instance.component_id, name)
        except VariablesError as error:
            raise guest_error(error) from None

    def get_all(self, instance: Instance, args: Args) -> list[list[str]]:
        try:
            return [list(pair) for pair in self.resolver.resolve_all(instance.component_id)]
        except VariablesError as error:
            raise guest_error(error) from None

    functions: ClassVar[dict[str, HostFunction]] = {"get": get, "get_all": get_all}

    def close(self) -> None:
        pass


def guest_error(error: VariablesError) -> CapabilityError:
    """Spin's expressions_to_variables_err: a template error is Other with its whole text."""
    if error.kind == "InvalidTemplate":
        return CapabilityError(OTHER, str(error))
    return CapabilityError(error.kind, error.detail)
