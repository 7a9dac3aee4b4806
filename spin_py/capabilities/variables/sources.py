"""``spin-py up --variable``, read as Spin reads it (crates/variables-static/src/source.rs):
``KEY=VALUE``, ``KEY=@FILE`` (the file's text), ``@FILE.json`` or ``@FILE.toml`` (a
table of string values). Files are read once, at startup, relative to where `spin-py up`
runs; a later option sets a key again (crates/runtime-factors/src/lib.rs get_variables)."""

import json
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from spin_py.capabilities.seam import FlagError
from spin_py.cli_values import split_key_value


class VariableSourceError(ValueError):
    """Spin's text for a --variable that cannot be read."""


def parse_variables(values: tuple[str, ...]) -> dict[str, str]:
    """`--variable`'s setting: every value's variables, files read now, a later one winning."""
    variables: dict[str, str] = {}
    for item in values:
        try:
            variables.update(parse_variable(item))
        except VariableSourceError as error:
            raise FlagError(f"'{item}': {error}") from None
    return variables


def parse_variable(text: str, split: Callable[[str], tuple[str, str] | None] = split_key_value) -> dict[str, str]:
    """The values one ``--variable`` gives. ``split(text)`` is the command line's one
    KEY=VALUE splitter (None when there is no ``=``)."""
    if text.startswith("@"):
        path = Path(text[1:])
        if path.suffix == ".json":
            return _table(path, "JSON", lambda data: json.loads(data))
        if path.suffix == ".toml":
            return _table(path, "TOML", lambda data: tomllib.loads(data.decode("utf-8")))
        raise VariableSourceError("variable files must end in .json or .toml")
    pair = split(text)
    if pair is None:
        raise VariableSourceError("variables must be in the form 'key=value' or '@file'")
    key, value = pair
    if value.startswith("@"):
        return {key: _read(Path(value[1:])).decode("utf-8", "replace")}
    return {key: value}


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise VariableSourceError(f"Failed to read {_quoted(path)}: {error.strerror or error}") from None


def _table(path: Path, kind: str, parse: Callable[[bytes], Any]) -> dict[str, str]:
    data = _read(path)
    try:
        values = parse(data)
    except (ValueError, UnicodeDecodeError) as error:
        raise VariableSourceError(f"Failed to parse {kind} from {_quoted(path)}: {error}") from None
    if not isinstance(values, dict) or not all(isinstance(value, str) for value in values.values()):
        raise VariableSourceError(f"Failed to parse {kind} from {_quoted(path)}: expected a table of strings")
    return values


def _quoted(path: Path) -> str:
    return f'"{path}"'  # spin_common::ui::quoted_path
