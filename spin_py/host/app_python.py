"""The app's Python environment: which interpreter runs its code, and its
requirements.txt installed into it, as `spin build` prepares a Spin app.

The interpreter, in this order:
1. ``--python``: used as it is; spin-py installs nothing into an interpreter it was handed.
2. the app's ``.venv/``, then its ``venv/`` (what Spin's Python READMEs make:
   ``python3 -m venv venv``);
3. the activated ``$VIRTUAL_ENV``, unless it is the environment spin-py itself
   runs from: that activation is how spin-py got on PATH, not a choice for the
   app, and installing the app's pins there would change spin-py's own
   dependencies and show the app packages that `spin build` never gives it;
4. with a requirements.txt: a new ``.venv`` made with a Python that the pinned
   spin-sdk runs on;
5. else spin-py's own interpreter.

A virtual environment from 2-4 gets requirements.txt installed whenever it
differs from the copy kept at the last good install (``.requirements-installed``
in the environment, as ./dev keeps it), at startup and when the file changes
while serving; ``--no-install`` turns all of that off. Until an install or a
spin-sdk/Python mismatch is fixed, starting a worker fails with that one line,
so requests answer 500 with it.
"""

import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

from spin_py.host.pythons import Interpreter, probe, pyenv_root, python_at_least
from spin_py.host.requirements import OLDEST_PYTHON, InstallFailed, pip_install, python_for_sdk, sdk_need
from spin_py.host.worker import LoadFailed

STAMP = ".requirements-installed"  # a copy of the requirements.txt last installed
MADE_HERE = ".made-by-spin-py"  # spin-py made this .venv, so it may make it again with another Python


def shown(path) -> str:
    """A path as the developer reads it: relative to the current folder when inside it."""
    path = Path(path)
    try:
        return str(path.absolute().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _venv_python(folder) -> Path | None:
    python = Path(folder) / "bin" / "python"
    return python if os.access(python, os.X_OK) else None


def _own_environment(folder) -> bool:
    try:
        return Path(folder).resolve() == Path(sys.prefix).resolve()
    except OSError:
        return False


class AppPython:
    def __init__(self, config, app_dir, say=None):
        """Chooses the interpreter (cheap: nothing runs); ``prepare()`` makes it ready."""
        self.app_dir = Path(app_dir)
        self.requirements = self.app_dir / "requirements.txt"
        self.install = config.install
        self.say = say or (lambda line: print(line, file=sys.stderr, flush=True))
        self.problem = None  # one line while the environment cannot run the app: workers do not start
        self.blocking = True  # whether a failure stops workers (at startup) or leaves the last good state (later)
        self.interpreter: Interpreter | None = None  # probed by prepare()
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self.origin, self.path, self.managed = self._choose(config.python)
        self.note = None  # said after the version on the startup line
        self.own = self.path == Path(sys.executable) and not config.python

    def _choose(self, python) -> tuple[str, Path | None, bool]:
        """(where it came from, interpreter path or None for a .venv still to make, whether spin-py installs into it)."""
        if python:
            return "the --python interpreter", Path(python), False
        for folder in (".venv", "venv"):
            found = _venv_python(self.app_dir / folder)
            if found:
                return "the app's Python", found, self.install
        active = os.environ.get("VIRTUAL_ENV")
        if active and not _own_environment(active) and _venv_python(active):
            return "the activated virtual environment's Python ($VIRTUAL_ENV)", _venv_python(active), self.install
        if self.install and self.requirements.is_file():
            return "the app's Python", None, True
        return "spin-py's own Python", Path(sys.executable), False

    def executable(self) -> Path:
        """The interpreter for a worker; LoadFailed with one line while the environment cannot run the app."""
        if not self._ready.is_set():
            self.prepare()
        if self.problem:
            raise LoadFailed(self.problem)
        return self._probed.path

    @property
    def _probed(self) -> Interpreter:
        """The interpreter, once prepare() found it (every caller runs after that)."""
        if self.interpreter is None:
            raise RuntimeError("the app's interpreter is used before it was probed")
        return self.interpreter

    def prepare(self) -> None:
        """Make the environment ready, once, at startup: make, check, install, and say where it came from."""
        with self._lock:
            if self._ready.is_set():
                return
            try:
                self._settle(startup=True)
            finally:
                self._ready.set()

    def requirements_changed(self) -> bool:
        """requirements.txt changed while serving: install it. True when workers should restart
        (something was installed, the interpreter changed, or the app could not run before)."""
        if not self.install:
            return False
        with self._lock:
            return self._settle(startup=False)

    def _settle(self, startup) -> bool:
        blocked, before = self.problem, self.interpreter
        text = self._requirements_text()
        need = sdk_need(text) if text is not None else None
        # A failure while serving leaves the environment as it was: the workers go on with it.
        self.blocking = startup or blocked is not None
        if self.own and text is not None and self.install:
            # requirements.txt appeared while serving: the app now gets a .venv of its own.
            if not self._make_venv(need):
                return False
            self.own, self.managed = False, True
            self.say(self._using_line())
        elif self.interpreter is None:
            if not self._resolve(need):
                return False
            self.say(self._using_line())
        elif need and self.interpreter.version[:2] < need.python and self._made_here():
            if not self._make_venv(need, again=True):
                return False
            self.say(self._using_line())
        installed = False
        if text is not None and self.managed:
            if need and self._probed.version[:2] < need.python:
                return self._fail(need.refusal(self._probed, shown(self.path)))
            if self._stamp() != text:
                if not self._install(text):
                    return False
                installed = True
        sdk_problem = self._installed_sdk_problem()
        if sdk_problem:
            return self._fail(sdk_problem)
        self.problem = None
        return installed or self.interpreter != before or blocked is not None

    def _resolve(self, need) -> bool:
        if self.path is None:
            return self._make_venv(need)
        self.interpreter = probe(self.path)
        if self.interpreter is None:
            return self._fail(f"{self.origin} at {shown(self.path)} does not run")
        return True

    def _make_venv(self, need, again=False) -> bool:
        """A new .venv with a Python the pinned spin-sdk runs on (spin-py's own when it fits)."""
        minimum = need.python if need else OLDEST_PYTHON
        base = python_at_least(minimum, preferred=sys.executable)
        if base is None:
            wanted = f"{need.sdk} needs Python {need.python_text} or newer" if need else f"Python {minimum[0]}.{minimum[1]} is needed"
            return self._fail(f"{wanted}, and none was found (looked in {pyenv_root()}/versions and on PATH)")
        target = self.app_dir / ".venv"
        if again:
            self.say(f"Making {shown(target)} again with Python {base.version_text}: {need.sdk} needs {need.python_text} or newer")
            self.blocking = True  # from here on the old environment is gone: a failure stops workers
            shutil.rmtree(target, ignore_errors=True)
        result = subprocess.run([str(base.path), "-m", "venv", str(target)], capture_output=True, text=True)
        made = _venv_python(target)
        made_interpreter = probe(made) if result.returncode == 0 and made else None
        if made_interpreter is None:
            last = (result.stderr.strip().splitlines() or [f"exit status {result.returncode}"])[-1]
            return self._fail(f"cannot make {shown(target)} with {base.path}: {last}")
        (target / MADE_HERE).write_text(f"{base.path}\n")
        self.path, self.interpreter = made, made_interpreter
        self.origin, self.note = "the app's Python", f"a new virtual environment from {base.path}"
        return True

    def _made_here(self) -> bool:
        return (self._probed.prefix / MADE_HERE).is_file()

    def _install(self, text) -> bool:
        where = shown(self._probed.prefix)
        self.say(f"Installing {self.requirements.name} into {where}")
        try:
            seconds = pip_install(self.path, self.requirements, lambda line: self.say(f"[pip] {line}"), self.app_dir)
        except InstallFailed as error:
            return self._fail(str(error))
        (self._probed.prefix / STAMP).write_text(text)
        self.interpreter = probe(self.path) or self.interpreter  # it has a spin-sdk now
        self.say(f"Installed {self.requirements.name} into {where} in {seconds:.1f} s")
        return True

    def _installed_sdk_problem(self) -> str | None:
        """The spin-sdk already in the environment, held against its interpreter (whatever put it there)."""
        sdk = self._probed.sdk
        try:
            needed = python_for_sdk(sdk) if sdk else None
        except ValueError:
            needed = None
        if needed is None or self._probed.version[:2] >= needed:
            return None
        return (f"spin-sdk {sdk} needs Python {needed[0]}.{needed[1]} or newer; "
                f"the app runs on Python {self._probed.version_text} ({shown(self.path)})")  # fmt: skip

    def _fail(self, line) -> bool:
        """Say ``line``; at startup (or while the app could not run anyway) workers fail with it too."""
        if self.blocking:
            self.problem = line
        self.say(line)
        return False

    def _requirements_text(self) -> str | None:
        try:
            return self.requirements.read_text()
        except (OSError, UnicodeDecodeError):
            return None

    def _stamp(self) -> str | None:
        try:
            return (self._probed.prefix / STAMP).read_text()
        except OSError:
            return None

    def _using_line(self) -> str:
        line = f"Using {self.origin}: {shown(self.path)} ({self._probed.version_text})"
        if self.note:
            line += f", {self.note}"
        if not self.install and self.requirements.is_file():
            line += f"; --no-install: {self.requirements.name} is not installed"
        return line
