"""The part of Liquid that Spin templates use: ``{{ value | filter: arg }}``,
``if``/``elsif``/``else``/``unless``, ``assign``, ``raw``, ``comment``, and
``{{-``/``-}}`` whitespace control, with Spin's case filters beside a few of
Liquid's string filters.

It behaves as Spin's renderer (liquid-rust) does where a template can tell:
an unknown variable or filter is an error, and text that is not valid Liquid
at all is not a template (Spin copies such a file unchanged).
"""

import operator
import re

from spin_py.scaffold import cases


class LiquidError(Exception):
    """A template that Spin would refuse to render."""


class NotLiquid(LiquidError):
    """Text that does not parse as Liquid: Spin copies it as it is."""


_TAG = re.compile(r"\{\{(-?)(.*?)(-?)\}\}|\{%(-?)(.*?)(-?)%\}", re.S)
_RAW_END = re.compile(r"\{%-?\s*endraw\s*-?%\}", re.S)
_COMMENT_END = re.compile(r"\{%-?\s*endcomment\s*-?%\}", re.S)
_IDENT = r"[A-Za-z_][A-Za-z0-9_-]*\??"
_TOKENS = re.compile(
    r"""\s*(?:
        (?P<string>"[^"]*"|'[^']*')
      | (?P<number>-?\d+(?:\.\d+)?)
      | (?P<op>==|!=|<>|<=|>=|<|>|\|\||\||:|,|\.|\[|\])
      | (?P<ident>""" + _IDENT + r""")
    )""",
    re.X,
)
_FILTERS = {
    "kebab_case": cases.kebab_case,
    "snake_case": cases.snake_case,
    "pascal_case": cases.pascal_case,
    "dotted_pascal_case": cases.dotted_pascal_case,
    "http_wildcard": cases.http_wildcard,
    "upcase": lambda text: text.upper(),
    "downcase": lambda text: text.lower(),
    "capitalize": lambda text: text[:1].upper() + text[1:],
    "strip": lambda text: text.strip(),
    "lstrip": lambda text: text.lstrip(),
    "rstrip": lambda text: text.rstrip(),
    "append": lambda text, suffix: text + _text(suffix),
    "prepend": lambda text, prefix: _text(prefix) + text,
    "remove": lambda text, part: text.replace(_text(part), ""),
    "replace": lambda text, old, new: text.replace(_text(old), _text(new)),
    "replace_first": lambda text, old, new: text.replace(_text(old), _text(new), 1),
    "size": len,
    "default": lambda value, fallback: fallback if value in (None, False, "", [], {}) else value,
}
_RAW_INPUT = {"size", "default"}  # filters that take the value itself, not its text


def _text(value):
    if value is None:
        return ""
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "".join(_text(item) for item in value)
    return str(value)


class Template:
    def __init__(self, nodes):
        self.nodes = nodes

    def render(self, values):
        out = []
        _render(self.nodes, dict(values), out)
        return "".join(out)


def parse(source):
    """A Template; NotLiquid when ``source`` is not Liquid, LiquidError for an unknown filter."""
    pieces = _lex(source)
    nodes, end = _parse_block(pieces, 0, ())
    if end != len(pieces):
        raise NotLiquid(f"unexpected {{% {pieces[end][1]} %}}")
    return Template(nodes)


def render(source, values):
    return parse(source).render(values)


# --- lexing: text, {{ output }}, {% tag %}, with whitespace control applied


def _lex(source):
    pieces = []  # ("text", str) | ("output", inner) | ("tag", name, rest)
    position, strip_next = 0, False
    while True:
        match = _TAG.search(source, position)
        text = source[position : match.start() if match else len(source)]
        if strip_next:
            text = text.lstrip()
        if match and (match.group(1) or match.group(4)):
            text = text.rstrip()
        _check_plain(text)
        if text:
            pieces.append(("text", text))
        if not match:
            return pieces
        position = match.end()
        if match.group(2) is not None:
            pieces.append(("output", match.group(2)))
            strip_next = bool(match.group(3))
            continue
        name, _, rest = match.group(5).strip().partition(" ")
        strip_next = bool(match.group(6))
        if name in ("raw", "comment"):
            end = (_RAW_END if name == "raw" else _COMMENT_END).search(source, position)
            if end is None:
                raise NotLiquid(f"{{% {name} %}} is never closed")
            if name == "raw":
                pieces.append(("text", source[position : end.start()]))
            position, strip_next = end.end(), end.group(0).endswith("-%}")
            continue
        pieces.append(("tag", name, rest.strip()))


def _check_plain(text):
    for opener in ("{{", "{%"):
        if opener in text:
            raise NotLiquid(f"{opener} is never closed")


# --- parsing into nodes


def _parse_block(pieces, index, until):
    nodes = []
    while index < len(pieces):
        piece = pieces[index]
        if piece[0] == "text":
            nodes.append(("text", piece[1]))
        elif piece[0] == "output":
            nodes.append(("output", _parse_output(piece[1])))
        else:
            name, rest = piece[1], piece[2]
            if name in until:
                return nodes, index
            if name in ("if", "unless"):
                node, index = _parse_if(pieces, index, name, rest)
                nodes.append(node)
            elif name == "assign":
                target, equals, expression = rest.partition("=")
                if not equals or not re.fullmatch(_IDENT, target.strip()):
                    raise NotLiquid(f"bad assign: {rest}")
                nodes.append(("assign", target.strip(), _parse_output(expression)))
            elif name in ("endif", "endunless", "else", "elsif"):
                raise NotLiquid(f"unexpected {{% {name} %}}")
            else:
                raise LiquidError(f"the Liquid tag '{name}' is not supported by spin-py")
        index += 1
    if until:
        raise NotLiquid(f"missing {{% {until[-1]} %}}")
    return nodes, index


def _parse_if(pieces, index, name, condition):
    end_name = "end" + name
    branches = []
    negate = name == "unless"
    while True:
        body, index = _parse_block(pieces, index + 1, ("elsif", "else", end_name))
        branches.append((_parse_condition(condition), negate, body))
        tag, rest = pieces[index][1], pieces[index][2]
        if tag == end_name:
            return ("if", branches, []), index
        if tag == "else":
            else_body, index = _parse_block(pieces, index + 1, (end_name,))
            return ("if", branches, else_body), index
        condition, negate = rest, False


def _tokens(text):
    tokens, position = [], 0
    text = text.rstrip()
    while position < len(text):
        match = _TOKENS.match(text, position)
        if not match or match.end() == position:
            raise NotLiquid(f"cannot read {text[position:]!r}")
        kind = match.lastgroup
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


class _Reader:
    def __init__(self, text):
        self.text = text
        self.tokens = _tokens(text)
        self.index = 0

    def peek(self):
        return self.tokens[self.index] if self.index < len(self.tokens) else (None, None)

    def take(self, kind=None, value=None):
        token = self.peek()
        if token[0] is None or (kind and token[0] != kind) or (value and token[1] != value):
            raise NotLiquid(f"cannot read {self.text.strip()!r}")
        self.index += 1
        return token

    def done(self):
        return self.index >= len(self.tokens)


def _parse_value(reader):
    kind, text = reader.take()
    if kind == "string":
        return ("literal", text[1:-1])
    if kind == "number":
        return ("literal", float(text) if "." in text else int(text))
    if kind != "ident":
        raise NotLiquid(f"cannot read {reader.text.strip()!r}")
    if text in ("true", "false"):
        return ("literal", text == "true")
    if text in ("nil", "null"):
        return ("literal", None)
    if text in ("empty", "blank"):
        return ("empty",)
    path = [text]
    while reader.peek()[1] in (".", "["):
        if reader.take()[1] == ".":
            path.append(reader.take("ident")[1])
        else:
            path.append(_parse_value(reader))
            reader.take("op", "]")
    return ("variable", path)


def _parse_output(text):
    reader = _Reader(text)
    value = _parse_value(reader)
    filters = []
    while not reader.done():
        reader.take("op", "|")
        name = reader.take("ident")[1]
        if name not in _FILTERS:
            raise LiquidError(f"unknown filter '{name}'")
        arguments = []
        if reader.peek()[1] == ":":
            reader.take()
            arguments.append(_parse_value(reader))
            while reader.peek()[1] == ",":
                reader.take()
                arguments.append(_parse_value(reader))
        filters.append((name, arguments))
    return (value, filters)


_OPERATORS = {
    "==": operator.eq, "!=": operator.ne, "<>": operator.ne,
    "<": operator.lt, ">": operator.gt, "<=": operator.le, ">=": operator.ge,
}  # fmt: skip
_COMPARISONS = {*_OPERATORS, "contains"}


def _parse_condition(text):
    reader = _Reader(text)
    if reader.done():
        raise NotLiquid("a condition is missing")
    condition = _parse_comparison(reader)
    if not reader.done():
        joiner = reader.take("ident")[1]
        if joiner not in ("and", "or"):
            raise NotLiquid(f"cannot read {text.strip()!r}")
        # Liquid groups and/or from the right: `a or b and c` is `a or (b and c)`.
        condition = (joiner, condition, _parse_condition(_remaining(reader)))
    return condition


def _remaining(reader):
    return " ".join(value for _, value in reader.tokens[reader.index :])


def _parse_comparison(reader):
    left = _parse_value(reader)
    comparison = reader.peek()[1]
    if comparison in _COMPARISONS:
        reader.take()
        return ("compare", comparison, left, _parse_value(reader))
    return ("truthy", left)


# --- rendering


def _render(nodes, values, out):
    for node in nodes:
        kind = node[0]
        if kind == "text":
            out.append(node[1])
        elif kind == "output":
            out.append(_text(_evaluate_output(node[1], values)))
        elif kind == "assign":
            values[node[1]] = _evaluate_output(node[2], values)
        else:
            _, branches, else_body = node
            for condition, negate, body in branches:
                if _holds(condition, values) != negate:
                    _render(body, values, out)
                    break
            else:
                _render(else_body, values, out)


def _evaluate_output(output, values):
    value_node, filters = output
    value = _evaluate(value_node, values, strict=True)
    for name, arguments in filters:
        function = _FILTERS[name]
        argument_values = [_evaluate(argument, values, strict=True) for argument in arguments]
        subject = value if name in _RAW_INPUT else _text(value)
        try:
            value = function(subject, *argument_values)
        except TypeError:
            raise LiquidError(f"filter '{name}' was given the wrong number of arguments") from None
    return value


def _evaluate(node, values, strict):
    if node[0] == "literal":
        return node[1]
    if node[0] == "empty":
        return ""
    current = values
    for step in node[1]:
        key = _evaluate(step, values, strict) if isinstance(step, tuple) else step
        try:
            current = current[key]
        except (KeyError, IndexError, TypeError):
            if strict:
                raise LiquidError(f"unknown variable '{'.'.join(str(s) for s in node[1] if isinstance(s, str))}'") from None
            return None
    return current


def _holds(condition, values):
    kind = condition[0]
    if kind == "and":
        return _holds(condition[1], values) and _holds(condition[2], values)
    if kind == "or":
        return _holds(condition[1], values) or _holds(condition[2], values)
    if kind == "truthy":
        value = _evaluate(condition[1], values, strict=False)
        return value is not None and value is not False
    _, comparison, left_node, right_node = condition
    left = _evaluate(left_node, values, strict=False)
    right = _evaluate(right_node, values, strict=False)
    if right_node[0] == "empty":
        return (left in ("", [], {})) == (comparison == "==")
    if comparison == "contains":
        return left is not None and _text(right) in (left if isinstance(left, (list, dict)) else _text(left))
    try:
        return _OPERATORS[comparison](left, right)
    except TypeError:
        return False  # Liquid compares unlike types as unequal, never as an error
