"""The case filters of Spin's templates, with the word splitting of Rust's `heck`
crate (which Spin uses), so a name renders to the same id under both tools.

Words are separated by any non-alphanumeric character, by a lowercase letter
followed by an uppercase one (``myApp``), and before the last capital of an
uppercase run followed by a lowercase letter (``HTTPServer`` -> ``HTTP Server``).
"""

from collections.abc import Iterator


def words(text) -> list[str]:
    found = []
    for chunk in _split_non_alphanumeric(text):
        found.extend(_split_camel(chunk))
    return found


def _split_non_alphanumeric(text) -> Iterator[str]:
    chunk = []
    for char in text:
        if char.isalnum():
            chunk.append(char)
        else:
            if chunk:
                yield "".join(chunk)
            chunk = []
    if chunk:
        yield "".join(chunk)


def _split_camel(word) -> list[str]:
    result, start, mode = [], 0, None  # mode: the case of the last cased letter in this word
    for i, char in enumerate(word[:-1]):
        following = word[i + 1]
        next_mode = "lower" if char.islower() else "upper" if char.isupper() else mode
        if next_mode == "lower" and following.isupper():
            result.append(word[start : i + 1])
            start, mode = i + 1, None
        elif mode == "upper" and char.isupper() and following.islower():
            result.append(word[start:i])
            start, mode = i, None
        else:
            mode = next_mode
    result.append(word[start:])
    return [part for part in result if part]


def _capitalize(word) -> str:
    return word[:1].upper() + word[1:].lower()


def kebab_case(text) -> str:
    return "-".join(word.lower() for word in words(text))


def snake_case(text) -> str:
    return "_".join(word.lower() for word in words(text))


def pascal_case(text) -> str:
    return "".join(_capitalize(word) for word in words(text))


def dotted_pascal_case(text) -> str:
    return ".".join(pascal_case(part) for part in text.split("."))


def http_wildcard(route) -> str:
    """A route made into a wildcard route: ``/api`` -> ``/api/...``."""
    if route.endswith("/..."):
        return route
    if route.endswith("/"):
        return route + "..."
    return route + "/..."
