"""Where variable values come from, in Spin's order (crates/runtime-factors/src/build.rs
and crates/runtime-config/src/variables.rs):

1. ``--variable`` values (a static provider put first);
2. the runtime config's ``[[variables_provider]]`` (or ``[[config_provider]]``) entries, in
   file order: ``static`` (``values = { name = "..." }``) and ``env`` (``prefix``,
   ``dotenv_path``) work; ``vault`` and ``azure_key_vault`` are named as not provided;
3. always last, the environment provider (crates/variables-env): ``SPIN_VARIABLE_<NAME>``
   (the name upper-cased) from spin-py's environment, else the same key in a ``.env`` file
   in the folder `spin up` runs in (Spin opens the relative path ``.env``).

A provider's ``get(key)`` is the value or None; ``may_resolve(key)`` is what the
startup check of required variables asks.
"""

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from spin_py.capabilities.variables.errors import PROVIDER, VariablesError

DEFAULT_ENV_PREFIX = "SPIN_VARIABLE"
DEFAULT_DOTENV = Path(".env")
PROVIDER_TYPES = ("azure_key_vault", "static", "vault", "env")  # Spin's VariableProviderConfiguration, in its order
NOT_PROVIDED = {"vault": "HashiCorp Vault", "azure_key_vault": "Azure Key Vault"}


class ProviderConfigError(Exception):
    """A runtime-config or .env mistake: ``key`` names where, ``message`` what."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key = key
        self.message = message


class Provider(Protocol):
    """Spin's Provider trait (crates/expressions/src/provider.rs), as the resolver asks it."""

    def get(self, key: str) -> str | None: ...

    def may_resolve(self, key: str) -> bool: ...


@dataclass(frozen=True)
class StaticProvider:
    values: dict[str, str]

    def get(self, key: str) -> str | None:
        return self.values.get(key)

    def may_resolve(self, key: str) -> bool:
        return key in self.values


@dataclass(frozen=True)
class EnvProvider:
    prefix: str = DEFAULT_ENV_PREFIX
    dotenv: dict[str, str] = field(default_factory=dict)  # the .env file's entries, read when configured
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)

    def get(self, key: str) -> str | None:
        env_key = f"{self.prefix}_{key.upper()}"
        value = self.environ.get(env_key)
        if value is None:
            return self.dotenv.get(env_key)
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:  # not valid Unicode: Rust's std::env::var fails
            raise VariablesError(PROVIDER, f"failed to resolve env var {env_key}") from None
        return value

    def may_resolve(self, key: str) -> bool:
        try:
            return self.get(key) is not None
        except VariablesError:
            return False


@dataclass(frozen=True)
class NotProvidedProvider:
    """vault / azure_key_vault: spin-py resolves nothing from them (said at startup)."""

    type: str

    def get(self, key: str) -> None:
        return None

    def may_resolve(self, key: str) -> bool:
        return False


def runtime_config_providers(entries: list[dict], where: str, dotenv_root: Path) -> list[Provider]:
    """The providers of ``[[variables_provider]]`` tables (``where`` names the table for errors)."""
    providers: list[Provider] = []
    for index, entry in enumerate(entries):
        key = f"{where}[{index}]"
        kind = entry.get("type")
        if kind not in PROVIDER_TYPES:
            expected = ", ".join(f"`{name}`" for name in PROVIDER_TYPES)
            found = "missing field `type`" if kind is None else f"unknown variant `{kind}`, expected one of {expected}"
            raise ProviderConfigError(f"{key}.type", found)
        if kind == "static":
            values = entry.get("values", {})
            if not isinstance(values, dict) or not all(isinstance(value, str) for value in values.values()):
                raise ProviderConfigError(f"{key}.values", "must be a table of strings")
            providers.append(StaticProvider(dict(values)))
        elif kind == "env":
            unknown = sorted(set(entry) - {"type", "prefix", "dotenv_path"})
            if unknown:
                raise ProviderConfigError(f"{key}.{unknown[0]}", "unknown field (expected prefix, dotenv_path)")
            for name in ("prefix", "dotenv_path"):
                if name in entry and not isinstance(entry[name], str):
                    raise ProviderConfigError(f"{key}.{name}", "must be a string")
            dotenv = read_dotenv(dotenv_root / entry["dotenv_path"]) if "dotenv_path" in entry else {}
            providers.append(EnvProvider(entry.get("prefix", DEFAULT_ENV_PREFIX), dotenv))
        else:
            providers.append(NotProvidedProvider(kind))
    return providers


def read_dotenv(path: Path) -> dict[str, str]:
    """A dotenv file's entries (none when it does not exist), as dotenvy reads them:
    ``KEY=value`` lines, ``export`` allowed, ``#`` comments, '...' literal, "..." with
    backslash escapes. ProviderConfigError names the file and line of what cannot be read."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as error:
        raise ProviderConfigError(str(path), f"cannot be read: {getattr(error, 'strerror', None) or error}") from None
    values: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        entry = _dotenv_line(line)
        if entry is False or entry is True:
            raise ProviderConfigError(f"{path}:{number}", f"not a KEY=value line: {line!r}")
        if entry is not None:
            values.setdefault(*entry)  # dotenvy: the first value of a key wins
    return values


def _dotenv_line(line: str) -> tuple[str, str] | bool | None:
    """(key, value), None for a blank or comment line, False when it cannot be parsed."""
    rest = line.lstrip()
    if not rest or rest.startswith("#"):
        return None
    if rest.startswith("export ") or rest.startswith("export\t"):
        rest = rest[7:].lstrip()
    key_end = 0
    while key_end < len(rest) and (rest[key_end].isascii() and (rest[key_end].isalnum() or rest[key_end] in "_.")):
        key_end += 1
    key, rest = rest[:key_end], rest[key_end:].lstrip()
    if not key or not (key[0].isalpha() or key[0] == "_") or not rest.startswith("="):
        return False
    value = _dotenv_value(rest[1:].lstrip())
    return False if value is None else (key, value)


_ESCAPED = {"\\": "\\", "'": "'", '"': '"', "$": "$", " ": " ", "n": "\n"}


def _dotenv_value(text: str) -> str | None:
    out, quote, escaped, ended = [], None, False, False
    for char in text:
        if ended:
            if char in " \t":
                continue
            if char == "#":
                break
            return None
        if escaped:
            if char not in _ESCAPED:
                return None
            out.append(_ESCAPED[char])
            escaped = False
        elif quote == "'":
            if char == "'":
                quote = None
            else:
                out.append(char)
        elif quote == '"':
            if char == '"':
                quote = None
            elif char == "\\":
                escaped = True
            else:
                out.append(char)
        elif char in "'\"":
            quote = char
        elif char == "\\":
            escaped = True
        elif char in " \t":
            ended = True
        else:
            out.append(char)
    if quote or escaped:
        return None
    return "".join(out)
