"""One loaded app: its manifest, router, a worker pool per Python component,
and the host capabilities that answer its workers' calls.

A manifest edit builds a new AppRuntime from the previous one: components whose
entries did not change keep their pool and workers; a changed one keeps its
pool but gets new workers; removed ones are closed.
"""

import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from spin_py.capabilities.seam import AppCapability, AppContext, Capability, ConfigureError, Instance
from spin_py.host.app_python import AppPython
from spin_py.host.instances import InstanceSource
from spin_py.host.launch import WorkerSettings
from spin_py.host.output import ComponentOutput
from spin_py.host.pool import ComponentPool
from spin_py.host.worker import Worker
from spin_py.manifest import ManifestError, NotPython, python_entry
from spin_py.manifest.file_mounts import FileMounts, MountError
from spin_py.manifest.python_source import file_server_release
from spin_py.runtime_config import RuntimeConfig


class StateDirError(Exception):
    """One line: the state dir cannot hold the logs."""


def _same_worker(before: Any, after: Any, host_fields: frozenset[str]) -> bool:
    """Workers can stay when only ``host_fields`` changed: the component fields that capabilities
    check on every call, with the manifest they have then (each declares its own)."""
    kept = [field.name for field in fields(before) if field.name not in host_fields]
    return all(getattr(before, name) == getattr(after, name) for name in kept)


@dataclass
class ComponentRuntime:
    id: str
    pool: ComponentPool | None  # None when the component is not a Python app
    not_python: str | None = None  # why it is not served
    output: ComponentOutput | None = None
    entry: Any = None  # the PythonEntry its workers run
    file_server: Any = None  # StaticFiles: spin-fileserver, answered by the host (trigger/static_files.py)
    kv_explorer: Any = None  # KvExplorer: spin-kv-explorer, answered by the host (trigger/kv_explorer.py)


class AppRuntime:
    def __init__(self, config: Any, app: Any, capabilities: Iterable[Capability] = (), runtime_config: RuntimeConfig | None = None,
                 terminal: Any = None, previous: "AppRuntime | None" = None, current: Callable[[], "AppRuntime"] | None = None,
                 python: AppPython | None = None, router: Any = None, file_server: Any = None,
                 kv_explorer: Any = None, check_triggers: Callable[["AppRuntime"], object] | None = None) -> None:
        """``capabilities``: the server's Capability objects, configured here for ``app``.
        ``current()`` returns the runtime serving now: host calls are checked against its
        manifest, so an edit that revokes a permission applies from the very next call.
        ``router`` (the HTTP trigger's, for ``app``) and ``file_server(runtime, component, release)``
        (spin-fileserver, answered by the host) come from the triggers, which import the host
        and not the other way round (spin_py/dev_server.py hands them over). ``check_triggers(runtime)``
        raises ManifestError where a trigger's settings cannot be resolved (Spin refuses to start):
        it runs once the capabilities are configured, with their shared variables, before any
        component's pool is touched."""
        self.config = config
        self.app = app
        self.terminal = terminal or sys.stderr
        self._current = current or (lambda: self)
        self.state_dir = config.state_dir_for(app.dir)
        self.logs_dir = self.state_dir / "logs"
        try:
            self.logs_dir.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise StateDirError(f"--state-dir {self.state_dir}: cannot create {self.logs_dir}: {error.strerror or error}") from None
        self.runtime_config = runtime_config or RuntimeConfig()  # the triggers resolve their settings with it too
        capabilities = list(capabilities)
        # What the capabilities share (variables, allowed outbound hosts) is worked out once, here.
        self.context = AppContext(app, self.runtime_config, self.state_dir, config)
        self.capabilities = self._configure(capabilities)
        if check_triggers is not None:
            try:
                check_triggers(self)
            except BaseException:
                for configured in self.capabilities.values():
                    configured.close()
                raise
        self.host_fields = frozenset(name for capability in capabilities for name in capability.host_fields)
        # The app's Python environment (spin_py/host/app_python.py): the server keeps one across reloads.
        self.python = python if python is not None else AppPython(config, app.dir, say=self._say)
        self.router = router
        self._file_server = file_server
        self._kv_explorer = kv_explorer  # spin-kv-explorer's (runtime, component) -> KvExplorer | None
        self.added: list[str] = []  # component ids, against ``previous``
        self.changed: list[str] = []
        self.components = {
            component_id: self._component(component, previous) for component_id, component in app.components.items()
        }

    def _configure(self, capabilities: list[Capability]) -> dict[str, AppCapability]:
        """Each capability checks this manifest (Spin's configure_app); its refusal is a manifest error."""
        configured: dict[str, AppCapability] = {}
        try:
            for capability in capabilities:
                configured[capability.name] = capability.configure(self.context)
        except BaseException as error:
            for done in configured.values():
                done.close()
            if isinstance(error, ConfigureError):
                raise ManifestError(self.app.path, str(error)) from None
            raise
        return configured

    def _say(self, line: str) -> None:
        print(line, file=self.terminal, flush=True)

    def _component(self, component: Any, previous: "AppRuntime | None") -> ComponentRuntime:
        old = previous.components.get(component.id) if previous else None
        if (old and previous is not None and previous.python == self.python
                and _same_worker(previous.app.components[component.id], component, self.host_fields | previous.host_fields)):
            return old
        release = file_server_release(self.app, component)
        if release is not None:  # no worker: the host serves it
            files = self._file_server(self, component, release)
            return ComponentRuntime(component.id, None, output=files.output, file_server=files)
        explorer = self._kv_explorer(self, component) if self._kv_explorer is not None else None
        if explorer is not None:  # no worker either: the host answers it
            return ComponentRuntime(component.id, None, output=explorer.output, kv_explorer=explorer)
        entry = python_entry(self.app, component)
        if isinstance(entry, NotPython):
            return ComponentRuntime(component.id, None, not_python=entry.reason)
        output = old.output if old and old.output else ComponentOutput(component.id, self.logs_dir, self.terminal)
        source = self._source(component, entry, output)
        if old and old.pool:
            old.pool.set_source(source)
            self.changed.append(component.id)
            return ComponentRuntime(component.id, old.pool, output=output, entry=entry)
        self.added.append(component.id)
        pool = ComponentPool(component.id, source, self.config.max_workers, self.config.idle_timeout, report=output.write,
                             make_worker=lambda zygote: Worker(zygote, output))
        return ComponentRuntime(component.id, pool, output=output, entry=entry)

    def _source(self, component: Any, entry: Any, output: ComponentOutput) -> InstanceSource:
        try:
            mounts = FileMounts(self.app.dir, component.files, component.exclude_files).bind_plan()
        except MountError as error:
            raise ManifestError(self.app.path, str(error), key=f"component.{component.id}.files") from None
        root = self.state_dir / "instance-root"
        root.mkdir(parents=True, exist_ok=True)
        settings = WorkerSettings(
            component=component.id,
            module=entry.module,
            workdir=str(entry.workdir),
            paths=[str(path) for path in entry.paths],
            # The app's configuration is out of a component's reach, as under Spin.
            protected=[str(Path(file).resolve()) for file in (self.app.path, self.config.runtime_config_file) if file],
            # The component's sockets reach only what its allowed_outbound_hosts allows (spin_py/guest/network_guard.py).
            allowed_outbound_hosts=self._socket_rules(component.id),
            mounts=[list(pair) for pair in mounts],
            root=str(root),
            environment_names=sorted({**component.environment, **self.config.env}),
        )
        environment = {**component.environment, **self.config.env}
        return InstanceSource(self.python.executable, settings, environment, output)

    def _socket_rules(self, component_id: str) -> list[Any]:
        """The component's allowed outbound hosts, from the app's one networking (AppContext), as
        Spin's OutboundNetworkingFactor gives wasi sockets their check."""
        try:
            return self.context.networking().socket_rules(component_id)
        except ConfigureError as error:  # no capability asked for them, and the variables do not resolve
            raise ManifestError(self.app.path, str(error)) from None

    def start(self) -> None:
        """Start the first worker of each new component ahead of any request."""
        for component_id in self.added:
            pool = self.components[component_id].pool
            if pool is not None:  # always so: only Python components are added
                pool.start()

    def warnings(self) -> list[str]:
        """What startup says about the app before serving it: deprecations, and each
        trigger and component spin-py does not serve, with the reason."""
        from spin_py.manifest import unserved_triggers

        lines = list(self.app.warnings) + list(self.router.warnings) + unserved_triggers(self.app)
        for component in self.components.values():
            if component.file_server is not None:
                lines += component.file_server.startup_lines
            if component.kv_explorer is not None:
                lines += component.kv_explorer.startup_lines
            if component.not_python:
                lines.append(f"Component '{component.id}' is not served: {component.not_python}")
        return lines

    def capability_lines(self) -> list[str]:
        """What each capability says about this app at startup."""
        return [line for capability in self.capabilities.values() for line in capability.startup_lines()]

    def instance(self, component_id: str) -> Instance:
        """The state of one request to ``component_id``: identity is bound here, from
        the channel's owner, never read from a message."""
        return Instance(component_id, lambda: self._current().capabilities)

    def close(self, keep: "AppRuntime | None" = None) -> None:
        """Stop the pools that ``keep`` (the runtime replacing this one) does not use."""
        kept = {id(c.pool) for c in keep.components.values()} if keep else set()
        for component in self.components.values():
            if component.pool is not None and id(component.pool) not in kept:
                component.pool.close()
        for capability in self.capabilities.values():
            capability.close()
