"""TOML parsing that remembers on which line each table and key starts.

tomlkit keeps the document's text but not positions, so a parser subclass records
them: for every table header and every ``key = value`` line (outside inline tables
and arrays) it maps the key's path -- with array-of-tables indices, e.g.
``("trigger", "http", 1, "route")`` -- to its 1-based line.  Keys inside inline
tables are not recorded; errors there point at the line of the enclosing key.
"""

import bisect
import re
from dataclasses import dataclass, field
from typing import Any

import tomlkit
from tomlkit.exceptions import ParseError, TOMLKitError
from tomlkit.parser import Parser


@dataclass
class Document:
    data: dict
    lines: dict = field(default_factory=dict)  # path tuple -> line

    def line_of(self, path) -> int | None:
        """The line of ``path``, or of its nearest ancestor the parser placed."""
        path = tuple(path)
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return None


class TomlSyntaxError(Exception):
    def __init__(self, message, line=None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


class _RecordingParser(Parser):
    def __init__(self, text) -> None:
        super().__init__(text)
        self._newlines = [match.start() for match in re.finditer("\n", text)]
        self.lines: dict[tuple, int] = {}
        self._table = ()  # the resolved path key/value lines belong to
        self._aot_current: dict[tuple, int] = {}  # resolved array-of-tables path -> index of its latest element
        self._inline_depth = 0

    def _line_here(self) -> int:
        return bisect.bisect_left(self._newlines, self._idx) + 1

    def line_before(self) -> int:
        return bisect.bisect_left(self._newlines, max(self._idx - 1, 0)) + 1

    def _resolve(self, names) -> tuple:
        # A header naming an array of tables, or something under one, means its latest element.
        path = []
        for name in names:
            path.append(name)
            index = self._aot_current.get(tuple(path))
            if index is not None:
                path.append(index)
        return tuple(path)

    def _record(self, path, line) -> None:
        for depth in range(1, len(path)):
            self.lines.setdefault(path[:depth], line)
        self.lines.setdefault(path, line)

    def _parse_table(self, *args, **kwargs) -> Any:
        line = self._line_here()
        is_aot, key = self._peek_table()
        names = [part.key for part in key]
        if is_aot:
            array = self._resolve(names[:-1]) + (names[-1],)
            index = self._aot_current.get(array, -1) + 1
            self._aot_current[array] = index
            path = array + (index,)
        else:
            path = self._resolve(names)
        self._record(path, line)
        self._table = path
        return super()._parse_table(*args, **kwargs)

    def _parse_key_value(self, *args, **kwargs) -> Any:
        if self._inline_depth:
            return super()._parse_key_value(*args, **kwargs)
        # Leading indent is spaces and tabs only, so this is the key's line.
        line = self._line_here()
        key, value = super()._parse_key_value(*args, **kwargs)
        self._record(self._table + tuple(part.key for part in key), line)
        return key, value

    def _parse_inline_table(self, *args, **kwargs) -> Any:
        self._inline_depth += 1
        try:
            return super()._parse_inline_table(*args, **kwargs)
        finally:
            self._inline_depth -= 1


_POSITION_SUFFIX = re.compile(r"\s+at line \d+ col \d+$")


def parse_toml(text) -> Document:
    """Parse TOML text into a Document of plain Python data; raises TomlSyntaxError."""
    try:
        parser = _RecordingParser(text)
    except TOMLKitError as error:  # e.g. text that is not valid Unicode
        raise TomlSyntaxError(str(error)) from None
    try:
        document = parser.parse()
    except (AttributeError, TypeError):  # pragma: no cover - a tomlkit whose internals moved
        return Document(_parse_without_lines(text))
    except ParseError as error:
        raise TomlSyntaxError(_POSITION_SUFFIX.sub("", str(error)), error.line) from None
    except TOMLKitError as error:
        # Raised without a position (e.g. a key repeated inside a table) just after the
        # offending line was consumed.
        raise TomlSyntaxError(str(error), parser.line_before()) from None
    return Document(document.unwrap(), parser.lines)


def _parse_without_lines(text) -> dict:
    try:
        return tomlkit.parse(text).unwrap()
    except ParseError as error:
        raise TomlSyntaxError(_POSITION_SUFFIX.sub("", str(error)), error.line) from None
    except TOMLKitError as error:
        raise TomlSyntaxError(str(error)) from None
