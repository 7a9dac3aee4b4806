"""Text as Rust's `{:?}` (Debug) writes it: Spin's messages and the old SDK's
errors quote names and texts that way, so spin-py's must too.

Standard library only (see the package's docstring): the guest's shims quote as the old SDK did,
the host's capabilities as Spin does.
"""

_ESCAPES = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\0": "\\0"}


def _escape(char: str, quote: str) -> str:
    if char == quote:
        return "\\" + char
    if char in _ESCAPES:
        return _ESCAPES[char]
    if not char.isprintable() and char != " ":
        return f"\\u{{{ord(char):x}}}"
    return char


def rust_debug(text: str) -> str:
    """A string as Rust's `{:?}` writes it: ``"a\\"b"``."""
    return '"' + "".join(_escape(char, '"') for char in text) + '"'


def rust_debug_char(char: str) -> str:
    """A char as Rust's `{:?}` writes it: ``'B'``, ``'\\''``."""
    return "'" + _escape(char, "'") + "'"
