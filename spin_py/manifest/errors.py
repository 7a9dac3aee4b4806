"""The one exception a manifest problem becomes."""

import json
import re

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def format_key(path) -> str:
    """``("component", "a b", "files", 0)`` -> ``component."a b".files[0]``: how TOML would spell it."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            name = part if _BARE_KEY.fullmatch(part) else json.dumps(part)
            text += f".{name}" if text else name
    return text


class ManifestError(Exception):
    """A manifest that Spin would refuse, told in one line: ``file:line: key: what is wrong``.

    ``line`` is None where the TOML parser gives no position (e.g. the file cannot be read);
    ``key`` is "" when the problem is with the file as a whole.
    """

    def __init__(self, file, message, key="", line=None) -> None:
        self.file = str(file)
        self.message = message
        self.key = key
        self.line = line
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.key}: {self.message}" if self.key else f"{where}: {self.message}"

    def __reduce__(self) -> tuple:
        # Exceptions pickle their args; ours has keyword state too (workers report across processes).
        return (ManifestError, (self.file, self.message, self.key, self.line))
