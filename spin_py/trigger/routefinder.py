"""A port of the `routefinder` crate (0.5), which Spin's router hands its routes to:
route specs ('/' and '.' separated segments, ':name' parameters, the '*'
wildcard), their precedence order and their matching, quirks included.

Kept apart from Spin's own routing rules (routes.py), which sit on top of it.
"""

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any


class RouteError(ValueError):
    """A route Spin refuses (or, at request time, cannot match against)."""


SLASH, DOT, EXACT, PARAM, WILDCARD = "slash", "dot", "exact", "param", "wildcard"


@dataclass(frozen=True)
class Segment:
    kind: str
    text: str = ""


def parse_spec(source: str) -> tuple["Segment", ...]:
    """A routefinder route spec: '/' and '.' separate segments, ':name' is a
    parameter and '*' the wildcard; leading and trailing slashes are ignored
    and empty sections vanish, so '/a//b/' is '/a/b'."""
    trimmed = source.strip("/")
    raw = trimmed.encode()
    separators = [i for i, byte in enumerate(raw) if byte in b"./"]
    segments: list[Segment] = []
    for start, end in zip([0] + [i + 1 for i in separators], separators + [len(raw)], strict=True):
        section = raw[start:end].decode()
        # routefinder looks the separator up by character position with a
        # byte offset: the same thing for ASCII routes, not past a non-ASCII one.
        separator = trimmed[start - 1] if 0 < start <= len(trimmed) else None
        if section == "*":
            segment = Segment(WILDCARD)
        elif section.startswith("*"):
            raise RouteError(
                f"since there can only be one wildcard, it doesn't need a name. replace `{section}` with `*`"
            )
        elif section == ":":
            raise RouteError("params must be named")
        elif section.startswith(":"):
            segment = Segment(PARAM, section[1:])
        elif section:
            segment = Segment(EXACT, section)
        else:
            segment = None
        if separator == ".":
            # A dot after literal text is part of that text ("index.html").
            if segments and segments[-1].kind == EXACT:
                segments[-1] = Segment(EXACT, segments[-1].text + ".")
            else:
                segments.append(Segment(DOT))
        if segment is not None:
            if separator == "/":
                segments.append(Segment(SLASH))
            segments.append(segment)
    return tuple(segments)


def spec_text(segments: Sequence[Segment]) -> str:
    texts = {SLASH: "/", DOT: ".", WILDCARD: "*"}
    return "/" + "".join(
        texts.get(s.kind) or (":" + s.text if s.kind == PARAM else s.text) for s in segments
    )


_SAME_RANK = {
    frozenset([EXACT]), frozenset([SLASH]), frozenset([DOT]), frozenset([SLASH, DOT]),
    frozenset([PARAM]), frozenset([WILDCARD]),
}


def _segment_cmp(mine: Segment, theirs: Segment) -> int:
    """routefinder's Segment ordering, literally: Exact > Param > Wildcard >
    Slash, with a Dot that outranks everything (even from both sides)."""
    a, b = mine.kind, theirs.kind
    if frozenset([a, b]) in _SAME_RANK:
        return 0
    if a in (DOT, EXACT):
        return 1
    if a == PARAM:
        return -1 if b == EXACT else 1
    if a == WILDCARD:
        return -1 if b in (EXACT, PARAM) else 1
    return -1


def spec_cmp(mine: Sequence[Segment], theirs: Sequence[Segment]) -> int:
    """routefinder's RouteSpec ordering, where "less" is tried first: more
    specific segments first, then more dots, then the shorter spec. It never
    says "equal": a tie counts as "greater", so of two equally specific routes
    the one added first is tried first."""
    for a, b in zip(mine, theirs, strict=False):  # the shorter spec's length
        order = _segment_cmp(a, b)
        if order:
            return -order
    dots = sum(s.kind == DOT for s in mine) - sum(s.kind == DOT for s in theirs)
    if dots:
        return -1 if dots > 0 else 1
    if len(mine) != len(theirs):
        return -1 if len(mine) < len(theirs) else 1
    return 1


class BTreeOrder:
    """The order in which Rust's BTreeMap (B = 6) keeps keys inserted one by
    one. routefinder's comparison is not a consistent order once Dot segments
    are involved, so where a key lands depends on the tree's shape; a sorted
    list would only agree with Spin up to 11 routes or without dots."""

    CAPACITY = 11

    class _Node:
        def __init__(self, keys: list[Any], children: "list[BTreeOrder._Node] | None" = None) -> None:
            self.keys = keys
            self.children = children  # None for a leaf

    def __init__(self, cmp: Callable[[Any, Any], int]) -> None:
        self.cmp = cmp
        self.root = self._Node([])

    def insert(self, key: Any) -> None:
        node: BTreeOrder._Node = self.root
        path: list[tuple[BTreeOrder._Node, int]] = []
        while True:
            # Rust's linear search: the first key that the new one is less than.
            edge = next((i for i, old in enumerate(node.keys) if self.cmp(key, old) < 0), len(node.keys))
            if node.children is None:
                break
            path.append((node, edge))
            node = node.children[edge]
        split = self._insert(node, edge, key, None)
        while split:
            middle, right = split
            if not path:
                self.root = self._Node([middle], [self.root, right])
                break
            node, edge = path.pop()
            split = self._insert(node, edge, middle, right)

    def _insert(self, node: _Node, edge: int, key: Any, right: _Node | None) -> tuple[Any, _Node] | None:
        if len(node.keys) < self.CAPACITY:
            self._insert_fit(node, edge, key, right)
            return None
        # Rust's splitpoint(): which key moves up and which half takes the new one.
        if edge < 5:
            middle, into_left, at = 4, True, edge
        elif edge == 5:
            middle, into_left, at = 5, True, edge
        elif edge == 6:
            middle, into_left, at = 5, False, 0
        else:
            middle, into_left, at = 6, False, edge - 7
        children = node.children
        sibling = self._Node(node.keys[middle + 1:], None if children is None else children[middle + 1:])
        up = node.keys[middle]
        del node.keys[middle:]
        if children is not None:
            del children[middle + 1:]
        self._insert_fit(node if into_left else sibling, at, key, right)
        return up, sibling

    @staticmethod
    def _insert_fit(node: _Node, edge: int, key: Any, right: _Node | None) -> None:
        node.keys.insert(edge, key)
        if right is not None:
            assert node.children is not None  # a split below a leaf gives no right half
            node.children.insert(edge + 1, right)

    def __iter__(self) -> Iterator[Any]:
        def walk(node: BTreeOrder._Node) -> Iterator[Any]:
            if node.children is None:
                yield from node.keys
                return
            for child, key in zip(node.children, node.keys, strict=False):  # one child more than keys
                yield from walk(child)
                yield key
            yield from walk(node.children[-1])

        return walk(self.root)


def match_spec(segments: Sequence[Segment], path: str) -> list[str] | None:
    """The values captured by params and the wildcard, in order, or None.

    Leading and trailing slashes of the path are ignored, as are those of the
    spec, so "/foo/" matches "/foo" and a trailing wildcard matches nothing.
    """
    rest = path.strip("/")
    captures = []
    for index, segment in enumerate(segments):
        following = segments[index + 1].kind if index + 1 < len(segments) else None
        if segment.kind == EXACT:
            if not rest.startswith(segment.text):
                return None
            rest = rest[len(segment.text):]
        elif segment.kind == PARAM:
            if not rest:
                return None
            if following not in (None, SLASH, DOT):
                # Only a non-ASCII route parses this way; Spin fails the request.
                raise RouteError(f"route {spec_text(segments)}: a param must be followed by a dot, a slash, or the end")
            if following == DOT:
                cut = min((i for i in (rest.find("."), rest.find("/")) if i >= 0), default=-1)
                if cut < 0 or rest[cut] != ".":
                    return None
            else:
                cut = rest.find("/")
                cut = len(rest) if cut < 0 else cut
            captures.append(rest[:cut])
            rest = rest[cut:]
        elif segment.kind == WILDCARD:
            if following is not None:
                # Spin accepts such a route and fails each request that
                # reaches it in the match order; earlier routes still work.
                raise RouteError(f"route {spec_text(segments)}: a wildcard must be the last segment")
            captures.append(rest)
            rest = ""
        elif segment.kind == SLASH:
            if rest.startswith("/") and following is not None:
                rest = rest[1:]
            elif rest or following not in (None, WILDCARD):
                return None
        elif segment.kind == DOT:
            if not rest.startswith("."):
                return None
            rest = rest[1:]
    return captures if rest in ("", "/") else None
