"""The `spin-*` request headers Spin adds for a component (crates/trigger-http,
headers.rs): what was requested and which route matched it.

Spin adds these after the client's own headers without removing any the
client sent under the same names, and adds nothing else (no x-forwarded-*).
"""

from spin_py.trigger.routes import normalize_base

FULL_URL = "spin-full-url"
PATH_INFO = "spin-path-info"
MATCHED_ROUTE = "spin-matched-route"
COMPONENT_ROUTE = "spin-component-route"
RAW_COMPONENT_ROUTE = "spin-raw-component-route"
BASE_PATH = "spin-base-path"
CLIENT_ADDR = "spin-client-addr"
PATH_MATCH_PREFIX = "spin-path-match-"

DEFAULT_HOST = "localhost"  # when the request has no Host header


def format_client_addr(host, port):
    """A socket address as Rust prints one: "[::1]:8080" for IPv6 (the only kind with a colon)."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def compose_full_url(scheme, host, path_and_query):
    return f"{scheme}://{host or DEFAULT_HOST}{path_and_query}"


def path_match_header(name):
    # Spin builds SPIN_PATH_MATCH_<NAME> (ASCII upper-casing) and then turns
    # "_" into "-" and ASCII-lower-cases it, so ":user_id" gives "...-user-id".
    lowered = "".join(c.lower() if c.isascii() else c for c in name)
    return PATH_MATCH_PREFIX + lowered.replace("_", "-")


def spin_headers(match, *, client_addr, full_url=None, path_and_query=None, scheme="http", host=None, base=None):
    """Spin's headers for a routed request, in Spin's order.

    ``full_url`` is scheme://host followed by the path and query exactly as
    requested; give it, or ``path_and_query`` with ``scheme`` and ``host``.
    ``client_addr`` is "host:port" or a (host, port) pair. ``base`` defaults
    to the router's application base.
    """
    if full_url is None:
        full_url = compose_full_url(scheme, host, path_and_query or match.path)
    if isinstance(client_addr, tuple):
        client_addr = format_client_addr(*client_addr)
    headers = [
        (PATH_INFO, match.trailing),
        (FULL_URL, full_url),
        (MATCHED_ROUTE, match.based_route),
        (BASE_PATH, match.base if base is None else normalize_base(base)),
        (RAW_COMPONENT_ROUTE, match.raw_route),
        (COMPONENT_ROUTE, match.component_route),
        (CLIENT_ADDR, client_addr),
    ]
    headers += [(path_match_header(name), value) for name, value in match.named.items()]
    return headers
