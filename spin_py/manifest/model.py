"""The loaded app, always in Spin's version 2 shape whatever the file's version.

Everything is frozen and hashable: two loads of an unchanged component compare
equal, which is how a reload tells which components it can leave running.
Tables from the manifest are FrozenDicts (real dicts that refuse changes) and
arrays are tuples.
"""

from dataclasses import dataclass, field
from pathlib import Path

from spin_py.manifest.frozen import EMPTY, FrozenDict


@dataclass(frozen=True)
class Variable:
    """An application variable (``[variables]``): it is either required or has a default."""

    default: str | None = None
    required: bool = False
    secret: bool = False
    description: str | None = None


@dataclass(frozen=True)
class Build:
    """``[component.<id>.build]``: ``command`` is a string, or a tuple run one after another."""

    command: str | tuple[str, ...]
    workdir: str | None = None  # relative to the manifest's folder
    watch: tuple[str, ...] = ()

    @property
    def commands(self) -> tuple:
        return (self.command,) if isinstance(self.command, str) else self.command


@dataclass(frozen=True)
class Component:
    id: str
    # A path string, FrozenDict(url=, digest=), or FrozenDict(package=, version=[, registry=]).
    source: str | FrozenDict
    description: str = ""
    files: tuple = ()  # glob strings and FrozenDict(source=, destination=) placements
    exclude_files: tuple[str, ...] = ()
    # Includes entries converted from the deprecated allowed_http_hosts, as Spin does.
    allowed_outbound_hosts: tuple[str, ...] = ()
    key_value_stores: tuple[str, ...] = ()
    sqlite_databases: tuple[str, ...] = ()
    ai_models: tuple[str, ...] = ()
    environment: FrozenDict = EMPTY
    variables: FrozenDict = EMPTY
    build: Build | None = None
    dependencies: FrozenDict = EMPTY  # as written in the manifest
    dependencies_inherit_configuration: bool = False
    targets: tuple | None = None

    @property
    def source_url(self) -> str | None:
        return self.source.get("url") if isinstance(self.source, dict) else None

    @property
    def source_path(self) -> str | None:
        """The local Wasm path (relative to the manifest's folder), or None."""
        return self.source if isinstance(self.source, str) else None


@dataclass(frozen=True)
class HttpTrigger:
    """One ``[[trigger.http]]``: ``route`` is None for a private endpoint.

    ``component`` is None only when the trigger serves a ``static_response``.
    """

    route: str | None
    private: bool
    component: str | None
    executor: FrozenDict | None = None
    id: str = ""
    static_response: FrozenDict | None = None


@dataclass(frozen=True)
class RedisTrigger:
    channel: str
    component: str
    address: str | None = None  # else the application-level [application.trigger.redis] address
    id: str = ""


@dataclass(frozen=True)
class App:
    path: Path  # the manifest file, absolute
    name: str
    version: str = ""
    description: str = ""
    authors: tuple[str, ...] = ()
    http_base: str = "/"
    variables: FrozenDict = EMPTY  # name -> Variable
    components: FrozenDict = EMPTY  # id -> Component, in manifest order (inline ones last)
    http_triggers: tuple[HttpTrigger, ...] = ()
    redis_triggers: tuple[RedisTrigger, ...] = ()
    # Triggers of other types (plugins): type -> tuple of their tables, components by id.
    other_triggers: FrozenDict = EMPTY
    # [application.trigger.<type>] settings, e.g. {"redis": {"address": ...}}.
    trigger_settings: FrozenDict = EMPTY
    targets: tuple = ()
    manifest_version: int = 2
    # Deprecations Spin would warn about; not part of what the app is.
    warnings: tuple[str, ...] = field(default=(), compare=False)
    # Where each trigger type is first written: type -> (key, line), for errors about the type.
    trigger_places: FrozenDict = field(default=EMPTY, compare=False)

    @property
    def dir(self) -> Path:
        return self.path.parent

    @property
    def redis_address(self) -> str:
        return self.trigger_settings.get("redis", EMPTY).get("address")
