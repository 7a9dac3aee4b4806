"""One loaded app: its manifest, router, a worker pool per Python component,
and the host capabilities that answer its workers' calls.

A manifest edit builds a new AppRuntime from the previous one: components whose
entries did not change keep their pool and workers; a changed one keeps its
pool but gets new workers; removed ones are closed.
"""

import sys
from dataclasses import dataclass, replace

from spin_py.host.launch import WorkerSettings
from spin_py.host.output import ComponentOutput
from spin_py.host.pool import ComponentPool
from spin_py.capabilities.errors import CapabilityError
from spin_py.host.worker import Worker
from spin_py.manifest import ManifestError, NotPython, load_manifest, python_entry
from spin_py.trigger.routes import RouteError, Router


class StateDirError(Exception):
    """One line: the state dir cannot hold the logs."""


def _same_worker(before, after):
    """Workers can stay when only host-side permissions changed: the host checks
    `ai_models` on every call, with the manifest it has now."""
    return replace(before, ai_models=()) == replace(after, ai_models=())


@dataclass
class ComponentRuntime:
    id: str
    pool: ComponentPool | None  # None when the component is not a Python app
    not_python: str | None = None  # why it is not served
    output: ComponentOutput | None = None
    entry: object = None  # the PythonEntry its workers run


class AppRuntime:
    def __init__(self, config, app, capabilities=None, terminal=None, previous=None):
        self.config = config
        self.app = app
        self.terminal = terminal or sys.stderr
        self.capabilities = capabilities or {}
        self.state_dir = config.state_dir_for(app.dir)
        self.logs_dir = self.state_dir / "logs"
        try:
            self.logs_dir.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise StateDirError(f"--state-dir {self.state_dir}: cannot create {self.logs_dir}: {error.strerror or error}") from None
        self.python = config.worker_python(app.dir)
        try:
            self.router = Router.build(
                [(None if t.private else t.route, t.component) for t in app.http_triggers if t.component is not None],
                base=app.http_base,
            )
        except RouteError as error:
            raise ManifestError(app.path, str(error), key="trigger.http.route") from None
        self.added, self.changed = [], []  # component ids, against ``previous``
        self.components = {
            component_id: self._component(component, previous) for component_id, component in app.components.items()
        }

    @classmethod
    def load(cls, config, **kwargs):
        return cls(config, load_manifest(config.manifest), **kwargs)

    def _component(self, component, previous):
        old = previous.components.get(component.id) if previous else None
        if old and _same_worker(previous.app.components[component.id], component) and previous.python == self.python:
            return old
        entry = python_entry(self.app, component)
        if isinstance(entry, NotPython):
            return ComponentRuntime(component.id, None, not_python=entry.reason)
        output = old.output if old and old.output else ComponentOutput(component.id, self.logs_dir, self.terminal)
        spawn = self._spawner(component, entry, output)
        if old and old.pool:
            old.pool.set_spawn(spawn)
            self.changed.append(component.id)
            return ComponentRuntime(component.id, old.pool, output=output, entry=entry)
        self.added.append(component.id)
        pool = ComponentPool(component.id, spawn, self.config.max_workers, self.config.idle_timeout, report=output.write)
        return ComponentRuntime(component.id, pool, output=output, entry=entry)

    def _spawner(self, component, entry, output):
        settings = WorkerSettings(
            component=component.id,
            module=entry.module,
            workdir=str(entry.workdir),
            paths=[str(path) for path in entry.paths],
        )
        environment = {**component.environment, **self.config.env}
        python = self.python

        def spawn():
            worker = Worker(python, settings, environment, output)
            try:
                worker.wait_ready()
            except Exception:
                worker.stop()
                raise
            return worker

        return spawn

    def start(self):
        """Start the first worker of each new component ahead of any request."""
        for component_id in self.added:
            self.components[component_id].pool.start()

    def warnings(self):
        """What startup says about the app before serving it: deprecations, and each
        trigger and component spin-py does not serve, with the reason."""
        from spin_py.manifest import unserved_triggers

        lines = list(self.app.warnings) + list(self.router.warnings) + unserved_triggers(self.app)
        for component in self.components.values():
            if component.not_python:
                lines.append(f"Component '{component.id}' is not served: {component.not_python}")
        return lines

    def answer_call(self, component_id):
        """The host-call handler for workers of ``component_id``: identity is bound
        here, from the channel's owner, never read from the message."""

        def answer(capability, function, args):
            handler = self.capabilities.get(capability)
            if handler is None:
                raise CapabilityError("RuntimeError", f"spin-py does not provide the '{capability}' capability")
            return handler.handle(component_id, function, args)

        return answer

    def close(self, keep=None):
        """Stop the pools that ``keep`` (the runtime replacing this one) does not use."""
        kept = {id(c.pool) for c in keep.components.values()} if keep else set()
        for component in self.components.values():
            if component.pool is not None and id(component.pool) not in kept:
                component.pool.close()
