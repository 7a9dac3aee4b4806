"""Spin's HTTP router: which component a request path goes to.

Spin (crates/routes) combines each route with the application base, drops
private routes, keeps the last of duplicate routes and hands the rest to the
`routefinder` crate (0.5), whose ordering and matching rules decide which
route wins. Both layers are reproduced here, quirks included, so that an app
routes the same under spin-py as under `spin up`.

Paths are matched as received: Spin routes on the request URI's path without
percent-decoding it, and named segments and the trailing part are raw too.
"""

from dataclasses import dataclass, field

WELL_KNOWN_PREFIX = "/.well-known/spin/"

DUPLICATES_HEADER = "The following component routes are duplicates and will never be used:"
RESERVED_WARNING = f"Routes under {WELL_KNOWN_PREFIX} are handled by the Spin runtime and will never be reached"
BASE_DEFAULT_WARNING = (
    "This application has the deprecated trigger 'base' set to the default value '/'. "
    "This may be an error in the future!"
)
BASE_ERROR = (
    "This application is using the deprecated trigger 'base' field. "
    "The base must be prepended to each [[trigger.http]]'s 'route'."
)


class RouteError(ValueError):
    pass


def check_base(base):
    """What Spin 3 says about an explicit trigger ``base``: None when it is
    unset, the warning when it is "/", RouteError otherwise (Spin 2 honoured
    any base; Spin 3 refuses to start)."""
    if base is None:
        return None
    if base == "/":
        return BASE_DEFAULT_WARNING
    raise RouteError(BASE_ERROR)


# --- routefinder 0.5: route specs ------------------------------------------

SLASH, DOT, EXACT, PARAM, WILDCARD = "slash", "dot", "exact", "param", "wildcard"


@dataclass(frozen=True)
class Segment:
    kind: str
    text: str = ""


def parse_spec(source):
    """A routefinder route spec: '/' and '.' separate segments, ':name' is a
    parameter and '*' the wildcard; leading and trailing slashes are ignored
    and empty sections vanish, so '/a//b/' is '/a/b'."""
    trimmed = source.strip("/")
    raw = trimmed.encode()
    separators = [i for i, byte in enumerate(raw) if byte in b"./"]
    segments = []
    for start, end in zip([0] + [i + 1 for i in separators], separators + [len(raw)]):
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


def spec_text(segments):
    texts = {SLASH: "/", DOT: ".", WILDCARD: "*"}
    return "/" + "".join(
        texts.get(s.kind) or (":" + s.text if s.kind == PARAM else s.text) for s in segments
    )


_SAME_RANK = {
    frozenset([EXACT]), frozenset([SLASH]), frozenset([DOT]), frozenset([SLASH, DOT]),
    frozenset([PARAM]), frozenset([WILDCARD]),
}


def _segment_cmp(mine, theirs):
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


def _spec_cmp(mine, theirs):
    """routefinder's RouteSpec ordering, where "less" is tried first: more
    specific segments first, then more dots, then the shorter spec. It never
    says "equal": a tie counts as "greater", so of two equally specific routes
    the one added first is tried first."""
    for a, b in zip(mine, theirs):
        order = _segment_cmp(a, b)
        if order:
            return -order
    dots = sum(s.kind == DOT for s in mine) - sum(s.kind == DOT for s in theirs)
    if dots:
        return -1 if dots > 0 else 1
    if len(mine) != len(theirs):
        return -1 if len(mine) < len(theirs) else 1
    return 1


class _BTreeOrder:
    """The order in which Rust's BTreeMap (B = 6) keeps keys inserted one by
    one. routefinder's comparison is not a consistent order once Dot segments
    are involved, so where a key lands depends on the tree's shape; a sorted
    list would only agree with Spin up to 11 routes or without dots."""

    CAPACITY = 11

    class _Node:
        def __init__(self, keys, children=None):
            self.keys = keys
            self.children = children  # None for a leaf

    def __init__(self, cmp):
        self.cmp = cmp
        self.root = self._Node([])

    def insert(self, key):
        node, path = self.root, []
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

    def _insert(self, node, edge, key, right):
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
        leaf = node.children is None
        sibling = self._Node(node.keys[middle + 1:], None if leaf else node.children[middle + 1:])
        up = node.keys[middle]
        del node.keys[middle:]
        if not leaf:
            del node.children[middle + 1:]
        self._insert_fit(node if into_left else sibling, at, key, right)
        return up, sibling

    @staticmethod
    def _insert_fit(node, edge, key, right):
        node.keys.insert(edge, key)
        if right is not None:
            node.children.insert(edge + 1, right)

    def __iter__(self):
        def walk(node):
            if node.children is None:
                yield from node.keys
                return
            for child, key in zip(node.children, node.keys):
                yield from walk(child)
                yield key
            yield from walk(node.children[-1])

        return walk(self.root)


def match_spec(segments, path):
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


# --- Spin's router -----------------------------------------------------------


def _strip_one_slash(text):
    return text[:-1] if text.endswith("/") else text


def based_route(base, route):
    """Spin's sanitize_with_base: one trailing slash comes off each part, so
    the root route "/" under base "/" is the empty string."""
    if not route.startswith("/"):
        route = "/" + route
    return _strip_one_slash(base) + _strip_one_slash(route)


def normalize_base(base):
    base = base or "/"
    return base if base.startswith("/") else "/" + base


@dataclass(frozen=True)
class Route:
    """A reachable route, as the router orders and the banner shows it."""

    component: str
    route: str  # as written in the manifest, with the base applied ("/base/hello/...")
    raw_route: str  # as written in the manifest
    is_wildcard: bool
    display: str  # the route without its wildcard: "/hello" for "/hello/...", "" for "/" and "/..."
    segments: tuple = field(repr=False, compare=False, default=())

    @property
    def path(self):
        """The route without its wildcard, "/" rather than empty."""
        return self.display or "/"

    @property
    def label(self):
        """Spin's text for the route in "Available Routes:"."""
        return f"{self.display} (wildcard)" if self.is_wildcard else self.display

    def banner_line(self, base_url):
        return f"  {self.component}: {base_url}{self.label}"

    @property
    def route_or_prefix(self):
        return self.route.removesuffix("/...")

    @property
    def raw_route_or_prefix(self):
        return self.raw_route.removesuffix("/...")


@dataclass(frozen=True)
class DuplicateRoute:
    route: str  # with the base applied; "/" rather than empty
    replaced_id: str
    effective_id: str

    def __str__(self):
        return f"  {self.replaced_id}: {self.route} (duplicate of {self.effective_id})"


@dataclass(frozen=True)
class RouteMatch:
    route: Route
    path: str
    named: dict  # named segment -> raw captured text
    trailing: str  # the part matched by a trailing wildcard, "" for exact routes
    base: str = "/"

    @property
    def component(self):
        return self.route.component

    @property
    def based_route(self):
        return self.route.route

    @property
    def raw_route(self):
        return self.route.raw_route

    @property
    def component_route(self):
        return self.route.raw_route_or_prefix


def _parse_route(based):
    if based.endswith("/..."):
        prefix = based.removesuffix("/...")
        return parse_spec(prefix + "/*"), prefix, True
    if based.endswith("/*"):
        return parse_spec(based), based.removesuffix("/*"), True
    return parse_spec(based), based, False


def _trailing(wildcard, path):
    # Spin keeps the slashes routefinder trims off the wildcard's capture.
    if wildcard is None:
        return ""
    if not wildcard:
        return "/" if path.endswith("/") else ""
    return f"/{wildcard}/" if path.endswith("/") else f"/{wildcard}"


class Router:
    def __init__(self, routes, duplicate_routes, base):
        self._routes = routes
        self.duplicate_routes = duplicate_routes
        self.base = base

    @classmethod
    def build(cls, trigger_routes, base="/"):
        """``trigger_routes``: (route, component id) pairs in manifest order,
        where a route is a string, or None or ``{"private": True}`` for a
        private endpoint."""
        base = normalize_base(base)
        entries = {}  # raw route -> (based route, component), first position kept
        duplicates = []
        for route, component in trigger_routes:
            if route is None:
                continue
            if isinstance(route, dict):
                if route.get("private") is True:
                    continue
                raise RouteError(
                    f"route must be a string pattern or '{{ private = true }}': '{component}' has {{ private = false }}"
                )
            replaced = entries.get(route)
            entries[route] = (based_route(base, route), component)
            if replaced is not None:
                duplicates.append(DuplicateRoute(replaced[0] or "/", replaced[1], component))

        order = _BTreeOrder(lambda new, old: _spec_cmp(new.segments, old.segments))
        for raw, (based, component) in entries.items():
            try:
                segments, display, is_wildcard = _parse_route(based)
            except RouteError as error:
                raise RouteError(f"Error parsing route {based} associated with component {component}: {error}") from None
            order.insert(Route(component, based, raw, is_wildcard, display, segments))
        return cls(list(order), duplicates, base)

    def routes(self):
        """The reachable routes in the order Spin tries and lists them."""
        return list(self._routes)

    @property
    def duplicates(self):
        """Spin's startup report of duplicate routes, one line each."""
        if not self.duplicate_routes:
            return []
        return [DUPLICATES_HEADER] + [str(duplicate) for duplicate in self.duplicate_routes]

    def contains_reserved_route(self):
        return any(route.route.startswith(WELL_KNOWN_PREFIX) for route in self._routes)

    @property
    def warnings(self):
        """Everything Spin says at startup about routes that will never be used."""
        lines = self.duplicates
        if self.contains_reserved_route():
            lines = lines + [RESERVED_WARNING]
        return lines

    def route(self, path):
        """The best match for a request path (no query string, not
        percent-decoded), or None."""
        for route in self._routes:
            captures = match_spec(route.segments, path)
            if captures is None:
                continue
            named, wildcard = {}, None
            capturing = [s for s in route.segments if s.kind in (PARAM, WILDCARD)]
            for segment, value in zip(capturing, captures):
                if segment.kind == PARAM:
                    named[segment.text] = value
                else:
                    wildcard = value
            return RouteMatch(route, path, named, _trailing(wildcard, path), self.base)
        return None
