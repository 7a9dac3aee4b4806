"""Spin's variable names and templates (crates/expressions/src/lib.rs and template.rs),
with Spin's error texts."""

from collections.abc import Callable
from dataclasses import dataclass

from spin_py.capabilities.variables.errors import INVALID_NAME, VariablesError
from spin_py.wire.rust_text import rust_debug, rust_debug_char

_LOWER = frozenset("abcdefghijklmnopqrstuvwxyz")
_NAME_CHARS = _LOWER | frozenset("0123456789_")


def name_problem(key: str) -> str | None:
    """Spin's Key::validate reason, or None for a valid variable name."""
    if not key:
        return "must not be empty"
    invalid = next((char for char in key if char not in _NAME_CHARS), None)
    if invalid is not None:
        return (
            f"invalid character {rust_debug_char(invalid)}. "
            "Variable names may contain only lower-case letters, numbers, and underscores."
        )
    if key[0] not in _LOWER:
        return "must start with a lowercase ASCII letter"
    if not key[-1].isalnum():
        return "must end with a lowercase ASCII letter or digit"
    if "__" in key:
        return "must not contain multiple consecutive underscores"
    return None


def check_name(key: str) -> str:
    """``key``, or VariablesError(InvalidName) with Spin's text."""
    problem = name_problem(key)
    if problem:
        raise VariablesError(INVALID_NAME, f"{rust_debug(key)}: {problem}")
    return key


@dataclass(frozen=True)
class Template:
    """Literal text and ``{{ name }}`` expressions, in order: ``parts`` holds
    ``("lit", text)`` and ``("expr", name)``."""

    parts: tuple

    @classmethod
    def parse(cls, text: str) -> "Template":
        """Spin's Template::new: ``{{`` up to the next ``}}`` is an expression (trimmed);
        a ``{{`` with no ``}}`` after it is an error."""
        parts, rest = [], text
        while rest:
            if rest.startswith("{{"):
                expression, found, rest = rest[2:].partition("}}")
                if not found:
                    raise VariablesError("InvalidTemplate", "unmatched '{{' in template")
                parts.append(("expr", expression.strip()))
            else:
                index = rest.find("{{")
                literal, rest = (rest, "") if index < 0 else (rest[:index], rest[index:])
                parts.append(("lit", literal))
        return cls(tuple(parts))

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(value for kind, value in self.parts if kind == "expr")

    def render(self, resolve: Callable[[str], str]) -> str:
        """The text with each expression replaced by ``resolve(name)``."""
        return "".join(value if kind == "lit" else resolve(value) for kind, value in self.parts)
