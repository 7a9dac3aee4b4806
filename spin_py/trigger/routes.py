"""Spin's HTTP router: which component a request path goes to.

Spin (crates/routes) combines each route with the application base, drops
private routes, keeps the last of duplicate routes and hands the rest to the
`routefinder` crate (0.5, ported in routefinder.py), whose ordering and
matching rules decide which route wins. Both layers are reproduced, quirks
included, so that an app routes the same under spin-py as under `spin up`.

Paths are matched as received: Spin routes on the request URI's path without
percent-decoding it, and named segments and the trailing part are raw too.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from spin_py.manifest.errors import ManifestError
from spin_py.manifest.model import App
from spin_py.trigger.routefinder import PARAM, WILDCARD, BTreeOrder, RouteError, Segment, match_spec, parse_spec, spec_cmp

WELL_KNOWN_PREFIX = "/.well-known/spin/"

DUPLICATES_HEADER = "The following component routes are duplicates and will never be used:"
RESERVED_WARNING = f"Routes under {WELL_KNOWN_PREFIX} are handled by the Spin runtime and will never be reached"


def _strip_one_slash(text: str) -> str:
    return text[:-1] if text.endswith("/") else text


def based_route(base: str, route: str) -> str:
    """Spin's sanitize_with_base: one trailing slash comes off each part, so
    the root route "/" under base "/" is the empty string."""
    if not route.startswith("/"):
        route = "/" + route
    return _strip_one_slash(base) + _strip_one_slash(route)


def normalize_base(base: str | None) -> str:
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
    segments: tuple[Segment, ...] = field(repr=False, compare=False, default=())

    @property
    def path(self) -> str:
        """The route without its wildcard, "/" rather than empty."""
        return self.display or "/"

    @property
    def label(self) -> str:
        """Spin's text for the route in "Available Routes:"."""
        return f"{self.display} (wildcard)" if self.is_wildcard else self.display

    def banner_line(self, base_url: str) -> str:
        return f"  {self.component}: {base_url}{self.label}"

    @property
    def route_or_prefix(self) -> str:
        return self.route.removesuffix("/...")

    @property
    def raw_route_or_prefix(self) -> str:
        return self.raw_route.removesuffix("/...")


@dataclass(frozen=True)
class DuplicateRoute:
    route: str  # with the base applied; "/" rather than empty
    replaced_id: str
    effective_id: str

    def __str__(self) -> str:
        return f"  {self.replaced_id}: {self.route} (duplicate of {self.effective_id})"


@dataclass(frozen=True)
class RouteMatch:
    route: Route
    path: str
    named: dict[str, str]  # named segment -> raw captured text
    trailing: str  # the part matched by a trailing wildcard, "" for exact routes
    base: str = "/"

    @property
    def component(self) -> str:
        return self.route.component

    @property
    def based_route(self) -> str:
        return self.route.route

    @property
    def raw_route(self) -> str:
        return self.route.raw_route

    @property
    def component_route(self) -> str:
        return self.route.raw_route_or_prefix


def _parse_route(based: str) -> tuple[tuple[Segment, ...], str, bool]:
    if based.endswith("/..."):
        prefix = based.removesuffix("/...")
        return parse_spec(prefix + "/*"), prefix, True
    if based.endswith("/*"):
        return parse_spec(based), based.removesuffix("/*"), True
    return parse_spec(based), based, False


def _trailing(wildcard: str | None, path: str) -> str:
    # Spin keeps the slashes routefinder trims off the wildcard's capture.
    if wildcard is None:
        return ""
    if not wildcard:
        return "/" if path.endswith("/") else ""
    return f"/{wildcard}/" if path.endswith("/") else f"/{wildcard}"


class Router:
    def __init__(self, routes: list[Route], duplicate_routes: list[DuplicateRoute], base: str) -> None:
        self._routes = routes
        self.duplicate_routes = duplicate_routes
        self.base = base

    @classmethod
    def build(cls, trigger_routes: Iterable[tuple[Any, str]], base: str | None = "/") -> "Router":
        """``trigger_routes``: (route, component id) pairs in manifest order,
        where a route is a string, or None or ``{"private": True}`` for a
        private endpoint."""
        base = normalize_base(base)
        entries: dict[str, tuple[str, str]] = {}  # raw route -> (based route, component), first position kept
        duplicates: list[DuplicateRoute] = []
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

        order = BTreeOrder(lambda new, old: spec_cmp(new.segments, old.segments))
        for raw, (based, component) in entries.items():
            try:
                segments, display, is_wildcard = _parse_route(based)
            except RouteError as error:
                raise RouteError(f"Error parsing route {based} associated with component {component}: {error}") from None
            order.insert(Route(component, based, raw, is_wildcard, display, segments))
        return cls(list(order), duplicates, base)

    def routes(self) -> list[Route]:
        """The reachable routes in the order Spin tries and lists them."""
        return list(self._routes)

    @property
    def duplicates(self) -> list[str]:
        """Spin's startup report of duplicate routes, one line each."""
        if not self.duplicate_routes:
            return []
        return [DUPLICATES_HEADER] + [str(duplicate) for duplicate in self.duplicate_routes]

    def contains_reserved_route(self) -> bool:
        return any(route.route.startswith(WELL_KNOWN_PREFIX) for route in self._routes)

    @property
    def warnings(self) -> list[str]:
        """Everything Spin says at startup about routes that will never be used."""
        lines = self.duplicates
        if self.contains_reserved_route():
            lines = [*lines, RESERVED_WARNING]
        return lines

    def route(self, path: str) -> "RouteMatch | None":
        """The best match for a request path (no query string, not
        percent-decoded), or None."""
        for route in self._routes:
            captures = match_spec(route.segments, path)
            if captures is None:
                continue
            named: dict[str, str] = {}
            wildcard = None
            capturing = [s for s in route.segments if s.kind in (PARAM, WILDCARD)]
            for segment, value in zip(capturing, captures, strict=False):
                if segment.kind == PARAM:
                    named[segment.text] = value
                else:
                    wildcard = value
            return RouteMatch(route, path, named, _trailing(wildcard, path), self.base)
        return None


def router_for(app: App) -> Router:
    """The router of ``app``'s HTTP triggers (private ones reachable only by service chaining);
    a route Spin refuses is a ManifestError naming ``trigger.http.route``."""
    try:
        return Router.build(
            [(None if t.private else t.route, t.component) for t in app.http_triggers if t.component is not None],
            base=app.http_base,
        )
    except RouteError as error:
        raise ManifestError(app.path, str(error), key="trigger.http.route") from None
