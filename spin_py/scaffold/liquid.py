"""Liquid as Spin's templates use it: python-liquid's standard tags and filters plus
Spin's own filters, set up to behave as Spin's renderer (liquid-rust) does where a
template can tell.

Spin's crates/templates/src/renderer.rs, ``TemplateContent::infer_from_bytes``: text
that does not parse is copied as it is ("Ok(TemplateContent::Binary(raw))"), except for
an unknown filter, which is an error ("internal error in template: unknown filter
'{id}'"). A variable that is not set is an error when output, and false in a condition.
"""

from collections.abc import Callable, Mapping

import liquid
import liquid.exceptions

from spin_py.scaffold import cases


class LiquidError(Exception):
    """A template that Spin would refuse to render."""


class NotLiquid(LiquidError):
    """Text that does not parse as Liquid: Spin copies it as it is."""


def _spin_filter(function: Callable[[str], str]) -> Callable[[object], str]:
    """One of Spin's filters: its input must be a scalar, used as text (filters.rs:
    ``input.as_scalar().ok_or_else(|| Error::with_msg("String expected"))``)."""

    def apply(value: object, *arguments: object) -> str:
        if arguments:
            raise liquid.exceptions.FilterArgumentError(f"{function.__name__} takes no arguments", token=None)
        if isinstance(value, bool):
            return function("true" if value else "false")
        if not isinstance(value, (str, int, float)):
            raise liquid.exceptions.FilterValueError("String expected", token=None)
        return function(str(value))

    apply.__name__ = function.__name__
    return apply


# crates/templates/src/run.rs, Run::template_parser: `ParserBuilder::with_stdlib()` and these five.
SPIN_FILTERS: dict[str, Callable[[str], str]] = {
    "kebab_case": cases.kebab_case,
    "pascal_case": cases.pascal_case,
    "dotted_pascal_case": cases.dotted_pascal_case,
    "snake_case": cases.snake_case,
    "http_wildcard": cases.http_wildcard,
}

_ENVIRONMENT = liquid.Environment(undefined=liquid.FalsyStrictUndefined)
_ENVIRONMENT.filters.update({name: _spin_filter(function) for name, function in SPIN_FILTERS.items()})


def parse(source: str) -> liquid.BoundTemplate:
    """The template; NotLiquid when ``source`` does not parse, LiquidError for an unknown filter.

    liquid-rust finds an unknown filter while parsing, so a filter in a branch that is never
    taken is refused too; python-liquid only looks a filter up when it applies it.
    """
    try:
        template = _ENVIRONMENT.from_string(source)
    except liquid.exceptions.LiquidError as error:
        raise NotLiquid(_first_line(error)) from None
    for name in template.filter_names(include_partials=False):
        if name not in _ENVIRONMENT.filters:
            raise LiquidError(f"unknown filter '{name}'")
    return template


def render(source: str, values: Mapping[str, object]) -> str:
    template = parse(source)
    try:
        return template.render(values)
    except liquid.exceptions.LiquidError as error:
        raise LiquidError(_first_line(error)) from None


def _first_line(error: liquid.exceptions.LiquidError) -> str:
    """python-liquid's message with the line it is about, without the excerpt it draws below it."""
    message = str(error.message or type(error).__name__).splitlines()[0]
    token = error.token
    if token is not None and token.start_index >= 0:
        message += f" (line {token.source.count(chr(10), 0, token.start_index) + 1})"
    return message
