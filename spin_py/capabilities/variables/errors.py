"""The variables capability's error kinds, as Spin's host reports them to a guest
(crates/factor-variables/src/host.rs: the `variables` interface's error variants),
and the texts of crates/expressions, which quote names the way Rust's `{:?}` does."""

INVALID_NAME = "InvalidName"
UNDEFINED = "Undefined"
PROVIDER = "Provider"
OTHER = "Other"

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


class VariablesError(Exception):
    """spin_expressions::Error: ``kind`` is its variant, ``str()`` its Display text."""

    PREFIXES = {
        INVALID_NAME: "invalid variable name: ",
        "InvalidTemplate": "invalid variable template: ",
        PROVIDER: "provider error: ",
        UNDEFINED: "undefined variable: ",
    }

    def __init__(self, kind: str, detail: str):
        super().__init__(self.PREFIXES[kind] + detail)
        self.kind = kind
        self.detail = detail  # the variant's payload: what a guest's error variant carries
