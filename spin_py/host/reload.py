"""Hot reload: applies what the change watcher reports to the running server.

A component's files changed: its pool starts workers on the new code (the
model pool and the other components are untouched). The manifest or runtime
config changed: validate it, then swap in a runtime built from the previous
one, or keep serving the last good one and say why. requirements.txt changed:
the app's Python environment installs it, then every component gets new
workers (a failed install keeps the ones it has).
"""

import os
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol

from spin_py.host.app_python import AppPython
from spin_py.host.runtime import AppRuntime, ComponentRuntime
from spin_py.host.watch import ChangeWatcher, Key, WatchTarget
from spin_py.host.worker import LoadFailed
from spin_py.manifest import ManifestError
from spin_py.runtime_config import RuntimeConfigError

MANIFEST = ("manifest",)
REQUIREMENTS = ("requirements",)


class Reloadable(Protocol):
    """What the reloader needs of the server it reloads (spin_py/dev_server.py's DevServer)."""

    runtime: AppRuntime

    @property
    def app_python(self) -> AppPython | None: ...

    def load_runtime(self, previous: AppRuntime | None) -> AppRuntime: ...

    def replace_runtime(self, runtime: AppRuntime) -> None: ...

    def say(self, text: str) -> None: ...


def watch_targets(runtime: AppRuntime) -> list[WatchTarget]:
    """What to watch: Spin's `build.watch` globs relative to the build workdir,
    else the Python files under the workdir and -p paths (a reload then needs
    one the component imports: see ComponentPool.uses); plus the manifest and
    the runtime config file."""
    # .env: the variables' environment provider reads it from where spin-py runs (spin_py/capabilities/variables).
    config_files = [str(runtime.app.path), os.path.abspath(".env")]
    if runtime.config.runtime_config_file:
        config_files.append(str(runtime.config.runtime_config_file.resolve()))
    targets = [WatchTarget(MANIFEST, runtime.app.dir, tuple(config_files))]
    if runtime.config.install:
        requirements = str((runtime.app.dir / "requirements.txt").resolve())
        targets.append(WatchTarget(REQUIREMENTS, runtime.app.dir, (requirements,)))
    for component in runtime.components.values():
        if component.entry is None:
            continue
        key = ("component", component.id)
        build = runtime.app.components[component.id].build
        if build and build.watch:
            targets.append(WatchTarget(key, component.entry.workdir, tuple(build.watch)))
        else:
            for root in (component.entry.workdir, *component.entry.paths):
                targets.append(WatchTarget(key, root, ("*.py",)))
    return targets


def _names(paths: Iterable[Path], root: Path) -> str:
    names = []
    for path in sorted(paths):
        try:
            names.append(str(path.relative_to(root)))
        except ValueError:
            names.append(str(path))
    return ", ".join(names)


class Reloader:
    def __init__(self, server: Reloadable) -> None:
        """``server`` has ``runtime``, ``app_python``, ``replace_runtime(new)``, ``load_runtime(previous)`` and ``say(line)``."""
        self.server = server
        self.watcher = ChangeWatcher(watch_targets(server.runtime))
        self.thread = threading.Thread(target=self._run, name="reload", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        for changes in self.watcher:
            check = getattr(self.server, "build_check", None)  # spin_py/host/build_check.py
            if check is not None:
                changes = check.outputs_dropped(changes)  # what a build writes is not an edit
                check.changed(changes)  # cancels the build these changes supersede
            if not changes:
                continue
            try:
                self.apply(dict(changes))
            except Exception as error:  # a reload bug must not stop watching
                self.server.say(f"Reload failed: {error!r}")
            if check is not None:
                check.changed(changes)  # builds again once the reload (an install included) is done

    def apply(self, changes: dict[Key, set[Path]]) -> None:
        runtime = self.server.runtime
        if MANIFEST in changes:
            runtime = self._reload_manifest(changes.pop(MANIFEST))
        if REQUIREMENTS in changes:
            installed = changes.pop(REQUIREMENTS)
            if self._reinstall(runtime, installed):
                # A component's build.watch may name requirements.txt too: it has just been reloaded.
                changes = {key: paths - installed for key, paths in changes.items() if paths - installed}
        for key, paths in changes.items():
            component = runtime.components.get(key[1])
            if component is None or component.pool is None or key[1] in runtime.changed:
                continue
            build = runtime.app.components[component.id].build
            # Spin's build.watch is the user's word; without it, only files the code imports count.
            if (build and build.watch) or component.pool.uses(paths):
                self._reload_component(component, paths, runtime.app.dir)

    def _reinstall(self, runtime: AppRuntime, paths: set[Path]) -> bool:
        """requirements.txt changed: install it (the app's Python environment says how it went),
        then every component gets workers that import the new packages."""
        python = self.server.app_python
        if python is None or not python.requirements_changed():
            return False
        for component in runtime.components.values():
            if component.pool is not None:
                self._reload_component(component, paths, runtime.app.dir, packages_changed=True)
        return True

    def _reload_component(self, component: ComponentRuntime, paths: Iterable[Path], app_dir: Path,
                          packages_changed: bool = False) -> None:
        if component.pool is None:  # not served by workers: nothing to reload
            return
        started = time.perf_counter()
        try:
            component.pool.reload(packages_changed)
        except LoadFailed as error:
            # The error text names the component and module itself.
            self.server.say(f"{_names(paths, app_dir)} changed: {error}")
            return
        elapsed = (time.perf_counter() - started) * 1000
        self.server.say(f"Reloaded component '{component.id}' ({_names(paths, app_dir)} changed) in {elapsed:.0f} ms")

    def _reload_manifest(self, paths: set[Path]) -> AppRuntime:
        previous = self.server.runtime
        started = time.perf_counter()
        try:
            runtime = self.server.load_runtime(previous)
        except (ManifestError, RuntimeConfigError) as error:
            self.server.say(f"Still serving the last good manifest: {error}")
            return previous
        self.server.replace_runtime(runtime)
        self.watcher.set_targets(watch_targets(runtime))
        for component_id in runtime.changed:
            pool = runtime.components[component_id].pool
            if pool is None:
                continue
            try:
                pool.reload()
            except LoadFailed as error:
                self.server.say(str(error))
        removed = [c for c in previous.app.components if c not in runtime.app.components]
        summary = "; ".join(
            f"{label}: {', '.join(ids)}"
            for label, ids in (("added", runtime.added), ("changed", runtime.changed), ("removed", removed))
            if ids
        )
        elapsed = (time.perf_counter() - started) * 1000
        self.server.say(
            f"Reloaded {_names(paths, previous.app.dir)} in {elapsed:.0f} ms" + (f" ({summary})" if summary else "")
        )
        for line in runtime.warnings():
            self.server.say(line)
        return runtime

    def close(self) -> None:
        self.watcher.close()
