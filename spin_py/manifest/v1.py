"""Version 1 manifests (``spin_manifest_version = "1"``, or the older ``spin_version``),
converted to the version 2 model as Spin's compat.rs does:

- ``[[component]]`` with ``id`` becomes a component keyed by the id made kebab-case;
- each component's ``[component.trigger]`` table becomes a trigger of the application's
  trigger type, with id ``trigger-<component id>``;
- ``trigger = { type = "...", ... }`` gives the type and its application settings
  (for HTTP, the ``base``);
- ``config`` becomes ``variables``; ``allowed_http_hosts`` is folded into
  ``allowed_outbound_hosts``.
"""

from spin_py.manifest import ids
from spin_py.manifest.component import V1_KEYS, read_component
from spin_py.manifest.frozen import FrozenDict
from spin_py.manifest.model import App
from spin_py.manifest.triggers import RawTrigger, base_warnings, read_settings, trigger_places, typed_triggers
from spin_py.manifest.v2 import read_variables

TOP_KEYS = (
    "spin_manifest_version", "spin_version", "name", "version", "description", "authors",
    "trigger", "variables", "component",
)  # fmt: skip


def read_v1(reader, data, manifest_path) -> App:
    if "spin_version" in data and "spin_manifest_version" in data:
        raise reader.error(("spin_version",), "duplicate of spin_manifest_version; keep only one")
    reader.keys(data, (), TOP_KEYS, ("name", "trigger"))
    trigger = reader.table(data["trigger"], ("trigger",), 'a table like { type = "http" }')
    if "type" not in trigger:
        raise reader.error(("trigger", "type"), "required key is missing")
    trigger_type = reader.string(trigger["type"], ("trigger", "type"))
    settings = read_settings(reader, trigger_type, trigger, ("trigger",), also_allowed=("type",))

    components, triggers = {}, []
    entries = data.get("component", [])
    reader.table_list(entries, ("component",), "an array of tables ([[component]])")
    for index, table in enumerate(entries):
        path = ("component", index)
        reader.keys(table, path, V1_KEYS, ("id", "source", "trigger"))
        raw_id = reader.string(table["id"], path + ("id",))
        component_id, problem = ids.v1_component_id(raw_id)
        if problem:
            raise reader.error(path + ("id",), f"invalid ID `{component_id}`: {problem}")
        # Like Spin, a later component whose id normalizes the same replaces the earlier one.
        components[component_id] = read_component(reader, table, path, component_id, version=1)
        config = reader.table(table["trigger"], path + ("trigger",))
        triggers.append(
            RawTrigger(
                type=trigger_type,
                path=path + ("trigger",),
                config=config,
                id=f"trigger-{component_id}",
                component=component_id,
                component_path=path + ("id",),
                version=1,
            )
        )
    http, redis, others = typed_triggers(reader, triggers, components)

    return App(
        path=manifest_path,
        name=reader.string(data["name"], ("name",)),
        version=reader.opt_string(data, "version", ()),
        description=reader.opt_string(data, "description", ()),
        authors=reader.opt_string_list(data, "authors", ()),
        http_base=settings.get("base", "/") if trigger_type == "http" else "/",
        variables=read_variables(reader, reader.opt_table(data, "variables", ()), ("variables",)),
        components=FrozenDict(components),
        http_triggers=http,
        redis_triggers=redis,
        other_triggers=others,
        trigger_settings=FrozenDict({trigger_type: settings}),
        manifest_version=1,
        trigger_places=trigger_places(reader, triggers),
        warnings=tuple(base_warnings(settings.get("base"))) if trigger_type == "http" else (),
    )
