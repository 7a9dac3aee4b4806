"""What `spin-py new` tells the user to run next: steps that work as printed.

`spin-py up` makes the app's .venv and installs its requirements.txt the first time
(spin_py/host/app_python.py), so the steps are `cd` and `up`; for an app pinning a
spin-sdk that needs a newer Python than spin-py's own, the step says which. For an app
without a requirements.txt beside its spin.toml there is nothing to install, and the
step says so instead.
"""

import re
import shlex
from pathlib import Path

# spin-sdk 4.x and 5.x need Python 3.12 or newer (they do not say so in Requires-Python).
SDK_MAJOR_PYTHON = {4: "3.12", 5: "3.12"}
UP = "spin-py up   # the first `up` installs requirements.txt into .venv"
NO_REQUIREMENTS_UP = "spin-py up   # no requirements.txt: nothing to install"
_SDK_PIN = re.compile(r"^\s*spin[-_]sdk\s*(?:==|~=|>=)\s*(\d+)\.", re.IGNORECASE | re.MULTILINE)


def python_needed(app_dir: Path) -> str | None:
    """The Python version the app's requirements.txt needs beyond spin-py's own, or None."""
    try:
        text = (Path(app_dir) / "requirements.txt").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    pin = _SDK_PIN.search(text)
    return SDK_MAJOR_PYTHON.get(int(pin.group(1))) if pin else None


def next_steps(app_dir: Path) -> list[str]:
    """The commands to run, each with a comment saying why."""
    if not (Path(app_dir) / "requirements.txt").is_file():
        return [f"cd {shlex.quote(str(app_dir))}", NO_REQUIREMENTS_UP]
    up = UP
    python = python_needed(app_dir)
    if python:
        up += f", made with Python {python} or newer (its spin-sdk needs it)"
    return [f"cd {shlex.quote(str(app_dir))}", up]
