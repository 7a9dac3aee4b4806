"""`spin build` in the loop: each Python component's build command, run at startup and
after changes in the background, so an app that would not build for Spin is said while
it is written, not at deploy time. Serving and reloads never wait for it.

Each command runs as Spin's crates/build/src/lib.rs runs it, through the shell in the
component's workdir, one after another, stopping at the first that fails:

    let exit_status = Exec::shell(command)
        .cwd(workdir)
        ...
    if !exit_status.success() {
        bail!("Build command for component {} failed with status {:?}", ...

with the app's Python environment first on PATH (where `spin build` would find the
app's componentize-py once that environment is activated), at low CPU priority, and
its output kept in ``<state-dir>/logs/<id>_build.txt`` rather than on the terminal.
It writes what the command writes (``app.wasm``, as `spin build` would); those outputs
are not edits: ``outputs_dropped`` takes them out of the changes the reloader sees.

A change supersedes the build of the component it touches (spin.toml or requirements.txt:
every component's), and the build is cancelled as `spin watch` cancels one
(src/commands/watch/buildifier.rs: ``child.kill()`` on a ``group_spawn``ed child, when
``watched_changes.changed()`` fires first): its process group is killed. A new build
starts once changes have been quiet for ``debounce`` seconds.

A build whose tool is not installed (no componentize-py on that PATH, or ``spin
py2wasm`` without Spin's py2wasm plugin) is not run: what is missing and how to get it
is said once, until it is there.
"""

import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from spin_py.host.app_python import AppPython, shown
from spin_py.host.watch import ignored_dir
from spin_py.manifest.python_source import build_outputs, build_tool

if TYPE_CHECKING:  # the runtime imports this module
    from spin_py.host.runtime import AppRuntime

DEBOUNCE = 0.5  # seconds of quiet after a change before a build starts
NICENESS = 10  # as `nice` with no -n: the build yields the CPU to serving
_TAIL_BYTES = 64 * 1024  # how much of the build's output is read back for its outcome
_TAIL_LINES = 40  # kept in an outcome's text for people to read (the log file has it all)
_MOST_COMPARED = 4 * 1024 * 1024  # a changed file up to this size is compared by content
_LONGEST_SAID = 400  # characters of the build's error line said (the log has it whole)
# A Python exception's last line, a Rust `Error: ...`, a shell's `...: not found`.
_ERROR_LINE = re.compile(r"^(?:[A-Za-z_][\w.]*(?:Error|Exception|Exit)\b.*|(?:error|Error|ERROR)\b.*|.*: not found)$")


@dataclass(frozen=True)
class BuildOutcome:
    """The last build check of one component, for the terminal and the inspector."""

    component: str
    state: str  # "passed", "failed", or "missing" (its tool is not installed: not run)
    seconds: float | None  # how long the build ran (None when it did not run)
    text: str  # the line said, e.g. "passed in 4.2 s"
    output: str  # the end of the build's own output (its last lines), "" when it did not run
    finished: float  # time.time() when it ended


class _Cancelled(Exception):
    pass


class BuildCheck:
    def __init__(
        self,
        runtime: Callable[[], "AppRuntime"],
        app_python: AppPython,
        say: Callable[[str], None],
        debounce: float = DEBOUNCE,
    ) -> None:
        """``runtime()`` is the AppRuntime serving now; ``app_python`` its AppPython (whose
        interpreter's folder goes first on PATH). Builds start with ``start()``."""
        self._runtime = runtime
        self._app_python = app_python
        self._say = say
        self.debounce = debounce
        self._ready = threading.Condition()
        self._pending: dict[str, float] = {}  # component id -> monotonic time its build may start
        self._running: tuple[str, subprocess.Popen | None] | None = None  # the component being checked, its process
        self._cancelled = False  # the running build was superseded
        self._outcomes: dict[str, BuildOutcome] = {}
        self._missing: dict[str, str] = {}  # component id -> the missing-tool line said for it
        self._contents: dict[Path, bytes] = {}  # a component's changed file -> its SHA-256 when last reported
        self._closed = False
        self._thread = threading.Thread(target=self._loop, name="build-check", daemon=True)

    # --- what the server and the reloader call ---------------------------------------------

    def start(self) -> None:
        """Check every Python component once, now, in the background."""
        with self._ready:
            now = time.monotonic()
            for component_id in self._python_components():
                self._pending.setdefault(component_id, now)
            self._ready.notify_all()
        self._thread.start()

    def outputs_dropped(self, changes: dict) -> dict:
        """``changes`` ({key: {paths}}, as the watcher reports them) without what the components'
        builds write: the local ``source`` and the build commands' ``-o`` (`spin watch` too takes a
        component's source as the build's artifact, not its input: src/commands/watch/filters.rs,
        ArtifactFilterFactory), ignored folders themselves (componentize-py makes the app's
        __pycache__), and a component's file written again with the bytes it had (a build that
        regenerates bindings or reinstalls packages among its watched files would otherwise be
        superseded by its own writes, and run forever)."""
        outputs = self._outputs()
        keys: dict = {}
        for key, paths in changes.items():
            for path in paths:
                keys.setdefault(path, []).append(key)
        dropped = {
            path for path, its_keys in keys.items()
            if Path(path).resolve() in outputs or ignored_dir(path)
            or (all(key[0] == "component" for key in its_keys) and self._same_content(Path(path)))
        }  # fmt: skip
        return {key: set(paths) - dropped for key, paths in changes.items() if set(paths) - dropped}

    def _same_content(self, path: Path) -> bool:
        """Whether ``path`` holds what it held when last reported (False the first time)."""
        try:
            if path.stat().st_size > _MOST_COMPARED:
                return False
            digest = hashlib.sha256(path.read_bytes()).digest()
        except OSError:
            self._contents.pop(path, None)
            return False
        same = self._contents.get(path) == digest
        self._contents[path] = digest
        return same

    def changed(self, changes: dict) -> None:
        """Files changed: cancel the build they supersede, and build again once they are quiet."""
        everything = any(key[0] != "component" for key in changes)
        touched = self._python_components() if everything else [key[1] for key in changes]
        with self._ready:
            due = time.monotonic() + self.debounce
            for component_id in touched:
                self._pending[component_id] = due
            if self._running and self._running[0] in touched:
                self._cancel()
            self._ready.notify_all()

    def outcomes(self) -> dict[str, BuildOutcome]:
        """The last outcome per component (a component being built keeps its previous one)."""
        with self._ready:
            return dict(self._outcomes)

    def building(self) -> str | None:
        """The component whose build runs now, if any."""
        with self._ready:
            return self._running[0] if self._running else None

    def wait_idle(self, timeout: float) -> bool:
        """Wait until nothing is pending or running; False if ``timeout`` passed first."""
        deadline = time.monotonic() + timeout
        with self._ready:
            while self._pending or self._running:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._ready.wait(left)
            return True

    def close(self) -> None:
        """Stop: a build that runs is cancelled (its process group killed)."""
        with self._ready:
            self._closed = True
            self._cancel()
            self._ready.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    # --- the builder's thread --------------------------------------------------------------

    def _loop(self) -> None:
        while True:
            with self._ready:
                component_id = self._next()
                if component_id is None:
                    return
            try:
                self._check(component_id)
            except _Cancelled:
                pass  # a newer change supersedes it: it is pending again
            except Exception as error:  # a bug here must not stop the checks
                self._say(f"Build check for component '{component_id}' could not run: {error!r}")
            finally:
                with self._ready:
                    self._running, self._cancelled = None, False
                    self._ready.notify_all()

    def _next(self) -> str | None:
        """The next component due (waiting for it), or None once closed. Holds the lock."""
        while not self._closed:
            if not self._pending:
                self._ready.wait()
                continue
            component_id, due = min(self._pending.items(), key=lambda item: item[1])
            left = due - time.monotonic()
            if left > 0:
                self._ready.wait(left)
                continue
            del self._pending[component_id]
            self._running = (component_id, None)  # a change from now on supersedes it, even before it runs
            return component_id
        return None

    def _check(self, component_id: str) -> None:
        runtime = self._runtime()
        component = runtime.app.components.get(component_id)
        served = runtime.components.get(component_id)
        if component is None or component.build is None or served is None or served.entry is None:
            with self._ready:
                self._outcomes.pop(component_id, None)  # removed, or no longer a Python component
            return
        workdir = Path(runtime.app.dir) / (component.build.workdir or "")
        environment = self._environment()
        for command in component.build.commands:
            missing = self._missing_tool(command, workdir, environment["PATH"])
            if missing:
                self._record_missing(component_id, missing)
                return
        self._missing.pop(component_id, None)
        log_path = Path(runtime.logs_dir) / f"{component_id}_build.txt"
        started = time.monotonic()
        failed = None
        with open(log_path, "wb") as log:
            for command in component.build.commands:
                try:
                    status = self._run(component_id, command, workdir, environment, log)
                except OSError as error:  # Spin: "Cannot spawn build process ..."
                    log.write(f"Cannot spawn build process in {workdir}: {error.strerror or error}\n".encode())
                    status = -1
                if status != 0:
                    failed = status
                    break
        seconds = time.monotonic() - started
        output = _tail(log_path)
        if failed == 127 and _ERROR_LINE.match(output.splitlines()[-1] if output else ""):
            # sh's `<tool>: not found` for a tool the command names in a way not looked up ahead (e.g. `uv run`).
            self._record_missing(component_id, f"{output.splitlines()[-1]} (the build's tool is not installed)")
            return
        if failed is None:
            text = f"passed in {seconds:.1f} s"
        else:
            reason = _error_lines(output, failed)
            reason = reason if len(reason) <= _LONGEST_SAID else reason[: _LONGEST_SAID - 1] + "…"
            text = f"failed in {seconds:.1f} s: {reason} (full output: {shown(log_path)})"
        self._record(BuildOutcome(component_id, "passed" if failed is None else "failed", seconds, text,
                                  "\n".join(output.splitlines()[-_TAIL_LINES:]), time.time()))

    def _run(self, component_id: str, command: str, workdir: Path, environment: dict, log) -> int:
        """One command through the shell, in its own process group at low priority; its exit status."""
        nice = shutil.which("nice")
        argv = ([nice, "-n", str(NICENESS)] if nice else []) + ["sh", "-c", command]
        with self._ready:
            if self._cancelled or self._closed:
                raise _Cancelled
            process = subprocess.Popen(argv, cwd=workdir, env=environment, stdin=subprocess.DEVNULL,
                                       stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            self._running = (component_id, process)
        status = process.wait()
        with self._ready:
            if self._cancelled or self._closed:
                raise _Cancelled
        return status

    def _cancel(self) -> None:
        """Kill the running build's process group (with the lock held)."""
        if self._running is None:
            return
        self._cancelled = True
        if self._running[1] is None:
            return
        try:
            os.killpg(self._running[1].pid, signal.SIGKILL)  # start_new_session: it leads its own group
        except ProcessLookupError:
            pass

    def _record(self, outcome: BuildOutcome) -> None:
        with self._ready:
            self._outcomes[outcome.component] = outcome
        self._say(f"Build check for component '{outcome.component}': {outcome.text}")

    def _record_missing(self, component_id: str, line: str) -> None:
        """Say once what is missing, until it is there (or something else is missing)."""
        with self._ready:
            self._outcomes[component_id] = BuildOutcome(component_id, "missing", None, line, "", time.time())
            said = line in self._missing.values()  # for this component, or another with the same lack
            self._missing[component_id] = line
        if not said:
            self._say(f"Build check for component '{component_id}': {line}")

    # --- what a build needs ----------------------------------------------------------------

    def _python_components(self) -> list[str]:
        runtime = self._runtime()
        return [
            component_id for component_id, served in runtime.components.items()
            if served.entry is not None and runtime.app.components[component_id].build is not None
        ]  # fmt: skip

    def _outputs(self) -> set[Path]:
        runtime = self._runtime()
        outputs = set()
        for component_id in self._python_components():
            component = runtime.app.components[component_id]
            if isinstance(component.source, str):
                outputs.add((Path(runtime.app.dir) / component.source).resolve())
            workdir = Path(runtime.app.dir) / (component.build.workdir or "")
            for command in component.build.commands:
                outputs.update(build_outputs(command, workdir))
        return outputs

    def _venv(self) -> Path | None:
        """The app's own virtual environment, if it has one (spin-py's own is not the app's)."""
        path = getattr(self._app_python, "path", None)
        if path is None or getattr(self._app_python, "own", False):
            return None
        prefix = Path(path).parent.parent  # not resolved: a venv's python is a symlink out of it
        return prefix if (prefix / "pyvenv.cfg").is_file() else None

    def _environment(self) -> dict:
        """The developer's environment (a build is theirs, as `spin build` is), with the app's
        Python environment first on PATH and activated, as its README has the developer do."""
        environment = dict(os.environ)
        environment.setdefault("PATH", os.defpath)
        path = getattr(self._app_python, "path", None)
        if path is not None and not getattr(self._app_python, "own", False):
            environment["PATH"] = os.pathsep.join([str(Path(path).parent), environment["PATH"]])
        venv = self._venv()
        if venv is not None:
            environment["VIRTUAL_ENV"] = str(venv)
            environment.pop("PYTHONHOME", None)
        return environment

    def _missing_tool(self, command: str, workdir: Path, path: str) -> str | None:
        """What the command's tool lacks, with how to get it; None when it is there, or when the
        command starts it in a way not looked up ahead (``python -m componentize_py``, ``uv run``:
        the shell says so, see _check)."""
        found = build_tool(command, workdir)
        if found is None or not all(word.known for word in found[1]):
            return None
        kind, words, cwd = found
        plugin = kind == "py2wasm" and len(words) == 2  # `spin py2wasm`
        if len(words) != 1 and not plugin:
            return None
        program = str(words[0])
        if _lookup(program, cwd, path) is None:
            if plugin:
                return ("`spin py2wasm` needs Spin and its py2wasm plugin, and `spin` is not on PATH: install Spin "
                        "(https://spinframework.dev/install), then `spin plugins install py2wasm`")
            if kind == "py2wasm":
                return f"{program} is not on PATH: Spin's py2wasm plugin (`spin plugins install py2wasm`) provides it"
            return self._no_componentize_py(program)
        if plugin and not (_spin_plugins_dir() / "py2wasm").is_dir():
            return (f"`spin py2wasm` needs Spin's py2wasm plugin, which is not installed ({_spin_plugins_dir()} has no "
                    "py2wasm): `spin plugins install py2wasm` installs it")
        return None

    def _no_componentize_py(self, program: str) -> str:
        why = "to check that the app builds for Spin (--no-build-check turns the check off)"
        if "/" in program:
            return f"{program} does not exist, so `spin build` would fail; install componentize-py there {why}"
        venv = self._venv()
        if venv is not None:
            python = shown(self._app_python.path)
            return (f"componentize-py is not installed in the app's Python environment ({shown(venv)}): "
                    f"`{python} -m pip install componentize-py`, or list it in requirements.txt as Spin's Python "
                    f"templates do, {why}")
        return (f"componentize-py is not on PATH: `pip install componentize-py` into the app's virtual environment "
                f"(or list it in requirements.txt as Spin's Python templates do) {why}")


def _lookup(program: str, cwd: Path, path: str) -> str | None:
    """Where the shell would find ``program``: a path from ``cwd``, else on ``path``."""
    if "/" in program:
        target = Path(cwd) / os.path.expanduser(program)
        return str(target) if os.access(target, os.X_OK) and target.is_file() else None
    return shutil.which(program, path=path)


def _spin_plugins_dir() -> Path:
    """Spin's plugins folder, as crates/common/src/data_dir.rs finds its data dir: $SPIN_DATA_DIR,
    else the platform's local data dir (dirs::data_local_dir) + "spin", else ~/.spin."""
    if os.environ.get("SPIN_DATA_DIR"):
        return Path(os.environ["SPIN_DATA_DIR"]) / "plugins"
    if sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "spin" / "plugins"


def _tail(path: Path) -> str:
    """The end of the build's output, without a Rust backtrace (componentize-py prints one after
    its error: its lines name Rust and CPython frames, never what could not be packaged)."""
    try:
        with open(path, "rb") as file:
            file.seek(max(0, file.seek(0, os.SEEK_END) - _TAIL_BYTES))
            text = file.read().decode("utf-8", "replace")
    except OSError:
        return ""
    text = text.split("\nStack backtrace:", 1)[0]
    return "\n".join(line.rstrip() for line in text.splitlines() if line.strip())


def _error_lines(output: str, status: int) -> str:
    """The build's own last error line that says something (a Python exception's last line, a tool's
    `error:` line), else its last line, else its exit status. An exception whose message starts on
    the next line (numpy's ``ImportError:`` and its advice) and componentize-py's wrapping
    ``AssertionError: Traceback ...`` say less than the error under them: for numpy it is
    ``ModuleNotFoundError: No module named 'numpy._core._multiarray_umath'``."""
    lines = output.splitlines()
    errors = [
        line.strip() for line in lines
        if _ERROR_LINE.match(line.strip()) and not line.rstrip().endswith((":", "(most recent call last):"))
    ]  # fmt: skip
    if errors:
        return errors[-1]
    if lines:
        return lines[-1].strip()
    return f"exit status {status}" if status >= 0 else f"killed by signal {-status}"
