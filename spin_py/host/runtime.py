"""One loaded app: its manifest, router, a worker pool per Python component,
and the host capabilities that answer its workers' calls."""

import sys
from dataclasses import dataclass

from spin_py.host.launch import WorkerSettings
from spin_py.host.output import ComponentOutput
from spin_py.host.pool import ComponentPool
from spin_py.host.worker import CallError, Worker
from spin_py.manifest import NotPython, load_manifest, python_entry
from spin_py.trigger.routes import Router


@dataclass
class ComponentRuntime:
    id: str
    pool: ComponentPool | None  # None when the component is not a Python app
    not_python: str | None = None  # why it is not served
    output: ComponentOutput | None = None


class AppRuntime:
    def __init__(self, config, app, capabilities=None, terminal=None):
        self.config = config
        self.app = app
        self.terminal = terminal or sys.stderr
        self.capabilities = capabilities or {}
        self.state_dir = config.state_dir_for(app.dir)
        self.logs_dir = self.state_dir / "logs"
        self.logs_dir.mkdir(parents=True, exist_ok=True)
        self.python = config.worker_python(app.dir)
        self.router = Router.build(
            [(None if t.private else t.route, t.component) for t in app.http_triggers], base=app.http_base
        )
        self.components = {component_id: self._component(component) for component_id, component in app.components.items()}

    @classmethod
    def load(cls, config, **kwargs):
        return cls(config, load_manifest(config.manifest), **kwargs)

    def _component(self, component):
        entry = python_entry(self.app, component)
        if isinstance(entry, NotPython):
            return ComponentRuntime(component.id, None, not_python=entry.reason)
        output = ComponentOutput(component.id, self.logs_dir, self.terminal)
        settings = WorkerSettings(
            component=component.id,
            module=entry.module,
            workdir=str(entry.workdir),
            paths=[str(path) for path in entry.paths],
        )
        environment = {**component.environment, **self.config.env}

        def spawn():
            worker = Worker(self.python, settings, environment, output)
            try:
                worker.wait_ready()
            except Exception:
                worker.stop()
                raise
            return worker

        pool = ComponentPool(component.id, spawn, self.config.max_workers, self.config.idle_timeout)
        return ComponentRuntime(component.id, pool, output=output)

    def start(self):
        for component in self.components.values():
            if component.pool is not None:
                component.pool.start()

    def warnings(self):
        """What startup says about the app before serving it."""
        lines = list(self.router.warnings)
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
                raise CallError("RuntimeError", f"spin-py does not provide the '{capability}' capability")
            return handler.handle(component_id, function, args)

        return answer

    def close(self):
        for component in self.components.values():
            if component.pool is not None:
                component.pool.close()
