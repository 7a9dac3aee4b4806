"""A request's URI as Spin's host holds it: the http crate's ``Uri`` (what hyper sends and
wasmtime-wasi-http builds from a request's scheme, authority and path-with-query), parsed
once, so that the destination that is checked against ``allowed_outbound_hosts`` is the
destination the request goes to.

- spin-sdk 2-5's ``send`` splits the URL with Python's ``urllib.parse.urlparse`` and hands
  wasi:http its parts (spin-python-sdk, src/spin_sdk/http/__init__.py: ``set_scheme``,
  ``set_authority(url_parsed.netloc)``, ``set_path_with_query(path + '?' + query)``);
  wasmtime refuses an authority or a path the http crate does not parse, and Spin's
  ``prepare_request`` (crates/factor-outbound-http/src/wasi.rs) checks
  ``request.uri().to_string()``: ``from_sdk_parts``.
- fermyon:spin/http (spin.rs) checks the text as given, then sends ``uri.parse()``:
  ``parse_absolute``. Spin itself checks the text and sends the parse, which can name two
  different hosts (``http://a:1#@b:2/``: the check reads ``b``, the http crate ``a``);
  spin-py checks both, so such a URL is refused unless both are allowed.

Errors are ValueError with a short text; the caller maps them to the SDK's error.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlparse

# http::uri MAX_LEN (u16::MAX - 1).
MAX_LEN = 65534
_ALPHA = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
_DIGIT = "0123456789"
# http crate URI_CHARS, less '/', '?', '#' (which end an authority) and '%' (handled apart).
_AUTHORITY = frozenset(_ALPHA + _DIGIT + "!$&'()*+,-.:;=@[]_~")
_SCHEME = frozenset(_ALPHA + _DIGIT + "+-.")


def _in(code: int, ranges: Iterable[tuple[int, int]]) -> bool:
    return any(low <= code <= high for low, high in ranges)


# PathAndQuery::from_shared: bytes a path may hold as they are ('"', '{', '}' for parity with
# httparse), and a query's.
_PATH = ((0x21, 0x21), (0x22, 0x22), (0x24, 0x3B), (0x3D, 0x3D), (0x40, 0x5F), (0x61, 0x7A),
         (0x7B, 0x7B), (0x7C, 0x7C), (0x7D, 0x7D), (0x7E, 0x7E))
_QUERY = ((0x21, 0x21), (0x24, 0x3B), (0x3D, 0x3D), (0x3F, 0x7E))


@dataclass(frozen=True)
class RequestUri:
    scheme: str | None  # lower case; None for a path alone
    authority: str  # as written ("" for a path alone), userinfo included
    path_and_query: str  # "/" when the URI had none

    @property
    def host_port(self) -> str:
        """The authority without its userinfo (what the request's Host names)."""
        return self.authority.rpartition("@")[2]

    def __str__(self) -> str:
        """http::Uri's Display: ``scheme://authority`` then the path (``/`` when empty) and query."""
        if self.scheme is None:
            return self.path_and_query
        return f"{self.scheme}://{self.authority}{self.path_and_query}"


def parse_path_and_query(text: str) -> str:
    """http::uri::PathAndQuery: the fragment dropped, "/" for nothing; ValueError otherwise."""
    path, query = text, None
    for index, char in enumerate(text):
        if char == "?":
            path, query = text[:index], text[index + 1:]
            break
        if char == "#":
            return text[:index] or "/"
        if not _in(ord(char), _PATH):
            raise ValueError(f"invalid uri character {char!r} in the path")
    if query is not None:
        for index, char in enumerate(query):
            if char == "#":
                query = query[:index]
                break
            if not _in(ord(char), _QUERY):
                raise ValueError(f"invalid uri character {char!r} in the query")
        return (path or "/") + "?" + query
    return path or "/"


def parse_authority(text: str) -> str:
    """http::uri::Authority::from_str: ValueError for what it refuses."""
    if not text:
        raise ValueError("empty authority")
    colons, start_bracket, end_bracket, percent, at = 0, False, False, False, None
    for index, char in enumerate(text):
        if char == ":":
            colons += 1
        elif char == "[":
            if percent or start_bracket:
                raise ValueError("invalid authority")
            start_bracket = True
        elif char == "]":
            if end_bracket:
                raise ValueError("invalid authority")
            end_bracket = True
            colons = 0  # the colons of an IPv6 address are not the port's
        elif char == "@":
            at, colons, percent = index, 0, False
        elif char == "%":
            percent = True  # allowed only in userinfo: an '@' after it clears it
        elif char not in _AUTHORITY:
            raise ValueError(f"invalid uri character {char!r} in the authority")
    if start_bracket != end_bracket or colons > 1 or at == len(text) - 1 or percent:
        raise ValueError("invalid authority")
    return text


def parse_absolute(text: str) -> RequestUri:
    """``text.parse::<http::Uri>()`` for a URI with a scheme and an authority; ValueError."""
    if len(text) > MAX_LEN:
        raise ValueError("uri too long")
    scheme, sep, rest = text.partition("://")
    if not sep or not scheme or len(scheme) > 64 or any(char not in _SCHEME for char in scheme):
        raise ValueError("invalid format: a URI with a scheme and a host is needed")
    end = min((index for index in (rest.find(char) for char in "/?#") if index >= 0), default=len(rest))
    authority = parse_authority(rest[:end])
    return RequestUri(scheme.lower(), authority, parse_path_and_query(rest[end:]))


def from_sdk_parts(text: str) -> RequestUri:
    """The URI spin-sdk's ``send`` builds from ``text`` (urlparse's scheme, netloc, path and
    query; ``:80``/``:443`` when there is no netloc), as wasmtime-wasi-http accepts it; a
    relative one (no host: a self request) has ``scheme`` None. ValueError otherwise."""
    parts = urlparse(text)
    scheme = parts.scheme or "http"
    path_and_query = parts.path + ("?" + parts.query if parts.query else "")
    if not parts.netloc:  # ":80"/":443": a host Spin's prepare_request takes for "none"
        return RequestUri(None, "", parse_path_and_query(path_and_query))
    if any(char not in _SCHEME for char in scheme):
        raise ValueError(f"invalid scheme {scheme!r}")
    return RequestUri(scheme.lower(), parse_authority(parts.netloc), parse_path_and_query(path_and_query))
