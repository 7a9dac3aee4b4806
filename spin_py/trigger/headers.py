"""Headers as Spin's host sees them, both ways (crates/trigger-http, headers.rs,
and the http crate's HeaderName / HeaderValue rules that hyper applies):

- the client's request headers as a component gets them: each value the UTF-8
  text the client sent, in hyper's order, without ``connection``;
- the `spin-*` headers Spin adds for a component: what was requested and which
  route matched it. Spin adds these after the client's own headers without
  removing any the client sent under the same names, and adds nothing else
  (no x-forwarded-*);
- the checks a component's response headers must pass, and their bytes on the wire.
"""

import re
from collections.abc import Sequence
from typing import Any

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


def format_client_addr(host: str, port: int | str) -> str:
    """A socket address as Rust prints one: "[::1]:8080" for IPv6 (the only kind with a colon)."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def compose_full_url(scheme: str, host: str | None, path_and_query: str) -> str:
    return f"{scheme}://{host or DEFAULT_HOST}{path_and_query}"


def path_match_header(name: str) -> str:
    # Spin builds SPIN_PATH_MATCH_<NAME> (ASCII upper-casing) and then turns
    # "_" into "-" and ASCII-lower-cases it, so ":user_id" gives "...-user-id".
    lowered = "".join(c.lower() if c.isascii() else c for c in name)
    return PATH_MATCH_PREFIX + lowered.replace("_", "-")


def spin_headers(match: Any, *, client_addr: str | tuple[Any, Any], full_url: str | None = None, path_and_query: str | None = None,
                 scheme: str = "http", host: str | None = None, base: str | None = None) -> list[Sequence[str]]:
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
    headers: list[Sequence[str]] = [
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


# --- the client's headers --------------------------------------------------------

# Spin's strip_forbidden_headers (headers.rs): "This header is transport information -
# only meaningful to the server itself - and causes problems if guests need to forward
# requests."
_STRIPPED_REQUEST_HEADERS = frozenset({"connection"})


class HeaderEncodingError(Exception):
    """A request header value is not UTF-8: Spin's prepare_request_headers fails on
    ``std::str::from_utf8(value)?`` and answers 500 without running the component."""


def client_headers(raw_headers: list[tuple[str, str]]) -> list[Sequence[str]]:
    """The client's headers as a component sees them: ``[[lower-case name, value], ...]``.

    ``raw_headers`` are (name, value) pairs as http.server parsed them (values
    decoded as Latin-1, which keeps every byte). A component gets each value as
    the UTF-8 text the client sent, as Spin does; repeated names stay separate
    values, grouped in the order each name first appeared (hyper's HeaderMap
    iterates that way).
    """
    grouped: dict[str, list[str]] = {}
    for name, value in raw_headers:
        name = name.strip().lower()
        if name in _STRIPPED_REQUEST_HEADERS:
            continue
        value = value.replace("\r\n", "").strip(" \t")  # obs-fold joined, OWS trimmed, as httparse does
        try:
            text = value.encode("latin-1").decode("utf-8")
        except UnicodeError:
            raise HeaderEncodingError(f"request header '{name}' is not valid UTF-8") from None
        grouped.setdefault(name, []).append(text)
    return [[name, value] for name, values in grouped.items() for value in values]


# --- a component's response headers -------------------------------------------------

# RFC 9110 token characters: the http crate's HeaderName::from_bytes accepts exactly these.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9a-z]+")
# HeaderValue::from_bytes: every byte visible (>= 0x20, not DEL) or a tab; bytes over 0x7f pass.
_BAD_VALUE_BYTE = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")
# wasmtime-wasi-http's DEFAULT_FORBIDDEN_HEADERS, which Spin's wasi:http host enforces:
# `Fields.from_list` in the SDK's handler export fails with header-error.forbidden on these.
FORBIDDEN_RESPONSE_HEADERS = frozenset(
    {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection",
     "transfer-encoding", "upgrade", "host", "http2-settings"}
)


class BadResponseHeader(Exception):
    """A response header Spin would refuse; the text names it."""


def wire_header(name: Any, value: Any) -> tuple[str, str]:
    """``(name, value)`` ready for WSGI's start_response, or BadResponseHeader.

    Spin's host sends a value's bytes as the component gave them, so UTF-8 text
    goes out as its UTF-8 bytes; WSGI writes a str as Latin-1, hence the value
    is encoded to UTF-8 and decoded as Latin-1.
    """
    if not isinstance(name, str) or not isinstance(value, str):
        raise BadResponseHeader(f"response header {_show(name)}: {_show(value)} is not a pair of strings")
    lowered = name.lower()
    if not _TOKEN.fullmatch(lowered):
        raise BadResponseHeader(f"response header name {_show(name)} is not a valid HTTP header name")
    if lowered in FORBIDDEN_RESPONSE_HEADERS:
        raise BadResponseHeader(f"response header '{lowered}' is forbidden (Spin refuses connection-level headers)")
    try:
        data = value.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: the SDK's bytes(value, "utf-8") fails on it too
        raise BadResponseHeader(f"response header '{lowered}' has a value that is not Unicode text: {_show(value)}") from None
    if _BAD_VALUE_BYTE.search(data):
        raise BadResponseHeader(
            f"response header '{lowered}' has a value with a control character (CR, LF, NUL...): {_show(value)}"
        )
    return lowered, data.decode("latin-1")


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
