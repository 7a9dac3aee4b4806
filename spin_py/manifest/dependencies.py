"""Component dependencies (``[component.<id>.dependencies]``): Wasm imports satisfied by
other components. spin-py does not compose them; it checks them as Spin does."""

import re

from spin_py.manifest import ids

LABEL = r"[a-z][a-z0-9]*(?:-[a-z][a-z0-9]*)*"
_PACKAGE_NAME = re.compile(rf"({LABEL}):({LABEL})(?:/([^@]+))?(?:@(\S+))?")
_SEMVER = re.compile(r"\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?")
# Dependency tables are an untagged enum: the first variant whose keys fit wins.
_INHERIT = ("export", "inherit_configuration")
_VARIANTS = (
    (("version",), ("registry", "package") + _INHERIT),
    (("path",), _INHERIT),
    (("url", "digest"), _INHERIT),
    (("component",), _INHERIT),
)
# What a component used as another's dependency may not have: it would be silently dropped.
_SURPRISES = (
    "ai_models", "allowed_outbound_hosts", "dependencies", "environment", "files",
    "key_value_stores", "sqlite_databases", "variables",
)  # fmt: skip



def read_dependencies(reader, table, path) -> dict:
    path = path + ("dependencies",)
    dependencies = reader.opt_table(table, "dependencies", path[:-1])
    for name, dependency in dependencies.items():
        _check_dependency(reader, name, dependency, path + (name,))
    return dict(dependencies)


def _check_dependency(reader, name, dependency, path) -> None:
    package = _check_name(reader, name, path)
    fields = {"version"} if isinstance(dependency, str) else _check_table(reader, dependency, path)
    # Spin's ComponentDependencies::validate.
    if package is None and "version" in fields and "package" not in fields:
        raise reader.error(path, f"dependency {name!r} must specify a package name")
    has_interface = package is not None and package.group(3)
    if package is not None and not has_interface and "export" in fields and fields & {"version", "path"}:
        raise reader.error(
            path, f"using an export to satisfy the package dependency {name!r} is not currently permitted"
        )


def _check_name(reader, name, path) -> re.Match[str] | None:
    """A package name (``ns:pkg[/interface][@version]``) as a match, or None for a plain kebab-case name."""
    if ":" not in name and "/" not in name:
        problem = ids.kebab_problem(name)
        if problem:
            raise reader.error(path, f"invalid dependency name: {problem}")
        return None
    package = _PACKAGE_NAME.fullmatch(name)
    interface, version = (package.group(3), package.group(4)) if package else (None, None)
    if not package or (interface and ids.kebab_problem(interface)) or (version and not _SEMVER.fullmatch(version)):
        raise reader.error(path, 'invalid dependency name: expected "namespace:package[/interface][@version]"')
    return package


def _check_table(reader, dependency, path) -> set[str]:
    reader.table(dependency, path, "a version requirement string or a dependency table")
    fields = set(dependency)
    if not any(set(required) <= fields <= set(required + optional) for required, optional in _VARIANTS):
        raise reader.error(
            path,
            "expected a version requirement string or a table with one of: version, path, url and digest, "
            "component (plus optional export and inherit_configuration)",
        )
    for key, value in dependency.items():
        if key == "inherit_configuration" and not isinstance(value, bool):
            reader.string_list(value, path + (key,))
        elif key != "inherit_configuration":
            reader.string(value, path + (key,))
    problem = ids.kebab_problem(dependency["component"]) if "component" in fields else None
    if problem:
        raise reader.error(path + ("component",), f"invalid component id: {problem}")
    return fields


def check_dependency_components(reader, components, origins) -> None:
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
            surprises = [key for key in _SURPRISES if getattr(target, key)]
            if surprises:
                raise reader.error(
                    path,
                    "Dependencies may not have their own resources or permissions. "
                    f"Component {target_id} cannot be used as a dependency of {component_id} "
                    f"because it specifies: {', '.join(surprises)}",
                )
