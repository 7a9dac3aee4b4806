"""The ``authors`` and ``username`` template variables, found as Spin finds them
(crates/templates/src/environment.rs, after cargo): git's author settings, then
the login name."""

import os
import subprocess


def _env(*names) -> str | None:
    return next((os.environ[name] for name in names if name in os.environ), None)


def _git_config() -> dict[str, str]:
    try:
        result = subprocess.run(["git", "config", "--list"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return {}
    if result.returncode != 0:
        return {}
    return dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)


def authors() -> tuple[str, str]:
    """(authors, username): ``"Name <email>"`` (or just the name), and the name."""
    config = _git_config()
    name = _env("GIT_AUTHOR_NAME", "GIT_COMMITTER_NAME") or config.get("user.name") or _env("USER", "USERNAME", "NAME")
    if name is None:
        return "", ""  # Spin also renders empty values when it cannot tell
    name = name.strip()
    email = _env("GIT_AUTHOR_EMAIL", "GIT_COMMITTER_EMAIL") or config.get("user.email") or _env("EMAIL")
    if email is None:
        return name, name
    email = email.strip()
    if email.startswith("<") and email.endswith(">"):
        email = email[1:-1]
    return f"{name} <{email}>", name
