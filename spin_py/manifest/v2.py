"""Version 2 manifests (``spin_manifest_version = 2``), read as Spin's schema::v2 and
normalized as Spin's normalize.rs does."""

from collections.abc import Iterator
from typing import Any

from spin_py.manifest import ids
from spin_py.manifest.component import read_component, read_targets
from spin_py.manifest.dependencies import check_dependency_components
from spin_py.manifest.errors import ManifestError
from spin_py.manifest.frozen import FrozenDict
from spin_py.manifest.model import App, Component, Variable
from spin_py.manifest.normalize import normalize_ids, normalize_inline_components
from spin_py.manifest.triggers import base_warnings, read_settings, read_triggers, trigger_places, typed_triggers

TOP_KEYS = ("spin_manifest_version", "application", "variables", "trigger", "component")
APPLICATION_KEYS = ("name", "version", "description", "authors", "targets", "trigger", "tool")
VARIABLE_KEYS = ("description", "required", "default", "secret")


def read_v2(reader, data, manifest_path, profile=None) -> App:
    if "spin_version" in data:
        raise reader.error(
            ("spin_version",), "only version 1 manifests use spin_version; write spin_manifest_version = 2"
        )
    # Like serde, complain about what is there before what is missing.
    reader.keys(data, (), TOP_KEYS, ("application",))
    details = read_application(reader, data["application"])
    variables = read_variables(reader, reader.opt_table(data, "variables", ()), ("variables",))

    profiles_seen: set[str] = set()
    components, origins = {}, {}
    for component_id, table in reader.opt_table(data, "component", ()).items():
        component_path = ("component", component_id)
        problem = ids.kebab_problem(component_id)
        if problem:
            raise reader.error(component_path, f"invalid component id: {problem}")
        components[component_id] = read_component(
            reader, table, component_path, component_id, 2, profile, profiles_seen
        )
        origins[component_id] = component_path

    def read_inline(table, inline_path) -> Component:
        return read_component(reader, table, inline_path, "", 2, profile, profiles_seen)

    reader.keys(data, (), TOP_KEYS, ("trigger",))
    triggers = read_triggers(reader, data["trigger"], read_inline)
    normalize_ids(triggers)
    normalize_inline_components(triggers, components, origins)
    if profile is not None and profile not in profiles_seen:
        raise ManifestError(reader.file, f"profile {profile} is not defined in this application")
    check_dependency_components(reader, components, origins)
    http, redis, others = typed_triggers(reader, triggers, components)

    return App(
        path=manifest_path,
        **details,
        variables=variables,
        components=FrozenDict(components),
        http_triggers=http,
        redis_triggers=redis,
        other_triggers=others,
        manifest_version=2,
        trigger_places=trigger_places(reader, triggers),
        warnings=tuple(deprecations(data, details["trigger_settings"], origins)),
    )


def read_application(reader, value) -> dict:
    """``[application]`` as App fields."""
    path = ("application",)
    application = reader.table(value, path)
    reader.keys(application, path, APPLICATION_KEYS, ("name",))
    settings = {}
    for trigger_type, table in reader.opt_table(application, "trigger", path).items():
        settings_path = path + ("trigger", trigger_type)
        settings[trigger_type] = read_settings(reader, trigger_type, reader.table(table, settings_path), settings_path)
    for name, tool in reader.opt_table(application, "tool", path).items():
        reader.table(tool, path + ("tool", name))  # settings for other tools: only the shape is Spin's
    settings = FrozenDict(settings)
    return {
        "name": reader.string(application["name"], path + ("name",)),
        "version": reader.opt_string(application, "version", path),
        "description": reader.opt_string(application, "description", path),
        "authors": reader.opt_string_list(application, "authors", path),
        "targets": read_targets(reader, application.get("targets", []), path + ("targets",)),
        "http_base": settings.get("http", {}).get("base", "/"),
        "trigger_settings": settings,
    }


def read_variables(reader, table, path) -> FrozenDict:
    variables = {}
    for name, value in table.items():
        variable_path = path + (name,)
        problem = ids.lower_snake_problem(name)
        if problem:
            raise reader.error(variable_path, f"invalid variable name: {problem}")
        reader.table(value, variable_path, 'a variable table, e.g. { default = "..." } or { required = true }')
        reader.keys(value, variable_path, VARIABLE_KEYS)
        default = reader.opt_string(value, "default", variable_path, None)
        required = reader.opt_bool(value, "required", variable_path)
        if required == (default is not None):
            raise reader.error(variable_path, "must be `required` OR have a `default`")
        variables[name] = Variable(
            default=default,
            required=required,
            secret=reader.opt_bool(value, "secret", variable_path),
            description=reader.opt_string(value, "description", variable_path, None),
        )
    return FrozenDict(variables)


def deprecations(data, settings, origins) -> Iterator[str]:
    """What Spin warns about."""
    yield from base_warnings(settings.get("http", {}).get("base"))
    for component_id, path in origins.items():
        table = _at(data, path)
        if isinstance(table, dict) and table.get("allowed_http_hosts"):
            yield f"component {component_id}: allowed_http_hosts is deprecated; use allowed_outbound_hosts"


def _at(data, path) -> Any:
    for part in path:
        data = data[part]
    return data
