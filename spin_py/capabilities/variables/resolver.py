"""Resolving Spin variables and templates, as Spin's ProviderResolver does
(crates/expressions/src/lib.rs), for the variables capability and for any other
capability whose manifest settings hold ``{{ name }}`` templates (allowed_outbound_hosts,
Redis trigger addresses):

    resolver = resolver_for(app, runtime_config, config)   # raises ResolverConfigError
    resolver.resolve_template("redis://{{ redis_host }}")  # application variables
    resolver.resolve("component-id", "api_key")            # a component's variable

A Resolver is built from one manifest, one runtime config and the command line; the
.env file is read when it is built, so a rebuilt one sees the latest edit.
"""

from pathlib import Path
from typing import Any

from spin_py.capabilities.variables.errors import INVALID_NAME, PROVIDER, UNDEFINED, VariablesError
from spin_py.capabilities.variables.expressions import Template, check_name, name_problem
from spin_py.capabilities.variables.providers import (
    DEFAULT_DOTENV,
    EnvProvider,
    Provider,
    ProviderConfigError,
    StaticProvider,
    read_dotenv,
    runtime_config_providers,
)
from spin_py.runtime_config import RuntimeConfig
from spin_py.wire.rust_text import rust_debug


class ResolverConfigError(Exception):
    """What makes Spin refuse the app when it configures variables: the text to show."""


class Resolver:
    def __init__(self, variables: dict[str, Any], components: dict[str, dict[str, str]], providers: list[Provider]) -> None:
        """``variables``: name -> manifest Variable; ``components``: id -> {name: template text};
        ``providers``: in precedence order. Raises VariablesError as Spin's Resolver::new
        and add_component_variables do (a bad name, a template naming no variable)."""
        for name in variables:
            check_name(name)
        self.variables = dict(variables)
        self.providers = list(providers)
        self.templates: dict[str, dict[str, Template]] = {}
        for component_id, entries in components.items():
            self.templates[component_id] = {check_name(key): self._template(text) for key, text in entries.items()}

    def _template(self, text: str) -> Template:
        template = Template.parse(text)
        for name in template.names:
            if name not in self.variables:
                raise VariablesError("InvalidTemplate", f"unknown variable {rust_debug(name)}")
        return template

    def ensure_required_resolvable(self) -> None:
        """Spin's ensure_required_variables_resolvable: a required variable no provider may resolve."""
        missing = [
            name for name, variable in self.variables.items()
            if variable.default is None and not any(provider.may_resolve(name) for provider in self.providers)
        ]  # fmt: skip
        if missing:
            keys = ", ".join(f"Key({rust_debug(name)})" for name in missing)
            raise VariablesError(PROVIDER, f"no provider resolved required variable(s): [{keys}]")

    def resolve(self, component_id: str, key: str) -> str:
        """A component's variable, as a guest's ``get(key)`` is answered (raises VariablesError)."""
        check_name(key)
        configs = self.templates.get(component_id)
        if configs is None:
            raise VariablesError(UNDEFINED, f"no variable for component {rust_debug(component_id)}")
        template = configs.get(key)
        if template is None:
            raise VariablesError(UNDEFINED, f"no variable for {rust_debug(component_id)}.{rust_debug(key)}")
        return template.render(self.resolve_variable)

    def resolve_all(self, component_id: str) -> list[tuple[str, str]]:
        """Every variable of a component, as (name, value) pairs (wasi:config get-all)."""
        return [(key, template.render(self.resolve_variable)) for key, template in self.templates.get(component_id, {}).items()]

    def resolve_template(self, text: str) -> str:
        """A template over the application variables, e.g. an allowed_outbound_hosts entry."""
        return Template.parse(text).render(self.resolve_variable)

    def resolve_variable(self, name: str) -> str:
        for provider in self.providers:
            value = provider.get(name)
            if value is not None:
                return value
        variable = self.variables.get(name)
        if variable is None:
            raise VariablesError(INVALID_NAME, name)
        if variable.default is None:
            raise VariablesError(PROVIDER, f"no provider resolved required variable {rust_debug(name)}")
        return variable.default


def providers_for(runtime_config: RuntimeConfig, cli_variables: dict[str, str], cwd: Path | None = None) -> list[Provider]:
    """Spin's providers, in its order (see providers.py). ``cwd``: where `spin-py up` runs,
    which holds the default .env."""
    cwd = Path.cwd() if cwd is None else Path(cwd)
    providers: list[Provider] = [StaticProvider(dict(cli_variables))]
    key = "variables_provider" if "variables_provider" in runtime_config.data else "config_provider"
    try:
        providers += runtime_config_providers(runtime_config.tables(key), key, cwd)
        providers.append(EnvProvider(dotenv=read_dotenv(cwd / DEFAULT_DOTENV)))
    except ProviderConfigError as error:
        if error.key.startswith(key):
            raise runtime_config.error(error.key, error.message) from None
        raise ResolverConfigError(f"{error.key}: {error.message}") from None
    return providers


def cli_variables(config: Any) -> dict[str, str]:
    """The ``--variable`` values of `spin-py up`'s config (none without one)."""
    return dict(config.flag("variables", {})) if config is not None else {}


def resolver_for(app: Any, runtime_config: RuntimeConfig, config: Any, cwd: Path | None = None) -> Resolver:
    """The resolver of a loaded manifest; ResolverConfigError (Spin's text) when Spin would refuse it,
    RuntimeConfigError for a bad [[variables_provider]]."""
    providers = providers_for(runtime_config, cli_variables(config), cwd)
    components = {component_id: dict(component.variables) for component_id, component in app.components.items()}
    try:
        resolver = Resolver(dict(app.variables), components, providers)
        resolver.ensure_required_resolvable()
    except VariablesError as error:
        raise ResolverConfigError(str(error)) from None
    return resolver


__all__ = ["Resolver", "ResolverConfigError", "VariablesError", "name_problem", "providers_for", "resolver_for"]
