"""Finding Python interpreters on this machine and asking one what it is.

One way for spin-py and its tests: pyenv's installs first (its shims on PATH
only run under a matching PYENV_VERSION), then PATH. An interpreter is only
trusted after it has answered a probe: a shim or a broken install that cannot
run is skipped, not chosen.
"""

import glob
import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

# What the probe asks, run with -I as workers are: the version, whether it is a
# virtual environment, and the spin-sdk release it would import.
_PROBE = """
import json, sys
try:
    from importlib.metadata import version
    sdk = version("spin-sdk")
except Exception:
    sdk = None
print(json.dumps({"version": list(sys.version_info[:3]), "prefix": sys.prefix, "base_prefix": sys.base_prefix, "sdk": sdk}))
"""


@dataclass(frozen=True)
class Interpreter:
    path: Path  # as found, not resolved: a venv's bin/python is a symlink to its base
    version: tuple  # (3, 12, 1)
    prefix: Path  # sys.prefix: the environment its packages come from
    is_venv: bool
    sdk: str | None  # the installed spin-sdk version, if any

    @property
    def version_text(self) -> str:
        return ".".join(map(str, self.version))


def pyenv_root() -> Path:
    return Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")


def _version_key(path) -> tuple[int, ...]:
    folder = Path(path).parents[1].name  # <root>/versions/3.12.1/bin/python3.12
    return tuple(int(part) if part.isdigit() else -1 for part in re.split(r"[.]", folder))


def find_python(version: str) -> Path | None:
    """The interpreter for ``version`` ("3.11", "3.12", ...): pyenv's newest install of it, else PATH."""
    installs = glob.glob(str(pyenv_root() / "versions" / f"{version}.*" / "bin" / f"python{version}"))
    if installs:
        return Path(max(installs, key=_version_key))
    found = shutil.which(f"python{version}")
    return Path(found) if found else None


def probe(path) -> Interpreter | None:
    """What the interpreter at ``path`` is, or None when it does not run (asked afresh each
    time: an install changes its answer)."""
    path = Path(path)
    try:
        result = subprocess.run([str(path), "-I", "-c", _PROBE], capture_output=True, text=True, timeout=30)
        facts = json.loads(result.stdout)
    except (OSError, subprocess.TimeoutExpired, ValueError):
        return None
    return Interpreter(
        path=path,
        version=tuple(facts["version"]),
        prefix=Path(facts["prefix"]),
        is_venv=facts["prefix"] != facts["base_prefix"],
        sdk=facts["sdk"],
    )


def python_at_least(minimum: tuple, preferred=None) -> Interpreter | None:
    """An interpreter of version ``minimum`` (major, minor) or newer: ``preferred`` when it is
    one, else the oldest suitable minor found (the closest to what the app was written for)."""
    if preferred is not None:
        chosen = probe(preferred)
        if chosen and chosen.version[:2] >= minimum:
            return chosen
    major, minor = minimum
    for candidate_minor in range(minor, minor + 12):
        path = find_python(f"{major}.{candidate_minor}")
        chosen = probe(path) if path else None
        if chosen and chosen.version[:2] >= minimum:
            return chosen
    return None
