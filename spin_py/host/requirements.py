"""An app's requirements.txt: which Python its spin-sdk needs, and installing it with pip.

spin-sdk declares no Requires-Python, so pip installs any release on any
interpreter and the mismatch shows up only at import: spin-sdk 4.0 and later
ship componentize-py's async glue, written with Python 3.12's generic syntax
(``async def await_result[T](`` in componentize_py_async_support), a bare
SyntaxError on 3.11. 2.x and 3.x run on 3.11, the oldest Python spin-py runs.
"""

import re
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

OLDEST_PYTHON = (3, 11)  # spin-py's own floor, and spin-sdk 2.x/3.x's
SDK = "spin-sdk"


def python_for_sdk(version) -> tuple:
    """The oldest Python (major, minor) that spin-sdk ``version`` runs on."""
    return (3, 12) if Version(str(version)).major >= 4 else OLDEST_PYTHON


@dataclass(frozen=True)
class SdkNeed:
    sdk: str  # "spin-sdk 4.0.0", or the requirement as written when it is not one release
    python: tuple  # (major, minor)

    @property
    def python_text(self) -> str:
        return ".".join(map(str, self.python))

    def refusal(self, interpreter, shown_path) -> str:
        return (f"{self.sdk} needs Python {self.python_text} or newer; "
                f"the app runs on Python {interpreter.version_text} ({shown_path})")  # fmt: skip


def sdk_requirement(text) -> Requirement | None:
    """The spin-sdk line of a requirements.txt (options, includes and other packages skipped)."""
    for line in text.splitlines():
        line = re.sub(r"(^|\s)#.*", "", line).strip()
        if not line or line.startswith("-"):
            continue
        try:
            requirement = Requirement(line)
        except InvalidRequirement:
            continue  # pip names it when it installs
        if canonicalize_name(requirement.name) == SDK:
            return requirement
    return None


def sdk_need(text) -> SdkNeed | None:
    """What the spin-sdk of a requirements.txt needs, judged by the newest release its
    specifier allows (pip installs the newest). None without a spin-sdk line."""
    requirement = sdk_requirement(text)
    if requirement is None:
        return None
    specifier = requirement.specifier
    pinned = [s.version for s in specifier if s.operator in ("==", "===") and "*" not in s.version]
    # One candidate per major at its two ends, plus the versions the specifier names:
    # enough to tell which major pip can pick without asking the index.
    candidates = [f"{major}.0" for major in range(100)] + [f"{major}.99999" for major in range(100)]
    candidates += [s.version.rstrip(".*") for s in specifier]
    allowed = []
    for candidate in candidates:
        try:
            if specifier.contains(candidate, prereleases=True):
                allowed.append(Version(candidate))
        except InvalidVersion:
            continue
    if not allowed:
        return None  # nothing can satisfy it: pip will say so
    label = f"{SDK} {pinned[0]}" if len(pinned) == 1 else f"{SDK}{specifier}" if str(specifier) else SDK
    return SdkNeed(label, python_for_sdk(max(allowed)))


class InstallFailed(Exception):
    """One line: what pip could not install and its last error."""


_NAMED = (
    re.compile(r"No matching distribution found for (\S+)"),
    re.compile(r"satisfies the requirement (\S+)"),
    re.compile(r"Invalid requirement: '([^']+)'"),
    re.compile(r"Failed (?:to build|building wheel for) (\S+)"),
    re.compile(r"Cannot install (.+?) because"),
)
_COLLECTING = re.compile(r"^(?:Collecting|Building wheel for|Installing build dependencies for) (\S+)")


def failure_line(requirements_path, stdout_lines, stderr_lines) -> str:
    """pip's failure in one line: the requirement it names (else the one it was working on) and its last error."""
    errors = [line.strip() for line in stderr_lines if line.strip()]
    marked = [line for line in errors if line.startswith("ERROR:")]
    last = (marked or errors or ["pip failed without saying why"])[-1].removeprefix("ERROR:").strip()
    named = None
    for pattern in _NAMED:
        for line in errors:
            match = pattern.search(line)
            if match:
                named = match.group(1)
                break
        if named:
            break
    if named is None:
        working_on = [m.group(1) for m in map(_COLLECTING.match, stdout_lines) if m]
        named = working_on[-1] if working_on else None
    what = f"could not install {named}" if named else "pip install failed"
    return f"{requirements_path}: {what}: {last}"


def pip_install(python, requirements: Path, show, cwd) -> float:
    """``python -m pip install -r requirements``, showing pip's progress lines as they come
    (``show(line)``); returns the seconds taken, or raises InstallFailed with one line."""
    started = time.monotonic()
    command = [str(python), "-m", "pip", "install", "--disable-pip-version-check", "--no-input",
               "--progress-bar", "off", "-r", str(requirements)]  # fmt: skip
    try:
        process = subprocess.Popen(command, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True, errors="replace")  # fmt: skip
    except OSError as error:
        raise InstallFailed(f"{requirements.name}: cannot run {python} -m pip: {error.strerror or error}") from None
    # Errors are held back and summed up in one line; warnings of a good install are shown after it.
    stderr_lines: list[str] = []
    stderr, stdout = process.stderr, process.stdout
    assert stderr is not None and stdout is not None  # both are PIPE
    reader = threading.Thread(target=lambda: stderr_lines.extend(stderr), daemon=True)
    reader.start()
    stdout_lines = []
    for line in stdout:
        line = line.rstrip()
        stdout_lines.append(line)
        if line:
            show(line)
    code = process.wait()
    reader.join()
    if code != 0:
        raise InstallFailed(failure_line(requirements.name, stdout_lines, stderr_lines))
    for line in stderr_lines:
        if line.strip():
            show(line.rstrip())
    return time.monotonic() - started
