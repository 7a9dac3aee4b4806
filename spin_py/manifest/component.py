"""Reading one component table, in version 2 (``[component.<id>]`` or inline in a
trigger) or version 1 (``[[component]]``) form."""

import re
from dataclasses import replace
from typing import Any

from spin_py.manifest import ids
from spin_py.manifest.dependencies import LABEL, read_dependencies
from spin_py.manifest.frozen import FrozenDict, freeze
from spin_py.manifest.hosts import HostError, convert_allowed_http_hosts
from spin_py.manifest.model import Build, Component

# In the order of Spin's structs, which is the order error messages list them in.
V2_KEYS = (
    "source", "description", "variables", "environment", "files", "exclude_files",
    "allowed_http_hosts", "allowed_outbound_hosts", "key_value_stores", "sqlite_databases",
    "ai_models", "targets", "build", "tool", "dependencies_inherit_configuration",
    "dependencies", "profile",
)  # fmt: skip
V1_KEYS = (
    "id", "source", "trigger", "description", "config", "environment", "files", "exclude_files",
    "allowed_http_hosts", "allowed_outbound_hosts", "key_value_stores", "sqlite_databases",
    "ai_models", "build",
)  # fmt: skip
BUILD_KEYS = ("command", "workdir", "watch")
PROFILE_KEYS = ("source", "environment", "dependencies", "build")

_PACKAGE_REF = re.compile(rf"{LABEL}:{LABEL}")


def read_component(reader, table, path, component_id, version=2, profile=None, profiles_seen=None) -> Component:
    """A Component from its table. ``profile`` overrides are applied when the component
    defines them; the profile names it defines are added to ``profiles_seen``."""
    reader.table(table, path)
    reader.keys(table, path, V2_KEYS if version == 2 else V1_KEYS, ("source",))
    fields: dict[str, Any] = {
        "source": read_source(reader, table["source"], path + ("source",)),
        "environment": read_environment(reader, table, path),
        "build": read_build(reader, table["build"], path + ("build",)) if "build" in table else None,
        "dependencies": {},
    }
    if version == 2:
        fields.update(_v2_fields(reader, table, path))
        for name, override in reader.opt_table(table, "profile", path).items():
            override = read_profile(reader, override, path + ("profile", name))
            if profiles_seen is not None:
                profiles_seen.add(name)
            if name == profile:
                _apply_profile(override, fields)
        _check_inherit_configuration(reader, table, fields["dependencies"], path)
    else:
        fields.update(_v1_fields(reader, table, path))
    return Component(
        id=component_id,
        source=freeze(fields["source"]),
        description=reader.opt_string(table, "description", path),
        files=read_files(reader, table, path),
        exclude_files=reader.opt_string_list(table, "exclude_files", path),
        allowed_outbound_hosts=fields["allowed_outbound_hosts"],
        key_value_stores=fields["key_value_stores"],
        sqlite_databases=fields["sqlite_databases"],
        ai_models=reader.opt_string_list(table, "ai_models", path),
        environment=FrozenDict(fields["environment"]),
        variables=FrozenDict(fields["variables"]),
        build=fields["build"],
        dependencies=freeze(fields["dependencies"]),
        dependencies_inherit_configuration=reader.opt_bool(table, "dependencies_inherit_configuration", path),
        targets=read_targets(reader, table["targets"], path + ("targets",)) if "targets" in table else None,
    )


def _v2_fields(reader, table, path) -> dict[str, Any]:
    for name, tool in reader.opt_table(table, "tool", path).items():
        reader.table(tool, path + ("tool", name))  # settings for other tools: only the shape is Spin's
    allowed = reader.opt_string_list(table, "allowed_outbound_hosts", path)
    return {
        "variables": read_names(reader, reader.opt_table(table, "variables", path), path + ("variables",)),
        "key_value_stores": read_labels(reader, table, "key_value_stores", path),
        "sqlite_databases": read_labels(reader, table, "sqlite_databases", path),
        "allowed_outbound_hosts": allowed + _converted_hosts(reader, table, path, allow_database_access=False),
        "dependencies": read_dependencies(reader, table, path),
    }


def _v1_fields(reader, table, path) -> dict[str, Any]:
    # A version 1 component without allowed_outbound_hosts could reach every database.
    database_access = "allowed_outbound_hosts" not in table
    allowed = reader.opt_string_list(table, "allowed_outbound_hosts", path)
    return {
        "variables": read_names(reader, reader.opt_table(table, "config", path), path + ("config",)),
        "key_value_stores": reader.opt_string_list(table, "key_value_stores", path),
        "sqlite_databases": reader.opt_string_list(table, "sqlite_databases", path),
        "allowed_outbound_hosts": allowed + _converted_hosts(reader, table, path, database_access),
    }


def _check_inherit_configuration(reader, table, dependencies, path) -> None:
    if "dependencies_inherit_configuration" not in table:
        return
    for name, dependency in dependencies.items():
        if isinstance(dependency, dict) and "inherit_configuration" in dependency:
            raise reader.error(
                path + ("dependencies", name, "inherit_configuration"),
                "cannot be used with the component's dependencies_inherit_configuration: use one or the other",
            )


def read_source(reader, value, path) -> str | dict:
    if isinstance(value, str):
        return value
    what = (
        'a path string, { url = "...", digest = "sha256:..." } '
        'or { registry = "...", package = "...", version = "..." }'
    )
    reader.table(value, path, what)
    if "url" in value or "digest" in value:
        reader.keys(value, path, ("url", "digest"), ("url", "digest"))
        names: tuple[str, ...] = ("url", "digest")
    else:
        reader.keys(value, path, ("registry", "package", "version"), ("package", "version"))
        names = ("registry", "package", "version")
        if not _PACKAGE_REF.fullmatch(reader.string(value["package"], path + ("package",))):
            raise reader.error(path + ("package",), 'expected a package name like "namespace:name"')
    for name in names:
        if name in value:
            reader.string(value[name], path + (name,))
    return dict(value)


def read_build(reader, table, path) -> Build:
    reader.table(table, path)
    reader.keys(table, path, BUILD_KEYS, ("command",))
    command = table["command"]
    if not isinstance(command, str):
        command = reader.string_list(command, path + ("command",)) if isinstance(command, list) else None
    if command is None:
        raise reader.expected(path + ("command",), "a command string or a list of them", table["command"])
    return Build(
        command=command,
        workdir=reader.opt_string(table, "workdir", path, None),
        watch=reader.opt_string_list(table, "watch", path),
    )


def read_environment(reader, table, path) -> dict[str, str]:
    """``environment``: a process environment cannot hold a name with ``=`` or a NUL
    anywhere, so a worker could never start with one; refuse it here, with its line."""
    environment = reader.opt_string_map(table, "environment", path)
    for name, value in environment.items():
        key_path = path + ("environment", name)
        if "=" in name:
            raise reader.error(key_path, "an environment variable name cannot contain '='")
        if "\0" in name:
            raise reader.error(key_path, "an environment variable name cannot contain a NUL character")
        if "\0" in value:
            raise reader.error(key_path, "an environment variable value cannot contain a NUL character")
    return environment


def read_names(reader, table, path) -> dict:
    """Component or application variable names, which Spin wants in lower snake_case."""
    values = {}
    for name, value in table.items():
        problem = ids.lower_snake_problem(name)
        if problem:
            raise reader.error(path + (name,), f"invalid variable name: {problem}")
        values[name] = reader.string(value, path + (name,))
    return values


def read_labels(reader, table, key, path) -> tuple[str, ...]:
    labels = reader.opt_string_list(table, key, path)
    for index, label in enumerate(labels):
        problem = ids.label_problem(label)
        if problem:
            raise reader.error(path + (key, index), f"invalid label {label!r}: {problem}")
    return labels


def read_files(reader, table, path) -> tuple:
    if "files" not in table:
        return ()
    path = path + ("files",)
    if not isinstance(table["files"], list):
        raise reader.expected(path, "a list of glob patterns and { source, destination } tables", table["files"])
    files: list[str | FrozenDict] = []
    for index, entry in enumerate(table["files"]):
        if isinstance(entry, str):
            files.append(entry)
            continue
        reader.table(entry, path + (index,), 'a glob pattern or { source = "...", destination = "..." }')
        reader.keys(entry, path + (index,), ("source", "destination"), ("source", "destination"))
        for key in ("source", "destination"):
            reader.string(entry[key], path + (index, key))
        files.append(FrozenDict(entry))
    return tuple(files)


def read_targets(reader, value, path) -> Any:
    if not isinstance(value, list):
        raise reader.expected(path, "a list of environments", value)
    for index, target in enumerate(value):
        if isinstance(target, str):
            continue
        reader.table(target, path + (index,), 'an environment name, { url = "..." } or { path = "..." }')
        if len(target) != 1 or not ({"url", "path"} & target.keys()):
            raise reader.error(path + (index,), "expected exactly one of: url, path")
        reader.string(next(iter(target.values())), path + (index, next(iter(target))))
    return freeze(value)


def read_profile(reader, table, path) -> dict:
    reader.table(table, path)
    reader.keys(table, path, PROFILE_KEYS)
    override: dict[str, Any] = {}
    if "source" in table:
        override["source"] = read_source(reader, table["source"], path + ("source",))
    if "environment" in table:
        override["environment"] = read_environment(reader, table, path)
    if "dependencies" in table:
        override["dependencies"] = read_dependencies(reader, table, path)
    if "build" in table:
        build = reader.table(table["build"], path + ("build",))
        reader.keys(build, path + ("build",), ("command",), ("command",))
        override["build"] = read_build(reader, build, path + ("build",)).command
    return override


def _apply_profile(override, fields) -> None:
    """Spin's apply_profile_overrides: source and build command replaced, the rest merged."""
    fields["source"] = override.get("source", fields["source"])
    fields["environment"] = {**fields["environment"], **override.get("environment", {})}
    fields["dependencies"] = {**fields["dependencies"], **override.get("dependencies", {})}
    if "build" in override:
        build = fields["build"]
        fields["build"] = Build(override["build"]) if build is None else replace(build, command=override["build"])


def _converted_hosts(reader, table, path, allow_database_access) -> tuple[str, ...]:
    entries = reader.opt_string_list(table, "allowed_http_hosts", path)
    try:
        return tuple(convert_allowed_http_hosts(entries, allow_database_access))
    except HostError as problem:
        raise reader.error(path + ("allowed_http_hosts",), f"invalid entry: {problem}") from None
