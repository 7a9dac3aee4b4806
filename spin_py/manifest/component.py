"""Reading one component table, in version 2 (``[component.<id>]`` or inline in a
trigger) or version 1 (``[[component]]``) form."""

import re
from dataclasses import replace

from spin_py.manifest import ids
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

# Dependency tables are an untagged enum: the first variant whose keys fit wins.
_INHERIT = ("export", "inherit_configuration")
_DEPENDENCY_VARIANTS = (
    (("version",), ("registry", "package") + _INHERIT),
    (("path",), _INHERIT),
    (("url", "digest"), _INHERIT),
    (("component",), _INHERIT),
)
_LABEL = r"[a-z][a-z0-9]*(?:-[a-z][a-z0-9]*)*"
_PACKAGE_NAME = re.compile(rf"({_LABEL}):({_LABEL})(?:/([^@]+))?(?:@(\S+))?")
_PACKAGE_REF = re.compile(rf"{_LABEL}:{_LABEL}")
_SEMVER = re.compile(r"\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?")
# What a component used as another's dependency may not have: it would be silently dropped.
_DEPENDENCY_SURPRISES = (
    "ai_models", "allowed_outbound_hosts", "dependencies", "environment", "files",
    "key_value_stores", "sqlite_databases", "variables",
)  # fmt: skip


def read_component(reader, table, path, component_id, version=2, profile=None, profiles_seen=None):
    """A Component from its table; ``profile`` overrides are applied when the component defines them."""
    reader.table(table, path)
    reader.keys(table, path, V2_KEYS if version == 2 else V1_KEYS, ("source",))
    source = read_source(reader, table["source"], path + ("source",))
    environment = reader.opt_string_map(table, "environment", path)
    build = read_build(reader, table["build"], path + ("build",)) if "build" in table else None
    dependencies = read_dependencies(reader, table, path) if version == 2 else {}
    if version == 2:
        variables = read_names(reader, reader.opt_table(table, "variables", path), path + ("variables",))
        labels = {key: read_labels(reader, table, key, path) for key in ("key_value_stores", "sqlite_databases")}
        allowed = reader.opt_string_list(table, "allowed_outbound_hosts", path)
        allowed += _converted_hosts(reader, table, path, allow_database_access=False)
        for name, override in reader.opt_table(table, "profile", path).items():
            override = read_profile(reader, override, path + ("profile", name))
            if profiles_seen is not None:
                profiles_seen.add(name)
            if name == profile:
                source, environment, dependencies, build = _apply_profile(
                    override, source, environment, dependencies, build
                )
        for name, tool in reader.opt_table(table, "tool", path).items():
            reader.table(tool, path + ("tool", name))  # settings for other tools: only the shape is Spin's
    else:
        variables = read_names(reader, reader.opt_table(table, "config", path), path + ("config",))
        labels = {key: reader.opt_string_list(table, key, path) for key in ("key_value_stores", "sqlite_databases")}
        # A version 1 component without allowed_outbound_hosts could reach every database.
        explicit = "allowed_outbound_hosts" in table
        allowed = reader.opt_string_list(table, "allowed_outbound_hosts", path)
        allowed += _converted_hosts(reader, table, path, allow_database_access=not explicit)
    inherit = reader.opt_bool(table, "dependencies_inherit_configuration", path) if version == 2 else False
    if "dependencies_inherit_configuration" in table:
        for name, dependency in dependencies.items():
            if isinstance(dependency, dict) and "inherit_configuration" in dependency:
                raise reader.error(
                    path + ("dependencies", name, "inherit_configuration"),
                    "cannot be used with the component's dependencies_inherit_configuration: use one or the other",
                )
    return Component(
        id=component_id,
        source=freeze(source),
        description=reader.opt_string(table, "description", path),
        files=read_files(reader, table, path),
        exclude_files=reader.opt_string_list(table, "exclude_files", path),
        allowed_outbound_hosts=tuple(allowed),
        key_value_stores=labels["key_value_stores"],
        sqlite_databases=labels["sqlite_databases"],
        ai_models=reader.opt_string_list(table, "ai_models", path),
        environment=FrozenDict(environment),
        variables=FrozenDict(variables),
        build=build,
        dependencies=freeze(dependencies),
        dependencies_inherit_configuration=inherit,
        targets=read_targets(reader, table["targets"], path + ("targets",)) if "targets" in table else None,
    )


def read_source(reader, value, path):
    if isinstance(value, str):
        return value
    what = 'a path string, { url = "...", digest = "sha256:..." } or { registry = "...", package = "...", version = "..." }'
    reader.table(value, path, what)
    if "url" in value or "digest" in value:
        reader.keys(value, path, ("url", "digest"), ("url", "digest"))
        names = ("url", "digest")
    else:
        reader.keys(value, path, ("registry", "package", "version"), ("package", "version"))
        names = ("registry", "package", "version")
        if not _PACKAGE_REF.fullmatch(reader.string(value["package"], path + ("package",))):
            raise reader.error(path + ("package",), 'expected a package name like "namespace:name"')
    for name in names:
        if name in value:
            reader.string(value[name], path + (name,))
    return dict(value)


def read_build(reader, table, path):
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


def read_names(reader, table, path):
    """Component or application variable names, which Spin wants in lower snake_case."""
    values = {}
    for name, value in table.items():
        problem = ids.lower_snake_problem(name)
        if problem:
            raise reader.error(path + (name,), f"invalid variable name: {problem}")
        values[name] = reader.string(value, path + (name,))
    return values


def read_labels(reader, table, key, path):
    labels = reader.opt_string_list(table, key, path)
    for index, label in enumerate(labels):
        problem = ids.label_problem(label)
        if problem:
            raise reader.error(path + (key, index), f"invalid label {label!r}: {problem}")
    return labels


def read_files(reader, table, path):
    if "files" not in table:
        return ()
    path = path + ("files",)
    if not isinstance(table["files"], list):
        raise reader.expected(path, "a list of glob patterns and { source, destination } tables", table["files"])
    files = []
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


def read_targets(reader, value, path):
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


def read_profile(reader, table, path):
    reader.table(table, path)
    reader.keys(table, path, PROFILE_KEYS)
    override = {}
    if "source" in table:
        override["source"] = read_source(reader, table["source"], path + ("source",))
    if "environment" in table:
        override["environment"] = reader.string_map(table["environment"], path + ("environment",))
    if "dependencies" in table:
        override["dependencies"] = read_dependencies(reader, table, path)
    if "build" in table:
        build = reader.table(table["build"], path + ("build",))
        reader.keys(build, path + ("build",), ("command",), ("command",))
        override["build"] = read_build(reader, build, path + ("build",)).command
    return override


def _apply_profile(override, source, environment, dependencies, build):
    source = override.get("source", source)
    environment = {**environment, **override.get("environment", {})}
    dependencies = {**dependencies, **override.get("dependencies", {})}
    if "build" in override:
        build = Build(override["build"]) if build is None else replace(build, command=override["build"])
    return source, environment, dependencies, build


def _converted_hosts(reader, table, path, allow_database_access):
    entries = reader.opt_string_list(table, "allowed_http_hosts", path)
    try:
        return tuple(convert_allowed_http_hosts(entries, allow_database_access))
    except HostError as problem:
        raise reader.error(path + ("allowed_http_hosts",), f"invalid entry: {problem}") from None


# -- dependencies -----------------------------------------------------------------


def read_dependencies(reader, table, path):
    path = path + ("dependencies",)
    dependencies = reader.opt_table(table, "dependencies", path[:-1])
    for name, dependency in dependencies.items():
        _check_dependency(reader, name, dependency, path + (name,))
    return dict(dependencies)


def _check_dependency(reader, name, dependency, path):
    package = None
    if ":" in name or "/" in name:
        package = _PACKAGE_NAME.fullmatch(name)
        interface, version = (package.group(3), package.group(4)) if package else (None, None)
        if not package or (interface and ids.kebab_problem(interface)) or (version and not _SEMVER.fullmatch(version)):
            raise reader.error(path, 'invalid dependency name: expected "namespace:package[/interface][@version]"')
    elif ids.kebab_problem(name):
        raise reader.error(path, f"invalid dependency name: {ids.kebab_problem(name)}")
    if isinstance(dependency, str):
        fields = {"version"}
    else:
        reader.table(dependency, path, "a version requirement string or a dependency table")
        fields = set(dependency)
        variant = next(
            (v for v in _DEPENDENCY_VARIANTS if set(v[0]) <= fields <= set(v[0] + v[1])),
            None,
        )
        if variant is None:
            raise reader.error(
                path,
                "expected a version requirement string or a table with one of: version, path, url and digest, component "
                "(plus optional export and inherit_configuration)",
            )
        for key, value in dependency.items():
            if key == "inherit_configuration":
                if not isinstance(value, bool):
                    reader.string_list(value, path + (key,))
            else:
                reader.string(value, path + (key,))
        if "component" in fields and ids.kebab_problem(dependency["component"]):
            raise reader.error(path + ("component",), f"invalid component id: {ids.kebab_problem(dependency['component'])}")
    # Spin's ComponentDependencies::validate.
    if package is None and "version" in fields and "package" not in fields:
        raise reader.error(path, f"dependency {name!r} must specify a package name")
    if package is not None and not package.group(3) and "export" in fields and ("version" in fields or "path" in fields):
        raise reader.error(path, f"using an export to satisfy the package dependency {name!r} is not currently permitted")


def check_dependency_components(reader, components, origins):
    """``{ component = "<id>" }`` dependencies must name a component that has no resources of its own."""
    for component_id, component in components.items():
        for name, dependency in component.dependencies.items():
            if not isinstance(dependency, dict) or "component" not in dependency:
                continue
            target_id = dependency["component"]
            path = origins[component_id] + ("dependencies", name, "component")
            target = components.get(target_id)
            if target is None:
                raise reader.error(path, f"dependency ID {target_id} does not exist")
            surprises = [key for key in _DEPENDENCY_SURPRISES if getattr(target, key)]
            if surprises:
                raise reader.error(
                    path,
                    "Dependencies may not have their own resources or permissions. "
                    f"Component {target_id} cannot be used as a dependency of {component_id} "
                    f"because it specifies: {', '.join(surprises)}",
                )
