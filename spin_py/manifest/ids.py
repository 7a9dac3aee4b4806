"""Spin's identifier rules (spin_serde::id): kebab-case component ids, snake_case names.

Each checker returns None for a valid id, else Spin's reason.
"""

_LETTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_DIGITS = frozenset("0123456789")
_WRONG_DELIMITER = {"-": "_", "_": "-"}


def id_problem(text, delimiter, lower) -> str | None:
    if not text:
        return "empty"
    wrong = _WRONG_DELIMITER.get(delimiter)
    if wrong and wrong in text:
        return f"words must be separated with {delimiter!r}, not {wrong!r}"
    for word in text.split(delimiter):
        if not word:
            return f"{delimiter!r}-separated words must not be empty"
        first = word[0]
        if first not in _LETTERS:
            return f"{delimiter!r}-separated words must start with an ASCII letter; got {first!r}"
        # Each word is all lowercase or all UPPERCASE, judged by its first letter.
        upper = first.isupper()
        for char in word[1:]:
            if char in _DIGITS:
                continue
            if char not in _LETTERS:
                return f"{delimiter!r}-separated words may only contain alphanumeric ASCII; got {char!r}"
            if char.isupper() != upper:
                return f'{delimiter!r}-separated words must be all lowercase or all UPPERCASE; got "{word}"'
        if lower and upper:
            return f'Lower-case identifiers must be all lowercase; got "{text}"'
    return None


def kebab_problem(text) -> str | None:
    """Component ids (KebabId): note Spin also accepts all-UPPERCASE words."""
    return id_problem(text, "-", False)


def snake_problem(text) -> str | None:
    return id_problem(text, "_", False)


def lower_snake_problem(text) -> str | None:
    """Variable names (LowerSnakeId)."""
    return id_problem(text, "_", True)


def label_problem(text) -> str | None:
    """Key-value store and SQLite database labels: kebab-case or snake_case."""
    if kebab_problem(text) is None or snake_problem(text) is None:
        return None
    return "expected kebab-case or snake_case"


def v1_component_id(text) -> tuple:
    """A version 1 component id made kebab-case the way Spin's compat layer does.

    Returns (id, problem): valid ids are kept; others get ``_`` -> ``-`` and lowercasing.
    """
    if kebab_problem(text) is None:
        return text, None
    fixed = text.replace("_", "-").lower()
    return fixed, kebab_problem(fixed)
