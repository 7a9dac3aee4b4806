"""Triggers: reading ``[[trigger.<type>]]`` tables and checking the HTTP and Redis
triggers' own settings as those triggers do in Spin."""

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from spin_py.manifest import ids
from spin_py.manifest.errors import format_key
from spin_py.manifest.frozen import FrozenDict, freeze
from spin_py.manifest.model import Component, HttpTrigger, RedisTrigger

# Keys Spin's Trigger struct takes itself; the rest is the trigger type's own config.
TRIGGER_KEYS = ("id", "component", "components", "dependencies")
HTTP_KEYS = ("route", "executor", "static_response")
REDIS_KEYS = ("channel", "address")
SETTINGS_KEYS = {"http": ("base",), "redis": ("address",)}
EXECUTOR_KEYS = {"http": ("type",), "spin": ("type",), "wagi": ("type", "entrypoint", "argv")}


@dataclass
class RawTrigger:
    """A trigger as written, before its type's config is checked. Specs are component
    ids or (inline) Components until normalization replaces the latter with ids."""

    type: str
    path: tuple  # where the trigger's keys are written
    config: dict
    id: str = ""
    component: str | Component | None = None
    component_path: tuple = ()
    components: dict = field(default_factory=dict)  # role -> list of specs
    single: set = field(default_factory=set)  # roles written as one spec rather than a list
    dependencies: dict = field(default_factory=dict)
    version: int = 2  # a version 1 trigger table holds only its type's own keys

    def specs(self) -> list[tuple[Any, tuple, Callable[[Any], None]]]:
        """(spec, path, setter) for every component spec of this trigger, in Spin's order."""
        found: list[tuple[Any, tuple, Callable[[Any], None]]] = []
        if self.component is not None:
            found.append((self.component, self.component_path, self._set_component))
        for role, specs in self.components.items():
            for index, spec in enumerate(specs):
                path = self.path + ("components", role) + (() if role in self.single else (index,))
                found.append((spec, path, self._role_setter(role, index)))
        return found

    def _set_component(self, value) -> None:
        self.component = value

    def _role_setter(self, role, index) -> Callable[[Any], None]:
        def set_spec(value) -> None:
            self.components[role][index] = value

        return set_spec


def read_triggers(reader, value, read_inline) -> list[RawTrigger]:
    """The v2 ``trigger`` table; ``read_inline(table, path)`` reads an inline component."""
    path = ("trigger",)
    reader.table(value, path, "a table of [[trigger.<type>]] arrays")
    triggers = []
    for trigger_type, entries in value.items():
        type_path = path + (trigger_type,)
        reader.table_list(entries, type_path, f"an array of tables ([[trigger.{trigger_type}]])")
        for index, entry in enumerate(entries):
            triggers.append(_read_trigger(reader, trigger_type, entry, type_path + (index,), read_inline))
    return triggers


def _read_trigger(reader, trigger_type, entry, path, read_inline) -> RawTrigger:
    def spec(value, spec_path) -> str | Component:
        if isinstance(value, str):
            problem = ids.kebab_problem(value)
            if problem:
                raise reader.error(spec_path, f"invalid component id: {problem}")
            return value
        reader.table(value, spec_path, "a component id or an inline component table")
        return read_inline(value, spec_path)

    trigger = RawTrigger(
        type=trigger_type,
        path=path,
        config={key: value for key, value in entry.items() if key not in TRIGGER_KEYS},
        id=reader.opt_string(entry, "id", path),
        component_path=path + ("component",),
    )
    if "component" in entry:
        trigger.component = spec(entry["component"], path + ("component",))
    for role, specs in reader.opt_table(entry, "components", path).items():
        role_path = path + ("components", role)
        if isinstance(specs, list):
            trigger.components[role] = [spec(item, role_path + (index,)) for index, item in enumerate(specs)]
        else:
            trigger.components[role] = [spec(specs, role_path)]
            trigger.single.add(role)
    for role, dependencies in reader.opt_table(entry, "dependencies", path).items():
        reader.table_list(dependencies, path + ("dependencies", role), "an array of dependency tables")
        trigger.dependencies[role] = dependencies
    return trigger


def read_settings(reader, trigger_type, table, path, also_allowed=()) -> FrozenDict:
    """``[application.trigger.<type>]``; Spin's HTTP and Redis triggers refuse unknown keys."""
    allowed = SETTINGS_KEYS.get(trigger_type)
    if allowed is not None:
        reader.keys(table, path, also_allowed + allowed)
        for key in allowed:
            reader.opt_string(table, key, path)
    return freeze({key: value for key, value in table.items() if key not in also_allowed})


def base_warnings(base) -> Iterator[str]:
    """Spin 3 warns about an HTTP base of "/" and refuses any other; spin-py still applies it."""
    if base == "/":
        yield 'the HTTP trigger base is deprecated; with the default "/" it can be removed'
    elif base is not None:
        yield f"the HTTP trigger base is deprecated (Spin 3 refuses it): prepend {base!r} to each route instead"


def typed_triggers(reader, triggers, components) -> tuple[tuple[HttpTrigger, ...], tuple[RedisTrigger, ...], FrozenDict]:
    """Check each trigger's references and type-specific config: (http, redis, others)."""
    http: list[HttpTrigger] = []
    redis: list[RedisTrigger] = []
    others: dict[str, list] = {}
    for trigger in triggers:
        for spec, path, _ in trigger.specs():
            if spec not in components:
                known = ", ".join(components) or "none"
                raise reader.error(path, f'component "{spec}" does not exist (components: {known})')
        if trigger.type == "http":
            http.append(_http_trigger(reader, trigger))
        elif trigger.type == "redis":
            redis.append(_redis_trigger(reader, trigger))
        else:
            others.setdefault(trigger.type, []).append(_other_trigger(trigger))
    return tuple(http), tuple(redis), freeze(others)


def trigger_places(reader, triggers) -> FrozenDict:
    """type -> (key, line) where each trigger type is first written: ``[[trigger.<type>]]``,
    or a version 1 manifest's ``trigger.type``."""
    places: dict[str, tuple[str, int | None]] = {}
    for trigger in triggers:
        path = trigger.path[:2] if trigger.version == 2 else ("trigger", "type")
        places.setdefault(trigger.type, (format_key(path), reader.document.line_of(path)))
    return FrozenDict(places)


def _config_keys(reader, trigger, own_keys) -> None:
    allowed = own_keys if trigger.version == 1 else TRIGGER_KEYS + own_keys
    reader.keys(trigger.config, trigger.path, allowed)


def _http_trigger(reader, trigger) -> HttpTrigger:
    config, path = trigger.config, trigger.path
    _config_keys(reader, trigger, HTTP_KEYS)
    if "route" not in config:
        raise reader.error(path + ("route",), "required key is missing")
    route, private = config["route"], False
    if not isinstance(route, str):
        reader.table(route, path + ("route",), "a route string or { private = true }")
        reader.keys(route, path + ("route",), ("private",), ("private",))
        if not reader.boolean(route["private"], path + ("route", "private")):
            raise reader.error(
                path + ("route",), "must be a string pattern or { private = true }, not { private = false }"
            )
        route, private = None, True
    static = config.get("static_response")
    if static is not None:
        _check_static_response(reader, static, path + ("static_response",))
    if (trigger.component is None) == (static is None):
        which = "neither" if static is None else "both"
        raise reader.error(path, f"an HTTP trigger needs either component or static_response; this one has {which}")
    return HttpTrigger(
        route=route,
        private=private,
        component=trigger.component,
        executor=_executor(reader, config["executor"], path + ("executor",)) if "executor" in config else None,
        id=trigger.id,
        static_response=freeze(static),
    )


def _executor(reader, value, path) -> Any:
    reader.table(value, path, '{ type = "http" } or { type = "wagi", ... }')
    if "type" not in value:
        raise reader.error(path + ("type",), "required key is missing")
    kind = reader.string(value["type"], path + ("type",))
    if kind not in EXECUTOR_KEYS:
        raise reader.error(path + ("type",), f'unknown executor "{kind}" (expected one of: http, spin, wagi)')
    reader.keys(value, path, EXECUTOR_KEYS[kind])
    for key in EXECUTOR_KEYS[kind][1:]:
        reader.opt_string(value, key, path)
    return freeze(value)


def _check_static_response(reader, value, path) -> None:
    reader.table(value, path)
    if "status_code" in value:
        status = value["status_code"]
        if isinstance(status, bool) or not isinstance(status, int) or not 0 <= status <= 65535:
            raise reader.expected(path + ("status_code",), "an HTTP status code", status)
    reader.opt_string_map(value, "headers", path)
    reader.opt_string(value, "body", path)


def _redis_trigger(reader, trigger) -> RedisTrigger:
    config, path = trigger.config, trigger.path
    _config_keys(reader, trigger, REDIS_KEYS)
    if trigger.component is None:
        raise reader.error(path + ("component",), "required key is missing")
    if "channel" not in config:
        raise reader.error(path + ("channel",), "required key is missing")
    return RedisTrigger(
        channel=reader.string(config["channel"], path + ("channel",)),
        component=trigger.component,
        address=reader.opt_string(config, "address", path, None),
        id=trigger.id,
    )


def _other_trigger(trigger) -> FrozenDict:
    table = {"id": trigger.id}
    if trigger.component is not None:
        table["component"] = trigger.component
    if trigger.components:
        table["components"] = {
            role: specs[0] if role in trigger.single else specs for role, specs in trigger.components.items()
        }
    if trigger.dependencies:
        table["dependencies"] = trigger.dependencies
    return freeze({**table, **trigger.config})
