"""Real virtual environments for test apps, built once and kept under .cache/venvs.

A test app's venv holds what a Spin app's requirements.txt would (spin-sdk from
PyPI), in the Python version that SDK needs. They are rebuilt when the
requirements change, and guarded by a file lock so parallel test processes
share one build.
"""

import fcntl
import shutil
import subprocess
from pathlib import Path

from spin_py.host.pythons import find_python as _find_python
from spin_py.host.pythons import pyenv_root

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache" / "venvs"


def find_python(version):
    """The interpreter for ``version`` ("3.11", "3.12", ...), found as `spin-py up` finds one: pyenv's install, else PATH."""
    found = _find_python(version)
    if found is None:
        raise RuntimeError(f"Python {version} is not installed (looked in {pyenv_root()}/versions and PATH)")
    return str(found)


def venv_python(name, version, requirements):
    """Path to the python of a venv named ``name`` with ``requirements`` installed."""
    target = CACHE / name
    stamp = target / "spin-py-requirements.txt"
    wanted = f"python{version}\n" + "\n".join(requirements) + "\n"
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (stamp.exists() and stamp.read_text() == wanted):
            shutil.rmtree(target, ignore_errors=True)
            subprocess.run([find_python(version), "-m", "venv", str(target)], check=True)
            if requirements:
                subprocess.run(
                    [str(target / "bin" / "python"), "-m", "pip", "install", "--quiet", *requirements],
                    check=True,
                )
            stamp.write_text(wanted)
    return target / "bin" / "python"
