"""Typed reading of parsed TOML data: each accessor checks a value's shape and,
when it is wrong, raises a ManifestError naming the file, key and line."""

import datetime
import json

from spin_py.manifest.errors import ManifestError, format_key


def describe(value) -> str:
    """How an error message names what was found instead."""
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, int):
        return f"an integer ({value})"
    if isinstance(value, float):
        return f"a float ({value})"
    if isinstance(value, str):
        return f"a string ({json.dumps(value)})"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, (datetime.date, datetime.time)):
        return "a date/time"
    return type(value).__name__


def toml_literal(value) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, (int, float)):
        return str(value)
    return describe(value)


class Reader:
    """Error reporting for one manifest: knows the file's display name and key lines."""

    def __init__(self, file, document) -> None:
        self.file = file
        self.document = document

    def error(self, path, message) -> ManifestError:
        return ManifestError(self.file, message, format_key(path), self.document.line_of(path))

    def expected(self, path, what, value) -> ManifestError:
        return self.error(path, f"expected {what}, found {describe(value)}")

    # -- shapes -----------------------------------------------------------------

    def table(self, value, path, what="a table") -> dict:
        if not isinstance(value, dict):
            raise self.expected(path, what, value)
        return value

    def string(self, value, path) -> str:
        if not isinstance(value, str):
            raise self.expected(path, "a string", value)
        return value

    def boolean(self, value, path) -> bool:
        if not isinstance(value, bool):
            raise self.expected(path, "a boolean (true or false)", value)
        return value

    def string_list(self, value, path) -> tuple[str, ...]:
        if not isinstance(value, list):
            raise self.expected(path, "a list of strings", value)
        for index, item in enumerate(value):
            if not isinstance(item, str):
                raise self.expected(path + (index,), "a string", item)
        return tuple(value)

    def string_map(self, value, path) -> dict[str, str]:
        """A table of string values, e.g. ``environment``."""
        self.table(value, path, "a table of strings")
        for key, item in value.items():
            if not isinstance(item, str):
                raise self.expected(path + (key,), "a string", item)
        return dict(value)

    def table_list(self, value, path, what) -> list:
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            raise self.expected(path, what, value)
        return value

    def keys(self, table, path, allowed, required=()) -> None:
        """Spin's ``deny_unknown_fields``: every key must be known, required ones present."""
        for key in table:
            if key not in allowed:
                raise self.error(path + (key,), f"unknown key (expected one of: {', '.join(allowed)})")
        for key in required:
            if key not in table:
                raise self.error(path + (key,), "required key is missing")

    # -- optional fields of a table -------------------------------------------

    def opt_string(self, table, key, path, default="") -> str | None:
        return self.string(table[key], path + (key,)) if key in table else default

    def opt_bool(self, table, key, path, default=False) -> bool:
        return self.boolean(table[key], path + (key,)) if key in table else default

    def opt_string_list(self, table, key, path) -> tuple[str, ...]:
        return self.string_list(table[key], path + (key,)) if key in table else ()

    def opt_string_map(self, table, key, path) -> dict[str, str]:
        return self.string_map(table[key], path + (key,)) if key in table else {}

    def opt_table(self, table, key, path, what="a table") -> dict:
        return self.table(table[key], path + (key,), what) if key in table else {}
