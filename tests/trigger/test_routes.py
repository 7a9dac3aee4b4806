"""Routing and the spin-* headers, against Spin's own cases (crates/routes and
crates/trigger-http unit tests) and against how Spin's router, built from its
source with routefinder 0.5, routes the trickier cases."""

import pytest

from spin_py.trigger.headers import path_match_header, spin_headers
from spin_py.trigger.routes import (
    DUPLICATES_HEADER,
    RESERVED_WARNING,
    RouteError,
    Router,
)


def router(pairs, base="/"):
    """``pairs`` as Spin's tests write them: (component id, route)."""
    return Router.build([(route, component) for component, route in pairs], base=base)


def component_for(r, path):
    match = r.route(path)
    return match.component if match else None


# --- crates/routes: route_tests ---------------------------------------------

ROUTING_CASES = [
    # (test name, base, (component, route) pairs, path, expected component)
    ("test_router_exact", "/", [("foo", "/foo"), ("foobar", "/foo/bar")], "/foo", "foo"),
    ("test_router_exact", "/", [("foo", "/foo"), ("foobar", "/foo/bar")], "/foo/bar", "foobar"),
    ("test_router_respects_base", "/base", [("foo", "/foo"), ("foobar", "/foo/bar")], "/base/foo", "foo"),
    ("test_router_respects_base", "/base", [("foo", "/foo"), ("foobar", "/foo/bar")], "/base/foo/bar", "foobar"),
    ("test_router_wildcard", "/", [("all", "/...")], "/foo/bar", "all"),
    ("test_router_wildcard", "/", [("all", "/...")], "/abc/", "all"),
    ("test_router_wildcard", "/", [("all", "/...")], "/", "all"),
    ("test_router_wildcard", "/", [("all", "/...")], "/this/should/be/captured?abc=def", "all"),
    (
        "test_router_respects_longest_match",
        "/",
        [("one_wildcard", "/one/..."), ("onetwo_wildcard", "/one/two/..."), ("onetwothree_wildcard", "/one/two/three/...")],
        "/one/two/three/four",
        "onetwothree_wildcard",
    ),
    (
        "test_router_respects_longest_match (regardless of order)",
        "/",
        [("onetwothree_wildcard", "/one/two/three/..."), ("onetwo_wildcard", "/one/two/..."), ("one_wildcard", "/one/...")],
        "/one/two/three/four",
        "onetwothree_wildcard",
    ),
    ("test_router_exact_beats_wildcard", "/", [("one_exact", "/one"), ("wildcard", "/...")], "/one", "one_exact"),
]


@pytest.mark.parametrize("name, base, pairs, path, expected", ROUTING_CASES, ids=[c[0] for c in ROUTING_CASES])
def test_spin_routing_cases(name, base, pairs, path, expected) -> None:
    assert component_for(router(pairs, base), path) == expected


def test_wildcard_routes_use_custom_display() -> None:
    (route,) = router([("comp", "/whee/...")]).routes()
    assert route.component == "comp"
    assert route.label == "/whee (wildcard)"


def test_sensible_routes_are_reachable_and_keep_their_order() -> None:
    pairs = [("comp-/", "/"), ("comp-/foo", "/foo"), ("comp-/bar", "/bar"), ("comp-/whee/...", "/whee/...")]
    r = router(pairs)
    assert [route.component for route in r.routes()] == ["comp-/", "comp-/foo", "comp-/bar", "comp-/whee/..."]
    assert r.duplicate_routes == [] and r.duplicates == []


def test_duplicate_routes_are_unreachable_and_the_last_one_wins() -> None:
    r = router([("comp-/", "/"), ("comp-first /foo", "/foo"), ("comp-second /foo", "/foo"), ("comp-/whee/...", "/whee/...")])
    assert len(r.routes()) == 3
    assert r.routes()[1].component == "comp-second /foo"
    (duplicate,) = r.duplicate_routes
    assert (duplicate.replaced_id, duplicate.effective_id) == ("comp-first /foo", "comp-second /foo")
    assert component_for(r, "/foo") == "comp-second /foo"


def test_duplicate_routes_reporting_is_faithful() -> None:
    routes = ["/", "/foo", "/...", "/whee/..."]
    pairs = [(f"comp-{which} {route}", route) for route in routes for which in ("first", "second")]
    r = router(pairs)
    assert [(d.replaced_id, d.route) for d in r.duplicate_routes] == [(f"comp-first {route}", route) for route in routes]


def test_duplicates_are_reported_in_spins_words() -> None:
    r = router([("first", "/same"), ("second", "/same"), ("third", "/same"), ("root1", "/"), ("root2", "/")])
    # Each report names the route that replaced it at the time, as Spin's does.
    assert r.duplicates == [
        DUPLICATES_HEADER,
        "  first: /same (duplicate of second)",
        "  second: /same (duplicate of third)",
        "  root1: / (duplicate of root2)",
    ]
    assert DUPLICATES_HEADER == "The following component routes are duplicates and will never be used:"
    assert [route.component for route in r.routes()] == ["root2", "third"]


def test_duplicates_are_the_same_text_not_the_same_route() -> None:
    r = router([("a", "/foo"), ("b", "/foo/")])
    assert r.duplicate_routes == []
    assert component_for(r, "/foo") == "a"  # equally specific: the first added is tried first


def test_private_routes_are_skipped() -> None:
    r = Router.build([("/", "comp-/"), ("/foo", "comp-/foo"), (None, "comp-private"), ({"private": True}, "other-private"), ("/whee/...", "comp-/whee/...")])
    assert len(r.routes()) == 3
    assert not any(route.component.endswith("private") for route in r.routes())


def test_private_false_is_refused() -> None:
    with pytest.raises(RouteError) as error:
        Router.build([("/", "comp-/"), ({"private": False}, "comp-bad component")])
    assert str(error.value) == (
        "route must be a string pattern or '{ private = true }': 'comp-bad component' has { private = false }"
    )


@pytest.mark.parametrize(
    "route, path, trailing",
    [
        # trailing_wildcard_is_captured
        ("/...", "/1/2/3", "/1/2/3"),
        ("/1/...", "/1/2/3", "/2/3"),
        # trailing_wildcard_respects_trailing_slash
        ("/test/...", "/test", ""),
        ("/test/...", "/test/", "/"),
        ("/test/...", "/test/hello", "/hello"),
        ("/test/...", "/test/hello/", "/hello/"),
        ("/...", "/", "/"),
        ("/test/*", "/test/a/b", "/a/b"),
    ],
)
def test_trailing_wildcard(route, path, trailing) -> None:
    assert router([("comp", route)]).route(path).trailing == trailing


@pytest.mark.parametrize(
    "route, path, named",
    [
        ("/1/:two/3", "/1/2/3", {"two": "2"}),
        ("/1/:two/...", "/1/2/3", {"two": "2"}),
        ("/users/:id/posts/:post", "/users/42/posts/7", {"id": "42", "post": "7"}),
        ("/users/:user_id/x", "/users/a%2Fb/x", {"user_id": "a%2Fb"}),  # not percent-decoded
        ("/:name.json", "/data.json", {"name": "data"}),
    ],
)
def test_named_segments_are_captured(route, path, named) -> None:
    assert router([("comp", route)]).route(path).named == named


@pytest.mark.parametrize(
    "route, reserved",
    [
        ("/.well-known/spin/...", True),
        ("/.well-known/spin/fie", True),
        ("/.well-known/spindle/...", False),
        ("/.well-known/spi/...", False),
        ("/.well-known/spin", False),
    ],
)
def test_reserved_routes(route, reserved) -> None:
    r = router([("comp", route)])
    assert r.contains_reserved_route() is reserved
    assert (RESERVED_WARNING in r.warnings) is reserved


def test_reserved_warning_wording() -> None:
    assert RESERVED_WARNING == "Routes under /.well-known/spin/ are handled by the Spin runtime and will never be reached"


# --- how Spin's router treats the less obvious cases --------------------------

MIXED = [
    ("root", "/"),
    ("all", "/..."),
    ("hello", "/hello"),
    ("file", "/:name.json"),
    ("hidden", "/foo/.bar"),
    ("acme", "/.well-known/acme/..."),
]


@pytest.mark.parametrize(
    "path, expected",
    [
        ("/", ("root", "", "/", "/", {}, "")),
        ("/x/y", ("all", "/...", "/...", "", {}, "/x/y")),
        ("/hello/", ("hello", "/hello", "/hello", "/hello", {}, "")),  # exact routes ignore a trailing slash
        ("//hello", ("hello", "/hello", "/hello", "/hello", {}, "")),
        ("/hello/x", ("all", "/...", "/...", "", {}, "/hello/x")),
        ("/data.json", ("file", "/:name.json", "/:name.json", "/:name.json", {"name": "data"}, "")),
        ("/data.txt", ("all", "/...", "/...", "", {}, "/data.txt")),
        # routefinder folds "/." after literal text into that text: the route
        # "/foo/.bar" answers "/foo.bar", not its own path.
        ("/foo/.bar", ("all", "/...", "/...", "", {}, "/foo/.bar")),
        ("/foo.bar", ("hidden", "/foo/.bar", "/foo/.bar", "/foo/.bar", {}, "")),
        ("/.well-known/acme/t", ("acme", "/.well-known/acme/...", "/.well-known/acme/...", "/.well-known/acme", {}, "/t")),
        ("/users/a%20b", ("all", "/...", "/...", "", {}, "/users/a%20b")),
    ],
)
def test_match_details(path, expected) -> None:
    m = router(MIXED).route(path)
    assert (m.component, m.based_route, m.raw_route, m.component_route, m.named, m.trailing) == expected


def test_routes_are_listed_in_the_order_spin_tries_them() -> None:
    assert [(route.component, route.label) for route in router(MIXED).routes()] == [
        ("acme", "/.well-known/acme (wildcard)"),
        ("hidden", "/foo/.bar"),
        ("file", "/:name.json"),
        ("root", ""),
        ("hello", "/hello"),
        ("all", " (wildcard)"),
    ]


def test_base_is_prepended_to_routes() -> None:
    r = router([("root", "/"), ("all", "/..."), ("hello", "hello/")], base="/api")
    assert [(route.component, route.route, route.label) for route in r.routes()] == [
        ("root", "/api", "/api"),
        ("hello", "/api/hello", "/api/hello"),
        ("all", "/api/...", "/api (wildcard)"),
    ]
    for path in ("/api", "/api/"):
        m = r.route(path)
        assert (m.component, m.based_route, m.raw_route, m.component_route) == ("root", "/api", "/", "/")
    m = r.route("/api/hello")
    assert (m.component, m.based_route, m.raw_route, m.component_route) == ("hello", "/api/hello", "hello/", "hello/")
    assert r.route("/hello") is None
    assert r.route("/apix") is None


def test_base_without_leading_slash_is_made_absolute() -> None:
    r = router([("hello", "/hello")], base="api")
    assert r.base == "/api"
    assert r.route("/api/hello").based_route == "/api/hello"


def test_no_match_is_none() -> None:
    r = router([("hello", "/hello"), ("user", "/users/:id")])
    assert r.route("/nothing") is None
    assert r.route("/") is None
    assert r.route("/users") is None
    assert r.route("/users/1/more") is None


def test_a_mid_route_wildcard_fails_only_the_requests_that_reach_it() -> None:
    r = router([("broken", "/a/*/b"), ("ok", "/ok"), ("any", "/...")])
    assert component_for(r, "/ok") == "ok"
    assert component_for(r, "/x") == "any"
    with pytest.raises(RouteError):
        r.route("/a/x/b")


@pytest.mark.parametrize(
    "route, message",
    [
        ("/a/:", "Error parsing route /a/: associated with component c: params must be named"),
        (
            "/files/*name",
            "Error parsing route /files/*name associated with component c: since there can only be one "
            "wildcard, it doesn't need a name. replace `*name` with `*`",
        ),
    ],
)
def test_unparseable_routes(route, message) -> None:
    with pytest.raises(RouteError) as error:
        router([("c", route)])
    assert str(error.value) == message


SITE = [
    ("robots", "/robots.txt"), ("static", "/static/..."), ("logout", "/logout"), ("docs", "/:lang/docs/..."),
    ("posts", "/users/:id/posts/..."), ("admin", "/admin/..."), ("post", "/blog/:slug"), ("page", "/:page"),
    ("wellknown", "/.well-known/..."), ("home", "/"), ("health", "/health"), ("login", "/login"),
    ("blog", "/blog/..."), ("fallback", "/..."),
]


def test_order_of_a_larger_app_follows_spins_tree() -> None:
    # Past eleven routes Spin's ordering depends on the shape of its tree, and
    # routefinder's comparison is not transitive around ".well-known": a plain
    # sorted list would send "/" to the fallback here.
    r = router(SITE)
    assert [route.component for route in r.routes()] == [
        "health", "login", "wellknown", "home", "logout", "robots", "post",
        "posts", "static", "admin", "blog", "page", "docs", "fallback",
    ]
    expected = {
        "/": "home", "/about": "page", "/en/docs/intro": "docs", "/blog/hello": "post", "/blog/a/b": "blog",
        "/robots.txt": "robots", "/.well-known/x": "wellknown", "/x/y": "fallback",
    }
    assert {path: component_for(r, path) for path in expected} == expected


def test_root_can_lose_to_the_catch_all_after_a_dotted_route() -> None:
    # Spin itself routes "/" to "/..." for this manifest order.
    r = router([("wellknown", "/.well-known/..."), ("home", "/"), ("fallback", "/...")])
    assert [route.component for route in r.routes()] == ["fallback", "wellknown", "home"]
    assert component_for(r, "/") == "fallback"
    r = router([("home", "/"), ("fallback", "/..."), ("wellknown", "/.well-known/...")])
    assert component_for(r, "/") == "home"


# --- the startup banner -------------------------------------------------------


def test_banner_lines() -> None:
    r = router([("root", "/"), ("hello", "/hello"), ("files", "/files/..."), ("all", "/...")])
    base_url = "http://127.0.0.1:3000"
    assert [route.banner_line(base_url) for route in r.routes()] == [
        "  root: http://127.0.0.1:3000",
        "  hello: http://127.0.0.1:3000/hello",
        "  files: http://127.0.0.1:3000/files (wildcard)",
        "  all: http://127.0.0.1:3000 (wildcard)",
    ]
    # Spin's JSON output uses the path, with "/" for the root.
    assert [(route.path, route.is_wildcard) for route in r.routes()] == [
        ("/", False), ("/hello", False), ("/files", True), ("/", True),
    ]


# --- crates/trigger-http: headers.rs -----------------------------------------

CLIENT = "127.0.0.1:8777"


def headers_for(route, path, full_url, base="/"):
    m = Router.build([(route, "DUMMY")], base=base).route(path)
    return dict(spin_headers(m, full_url=full_url, client_addr=CLIENT))


def test_default_headers() -> None:
    headers = headers_for("/foo/...", "/foo/bar", "https://fermyon.dev/foo/bar?key1=value1&key2=value2")
    assert headers == {
        "spin-full-url": "https://fermyon.dev/foo/bar?key1=value1&key2=value2",
        "spin-path-info": "/bar",
        "spin-matched-route": "/foo/...",
        "spin-base-path": "/",
        "spin-raw-component-route": "/foo/...",
        "spin-component-route": "/foo",
        "spin-client-addr": "127.0.0.1:8777",
    }


def test_default_headers_with_named_wildcards() -> None:
    headers = headers_for("/foo/:userid/...", "/foo/42/bar", "https://fermyon.dev/foo/42/bar?key1=value1&key2=value2")
    assert headers == {
        "spin-full-url": "https://fermyon.dev/foo/42/bar?key1=value1&key2=value2",
        "spin-path-info": "/bar",
        "spin-matched-route": "/foo/:userid/...",
        "spin-base-path": "/",
        "spin-raw-component-route": "/foo/:userid/...",
        "spin-component-route": "/foo/:userid",
        "spin-client-addr": "127.0.0.1:8777",
        "spin-path-match-userid": "42",
    }


def test_default_headers_with_base_path() -> None:
    headers = headers_for("/foo/...", "/base/foo/bar", "https://fermyon.dev/base/foo/bar?key1=value1&key2=value2", base="/base")
    assert headers == {
        "spin-full-url": "https://fermyon.dev/base/foo/bar?key1=value1&key2=value2",
        "spin-path-info": "/bar",
        "spin-matched-route": "/base/foo/...",
        "spin-base-path": "/base",
        "spin-raw-component-route": "/foo/...",
        "spin-component-route": "/foo",
        "spin-client-addr": "127.0.0.1:8777",
    }


def test_header_order_is_spins() -> None:
    m = Router.build([("/a/:x/...", "c")]).route("/a/1/b")
    names = [name for name, _ in spin_headers(m, full_url="http://h/a/1/b", client_addr=CLIENT)]
    assert names == [
        "spin-path-info", "spin-full-url", "spin-matched-route", "spin-base-path",
        "spin-raw-component-route", "spin-component-route", "spin-client-addr", "spin-path-match-x",
    ]


@pytest.mark.parametrize(
    "route, path, expected",
    [
        ("/", "/", {"spin-matched-route": "", "spin-raw-component-route": "/", "spin-component-route": "/", "spin-path-info": ""}),
        ("/...", "/", {"spin-matched-route": "/...", "spin-raw-component-route": "/...", "spin-component-route": "", "spin-path-info": "/"}),
        ("/...", "/x/y/", {"spin-component-route": "", "spin-path-info": "/x/y/"}),
        ("/hello", "/hello", {"spin-matched-route": "/hello", "spin-component-route": "/hello", "spin-path-info": ""}),
        ("/files/*", "/files/a", {"spin-matched-route": "/files/*", "spin-component-route": "/files/*", "spin-path-info": "/a"}),
    ],
)
def test_headers_for_root_exact_and_star_routes(route, path, expected) -> None:
    headers = headers_for(route, path, "http://localhost" + path)
    assert {name: headers[name] for name in expected} == expected


def test_headers_for_the_root_under_a_base() -> None:
    headers = headers_for("/...", "/api/x", "http://localhost/api/x?q=1", base="/api")
    assert (headers["spin-matched-route"], headers["spin-component-route"], headers["spin-base-path"]) == ("/api/...", "", "/api")
    assert headers["spin-path-info"] == "/x"
    assert headers["spin-full-url"] == "http://localhost/api/x?q=1"


def test_full_url_from_parts() -> None:
    m = Router.build([("/...", "c")]).route("/a%20b")
    headers = dict(spin_headers(m, path_and_query="/a%20b?x=1", host="example.com:3000", client_addr=CLIENT))
    assert headers["spin-full-url"] == "http://example.com:3000/a%20b?x=1"
    headers = dict(spin_headers(m, path_and_query="/a%20b", client_addr=CLIENT))
    assert headers["spin-full-url"] == "http://localhost/a%20b"  # no Host header


@pytest.mark.parametrize(
    "addr, expected",
    [(("127.0.0.1", 54321), "127.0.0.1:54321"), (("::1", 8080), "[::1]:8080"), ("10.0.0.1:9", "10.0.0.1:9")],
)
def test_client_addr_is_written_as_rust_writes_socket_addresses(addr, expected) -> None:
    m = Router.build([("/...", "c")]).route("/")
    assert dict(spin_headers(m, full_url="http://h/", client_addr=addr))["spin-client-addr"] == expected


def test_path_match_header_names() -> None:
    assert path_match_header("userid") == "spin-path-match-userid"
    assert path_match_header("userId") == "spin-path-match-userid"
    assert path_match_header("user_id") == "spin-path-match-user-id"
    m = Router.build([("/users/:user_id", "c")]).route("/users/7")
    assert ("spin-path-match-user-id", "7") in spin_headers(m, full_url="http://h/users/7", client_addr=CLIENT)
