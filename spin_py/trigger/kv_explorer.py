"""spin-kv-explorer (fermyon/spin-kv-explorer, explorer/main.go), answered by the host itself: a
component whose source is one of its releases needs no worker, as the file server needs none
(trigger/static_files.py). Its key-value calls go through the component's own Instance, so its
``key_value_stores`` are checked as any component's are, and its credentials come from its
``variables`` as the Go code reads them.

What it does, as release v0.10.0 does it (the one its template and README add):
- every request first reads the component variable ``kv_credentials`` (the template sets it to
  ``"{{ kv_explorer_user }}:{{ kv_explorer_password }}"``) unless the environment has
  ``SPIN_APP_KV_SKIP_AUTH=1``; when the variable cannot be read, every route answers 403 with
  ``KV explorer credentials not configured.`` and the two lines main.go prints; the user is what
  comes before the first ``:``, the password what lies between the first and a second one
  (``strings.Split``), and a value with no ``:`` panics (a trap: 500, empty body);
- routes under ``path.Join(spin-base-path, spin-component-route) + "/"`` (the Go SDK's router,
  julienschmidt/httprouter v1.3.0 with its defaults): ``GET /`` the page, no auth (spin-py's own
  store browser here, where main.go serves its embedded index.html); behind basic auth
  (``401``, ``WWW-Authenticate: Basic realm=Restricted``, ``Unauthorized``):
  ``GET api/stores/:store`` -> ``{"store","keys"}`` (``null`` for an empty store),
  ``GET api/stores/:store/keys/:key`` -> ``{"store","key","value"}`` (value base64, 404 and
  ``null`` when absent), ``DELETE`` the same path, ``POST api/stores/:store`` with
  ``{"key","value"}`` (400 for a body that is not that JSON); ``:key`` is the key's bytes in
  standard base64 with ``/`` written ``-``;
- the router's own answers: a path with or without a trailing slash too many, or in another case
  or not clean, redirects (301 for GET, 307 otherwise); a known path with another method is 405
  with ``Allow``; OPTIONS answers the ``Allow`` list; anything else ``404 page not found``;
- JSON as Go's encoder writes it (HTML characters escaped, a newline after) and without a
  content-type, errors as ``http.Error`` writes them, the Go SDK's error texts (``access denied``,
  ``no such store``, ...); setting an empty value panics in the SDK (``&x[0]``): 500.

Releases before v0.10.0 keep their credentials in the ``default`` store under ``kv-credentials``
(made up at random and printed when absent), skip only the basic-auth check with
``SPIN_APP_KV_SKIP_AUTH=1``, and take ``:key`` as the raw key; those are served so too.
Not reproduced: the page itself (spin-py serves its key-value browser, with a content-type),
and Go's log timestamps' exact clock.
"""

import base64
import hmac
import json
import posixpath
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote_to_bytes, urlsplit

from spin_py.capabilities.errors import CapabilityError
from spin_py.capabilities.seam import decode_bytes, encode_bytes
from spin_py.manifest.releases import release_version, url_release

# --- which components are spin-kv-explorer --------------------------------------------------------


@dataclass(frozen=True)
class KvExplorerRelease:
    version: tuple[int, ...] | None  # (0, 10, 0); None when the source does not tell (a local build, "latest")
    label: str  # for people: "spin-kv-explorer v0.10.0"

    @property
    def credentials_in_variables(self) -> bool:
        """v0.10.0 on: the ``kv_credentials`` variable; before: the ``default`` store's ``kv-credentials``."""
        return self.version is None or self.version >= (0, 10, 0)


# Release assets, under radu-matei/ (until v0.8.0), fermyon/ (v0.9.0 on) and spinframework/ after the move.
_URL = re.compile(
    r"https://github\.com/(?:radu-matei|fermyon|spinframework)/spin-kv-explorer/releases/"
    r"(?:download/(?P<tag>[^/]+)|latest/download)/spin-kv-explorer\.wasm"
)
# Each release's digest, from the history of spin-kv-explorer's template and README.
DIGESTS = {
    "sha256:28e03705e6458d2270dac4889520b38ad3347d71d4a173de24fae83cc961e656": "v0.4.0",
    "sha256:d5f9e1f6b61b90f7404e3800285f7860fe2cfc7d0116023efc370adbb403fe87": "v0.5.0",
    "sha256:38110bc277a393cdfb1a885a0fd56923d47314b2086399d1e3bbcb6daa1f04ad": "v0.6.0",
    "sha256:31a7ad7d7f72cdfa77855e4fe1a607bcdd0129d1ca4bbeff599e6ec09c8ce93c": "v0.7.0",
    "sha256:4d4985cb076161509641a7e6ad782202ae2d934f3c4ad8dfa1e37d220e9ed128": "v0.7.0",
    "sha256:e1667e756004000913d869b72db600fb2675f4358c6f0cc2581dfa869e56073c": "v0.8.0",
    "sha256:07f5f0b8514c14ae5830af0f21674fd28befee33cd7ca58bc0a68103829f2f9c": "v0.9.0",
    "sha256:65bc286f8315746d1beecd2430e178f539fa487ebf6520099daae09a35dbce1d": "v0.10.0",
}
FILE_NAME = "spin-kv-explorer.wasm"  # what its build writes (its own spin.toml: explorer/spin-kv-explorer.wasm)


def kv_explorer_release(app: Any, component: Any) -> KvExplorerRelease | None:
    """The spin-kv-explorer release a component runs, or None: its source is a release URL or a
    known release's digest, or a local file named spin-kv-explorer.wasm."""
    source = component.source
    if isinstance(source, dict) and "url" in source:
        known, tag = url_release(source, _URL, DIGESTS)
        if not known:
            return None
    elif isinstance(source, str) and source.endswith(".wasm"):
        if Path(source).name != FILE_NAME:
            return None
        tag = None
    else:
        return None
    return KvExplorerRelease(version=release_version(tag), label=f"spin-kv-explorer {tag}" if tag else "spin-kv-explorer")


# --- Go's ways, where the answer depends on them --------------------------------------------------

Headers = list[tuple[str, str]]
Response = tuple[int, Headers, bytes]
_STATUS_TEXT = {301: "Moved Permanently", 307: "Temporary Redirect", 401: "Unauthorized", 404: "Not Found",
                405: "Method Not Allowed"}


class _Trap(Exception):
    """A Go panic: the component traps, and Spin answers 500 with no body."""


class _Answered(Exception):
    """A handler that writes its answer and returns early (main.go's ``return`` after an error)."""

    def __init__(self, response: "Response") -> None:
        super().__init__(response[0])
        self.response = response


def _http_error(text: str, status: int) -> Response:
    """net/http's Error."""
    headers = [("content-type", "text/plain; charset=utf-8"), ("x-content-type-options", "nosniff")]
    return status, headers, (text + "\n").encode()


def go_json(value: Any) -> bytes:
    """encoding/json's Encoder.Encode: compact, <, > and & escaped, U+2028/9 escaped, a newline after."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(char, escaped)
    return (text + "\n").encode("utf-8")


def go_clean(path: str) -> str:
    """httprouter's CleanPath: path.Clean, rooted, keeping a trailing slash."""
    if not path:
        return "/"
    cleaned = posixpath.normpath("/" + path.lstrip("/")) if path != "/" else "/"
    cleaned = "/" + cleaned.lstrip("/")  # normpath keeps a leading "//"
    if path.endswith("/") and cleaned != "/":
        cleaned += "/"
    return cleaned


def _go_join(*parts: str) -> str:
    """path.Join: the non-empty parts joined and cleaned."""
    joined = "/".join(part for part in parts if part)
    if not joined:
        return ""
    cleaned = posixpath.normpath(joined)
    return "/" + cleaned.lstrip("/") if joined.startswith("/") else cleaned


def _basic_auth(value: str | None) -> tuple[str, str] | None:
    """net/http's Request.BasicAuth."""
    if value is None or len(value) < 6 or value[:6].lower() != "basic ":
        return None
    try:
        decoded = base64.b64decode(value[6:], validate=True).decode("utf-8", "surrogateescape")
    except ValueError:
        return None
    user, colon, password = decoded.partition(":")
    return (user, password) if colon else None


def decode_safe_key(key: str) -> tuple[bytes, str | None]:
    """DecodeSafeKey: ``-`` back to ``/``, then standard base64; on an error, the bytes decoded
    before it (what base64.StdEncoding.DecodeString returns) and the error."""
    text = key.replace("-", "/")
    try:
        return base64.b64decode(text, validate=True), None
    except ValueError as error:
        good = b""
        for start in range(0, len(text) - len(text) % 4, 4):
            try:
                good += base64.b64decode(text[start : start + 4], validate=True)
            except ValueError:
                break
        return good, str(error)


def _go_string(data: bytes) -> str:
    """A Go string crossing to the host as a WIT string: bytes that are not UTF-8 trap."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise _Trap("invalid utf-8 in a string passed to the host") from None


# The Go SDK's key-value error texts (sdk/go/v2 kv.go toErr), by spin-py's error kinds.
_KV_ERRORS = {"StoreTableFull": "store table full", "NoSuchStore": "no such store", "AccessDenied": "access denied",
              "InvalidStore": "invalid store"}


def _kv_error(error: CapabilityError) -> str:
    return _KV_ERRORS.get(error.kind) or f"io error: {error.message or error.kind}"


# --- routing: httprouter v1.3.0 over main.go's five routes -------------------------------------------

@dataclass(frozen=True)
class _Route:
    method: str
    parts: tuple[str, ...]  # path segments; ":name" captures one
    handler: str

    def match(self, path: str, fold: bool = False) -> dict[str, str] | None:
        segments = path.split("/")
        if len(segments) != len(self.parts):
            return None
        found = {}
        for index, (part, segment) in enumerate(zip(self.parts, segments, strict=True)):
            if part.startswith(":"):
                # A parameter at the end must hold something; within the path, httprouter takes an empty one.
                if not segment and index == len(self.parts) - 1:
                    return None
                found[part[1:]] = segment
            elif part != segment and not (fold and part.lower() == segment.lower()):
                return None
        return found

    def spelled(self, path: str) -> str:
        """``path`` with this route's fixed segments in their own case (findCaseInsensitivePath)."""
        return "/".join(segment if part.startswith(":") else part for part, segment in zip(self.parts, path.split("/"), strict=True))


def _routes(root: str) -> list[_Route]:
    def route(method: str, pattern: str, handler: str) -> _Route:
        return _Route(method, tuple(pattern.split("/")), handler)

    return [
        route("GET", _go_join(root, "/api/stores/:store"), "list"),
        route("GET", _go_join(root, "/api/stores/:store/keys/:key"), "get"),
        route("DELETE", _go_join(root, "/api/stores/:store/keys/:key"), "delete"),
        route("POST", _go_join(root, "/api/stores/:store"), "set"),
        route("GET", root, "ui"),
    ]


def _find(routes: list[_Route], method: str, path: str, fold: bool = False) -> tuple[_Route, dict] | None:
    for route in routes:
        if route.method == method:
            found = route.match(path, fold)
            if found is not None:
                return route, found
    return None


def _toggled(path: str) -> str:
    return path[:-1] if len(path) > 1 and path.endswith("/") else path + "/"


# --- the component -------------------------------------------------------------------------------

SKIP_AUTH_ENV = "SPIN_APP_KV_SKIP_AUTH"
CREDENTIALS_VARIABLE = "kv_credentials"
CREDENTIALS_KEY = "kv-credentials"  # before v0.10.0: in the default store
_RANDOM_CHARS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-!@#$%^&*"
_NOT_SET_HELP = (
    "The 'kv_explorer_user' and 'kv_explorer_password' variables for the application are not set. For deployed "
    "applications, set the variables using 'spin cloud variables set'. For local development, you can disable "
    "authentication using '--env SPIN_APP_KV_SKIP_AUTH=1' or set them in the application using runtime "
    "configuration (https://developer.fermyon.com/spin/v2/dynamic-configuration#application-variables-runtime-configuration)"
)


class KvExplorer:
    """One spin-kv-explorer component: ``respond`` answers a request routed to it."""

    def __init__(self, component_id: str, release: KvExplorerRelease, environment: dict, output: Any,
                 instance: Callable[[], Any], stores: Callable[[], list[str]]) -> None:
        """``instance()`` makes the per-request seam.Instance of this component; ``stores()`` is its
        current ``key_value_stores`` (for the page); ``output`` shows what main.go prints."""
        self.id = component_id
        self.release = release
        self.environment = dict(environment)
        self.output = output
        self.instance = instance
        self.stores = stores

    @property
    def startup_lines(self) -> list[str]:
        return [f"Component '{self.id}' ({self.release.label}) is served by spin-py's built-in key-value explorer"]

    @property
    def skip_auth(self) -> bool:
        return self.environment.get(SKIP_AUTH_ENV) == "1"

    def _log(self, text: str) -> None:
        """log.Printf with log.LstdFlags."""
        self.output.write(time.strftime("%Y/%m/%d %H:%M:%S ") + text)

    def respond(self, method: str, headers: list, body: Any) -> Response:
        """``(status, headers, body)`` for one request: ``headers`` are what the component would get
        (the client's, lower-case, then Spin's ``spin-*`` ones), ``body`` bytes or a StreamedBody
        (trigger/body.py), read whole as the Go SDK reads it."""
        instance = self.instance()
        try:
            if not isinstance(body, bytes):
                body = b"".join(iter(lambda: body.read(1 << 16), b""))
            return self._serve(instance, method, {name: value for name, value in reversed(headers)}, body)
        except _Answered as answered:
            return answered.response
        except _Trap as trap:
            # Spin's trigger logs "Error processing request" and answers 500 with no body.
            self.output.write(f"panic: {trap}")
            return 500, [], b""
        finally:
            instance.close()

    def _serve(self, instance: Any, method: str, headers: dict, body: bytes) -> Response:
        credentials = self._credentials(instance)  # main.go reads them before routing, for every path
        full_url = headers.get("spin-full-url", "")
        split = urlsplit(full_url)
        if re.search(r"%(?![0-9A-Fa-f]{2})", split.path):
            self.output.write(f'parse "{full_url}": invalid URL escape')  # http.NewRequest fails: 500, no body
            return 500, [], b""
        path = unquote_to_bytes(split.path).decode("utf-8", "surrogateescape") or "/"
        root = _go_join(headers.get("spin-base-path", ""), headers.get("spin-component-route", ""))
        if not root.endswith("/"):
            root += "/"
        routes = _routes(root)
        found = _find(routes, method, path)
        if found is not None:
            route, params = found
            if route.handler == "ui":
                return self._page(root)
            return self._authorized(instance, route.handler, params, headers, body, credentials)
        return self._router_answer(routes, method, path, split)

    # -- credentials --

    def _credentials(self, instance: Any) -> tuple[str, str] | None:
        """(user, password), or None when auth is skipped; _Answered with main.go's 403 when the
        variable cannot be read."""
        if self.release.credentials_in_variables:
            if self.skip_auth:
                return None
            try:
                value = instance.call("variables", "get", {"name": CREDENTIALS_VARIABLE})
            except CapabilityError as error:
                message = error.message or error.kind
                self.output.write(f"ERROR: cannot get credentials pair from config store: {message}")
                self.output.write(_NOT_SET_HELP)
                raise _Answered((403, [], b"KV explorer credentials not configured.\n")) from None
            return _split_credentials(str(value))
        return self._stored_credentials(instance)

    def _stored_credentials(self, instance: Any) -> tuple[str, str]:
        """Before v0.10.0: the pair in the default store, made up and printed when absent."""
        try:
            store = instance.call("key_value", "open", {"label": "default"})
            exists = instance.call("key_value", "exists", {"store": store, "key": CREDENTIALS_KEY})
            if not exists:
                user = "".join(secrets.choice(_RANDOM_CHARS) for _ in range(10))
                password = "".join(secrets.choice(_RANDOM_CHARS) for _ in range(30))
                value = f"{user}:{password}".encode()
                instance.call("key_value", "set", {"store": store, "key": CREDENTIALS_KEY, "value": encode_bytes(value)})
                self._log(f"Default user: {user}")
                self._log(f"Default password: {password}")
                self._log("This is a randomly generated username and password pair. To change it, please add a "
                          "`credentials` key in the default store with the value `username:password`. If you delete "
                          "the credential pair, the next request will generate a new random set.")
                return user, password
            raw = instance.call("key_value", "get", {"store": store, "key": CREDENTIALS_KEY})
        except CapabilityError as error:
            self._log(f"Error getting credentials from KV store: {_kv_error(error)}")
            raise _Answered((500, [], b"")) from None
        return _split_credentials(decode_bytes(raw).decode("utf-8", "replace") if raw is not None else "")

    def _authorized(self, instance: Any, handler: str, params: dict, headers: dict, body: bytes,
                    credentials: tuple[str, str] | None) -> Response:
        """BasicAuth around a handler."""
        if self.skip_auth:
            if self.release.credentials_in_variables:
                self.output.write("INFO: Skipping authentication")
        else:
            if self.release.credentials_in_variables:
                self._log("Authenticating")
            user, password = credentials or ("", "")
            given = _basic_auth(headers.get("authorization"))
            if given is None or not (hmac.compare_digest(given[0].encode("utf-8", "surrogateescape"), user.encode())
                                     & hmac.compare_digest(given[1].encode("utf-8", "surrogateescape"), password.encode())):
                self._log("ERROR: Unauthenticated request")
                status, error_headers, text = _http_error("Unauthorized", 401)
                return status, [("www-authenticate", "Basic realm=Restricted"), *error_headers], text
        return getattr(self, "_" + handler)(instance, params, body)

    # -- the handlers --

    def _page(self, root: str) -> Response:
        from spin_py.stores_browser import page

        config = {"mode": "kv-explorer", "root": root, "stores": sorted(self.stores()),
                  "safe_keys": self.release.credentials_in_variables}
        return 200, [("content-type", "text/html; charset=utf-8")], page(config)

    def _open(self, instance: Any, store: str) -> Any:
        try:
            return instance.call("key_value", "open", {"label": store})
        except CapabilityError as error:
            self._log(f"ERROR: cannot open store: {_kv_error(error)}")
            raise _Answered(_http_error(_kv_error(error), 500)) from None

    def _timed(self, what: str, call: Callable[[], Any]) -> Any:
        started = time.perf_counter()
        try:
            return call()
        finally:
            self._log(f"{what} took{':' if what == 'LIST operation' else ''} {_go_duration(time.perf_counter() - started)}")

    def _key(self, params: dict) -> str:
        if not self.release.credentials_in_variables:
            return params["key"]  # before v0.10.0, the key as it is in the path
        key, error = decode_safe_key(params["key"])
        if error is not None:
            self._log(f"Error decoding key:%!(EXTRA base64.CorruptInputError={error})")
        return _go_string(key)

    def _list(self, instance: Any, params: dict, body: bytes) -> Response:
        store = self._open(instance, params["store"])
        try:
            keys = self._timed("LIST operation", lambda: instance.call("key_value", "get_keys", {"store": store}))
        except CapabilityError as error:
            self._log(f"ERROR: cannot list keys: {_kv_error(error)}")
            return _http_error(_kv_error(error), 500)
        return 200, [], go_json({"store": params["store"], "keys": list(keys) or None})

    def _get(self, instance: Any, params: dict, body: bytes) -> Response:
        key = self._key(params)
        store = self._open(instance, params["store"])
        status, value = 200, None
        try:
            raw = self._timed("GET operation", lambda: instance.call("key_value", "get", {"store": store, "key": key}))
        except CapabilityError as error:
            self._log(f"ERROR: cannot get key: {_kv_error(error)}")
            status = 404
        else:
            if raw is None:  # the SDK's interface reports a missing key as an error ("no such key")
                self._log("ERROR: cannot get key: no such key")
                status = 404
            else:
                value = base64.b64encode(decode_bytes(raw)).decode("ascii")
        return status, [], go_json({"store": params["store"], "key": params["key"], "value": value})

    def _delete(self, instance: Any, params: dict, body: bytes) -> Response:
        key = self._key(params)
        store = self._open(instance, params["store"])
        try:
            self._timed("DELETE operation", lambda: instance.call("key_value", "delete", {"store": store, "key": key}))
        except CapabilityError as error:
            self._log(f"ERROR: cannot delete key: {_kv_error(error)}")
            return 404, [], b""
        return 200, [], b""

    def _set(self, instance: Any, params: dict, body: bytes) -> Response:
        pair = _set_request(body)
        if pair is None:
            return 400, [], b""
        key, value = pair
        store = self._open(instance, params["store"])
        if not value:
            raise _Trap("runtime error: index out of range [0] with length 0")  # the SDK's toCBytes: &x[0]
        try:
            self._timed("SET operation", lambda: instance.call(
                "key_value", "set", {"store": store, "key": key, "value": encode_bytes(value.encode("utf-8"))}))
        except CapabilityError as error:
            self._log(f"ERROR: cannot add key: {_kv_error(error)}")
            return _http_error(_kv_error(error), 500)
        return 200, [], b""

    # -- what the router answers itself --

    def _router_answer(self, routes: list[_Route], method: str, path: str, split: Any) -> Response:
        methods = {route.method for route in routes}
        if method in methods and method != "CONNECT" and path != "/":
            code = 301 if method == "GET" else 307
            if _find(routes, method, _toggled(path)) is not None:
                return self._redirect(method, _toggled(path), split, code)
            cleaned = go_clean(path)
            for candidate in (cleaned, _toggled(cleaned)):
                fixed = _find(routes, method, candidate, fold=True)
                if fixed is not None:
                    return self._redirect(method, fixed[0].spelled(candidate), split, code)
        allowed = sorted({route.method for route in routes if route.method != method and route.match(path) is not None})
        if allowed:
            allow = ", ".join(sorted([*allowed, "OPTIONS"]))
            if method == "OPTIONS":
                return 200, [("allow", allow)], b""
            status, headers, text = _http_error("Method Not Allowed", 405)
            return status, [("allow", allow), *headers], text
        return _http_error("404 page not found", 404)

    @staticmethod
    def _redirect(method: str, path: str, split: Any, code: int) -> Response:
        """net/http's Redirect to the request's URL with ``path``."""
        url = f"{split.scheme}://{split.netloc}" + quote(path, safe="/$&+,:;=@") + (f"?{split.query}" if split.query else "")
        headers = [("location", url)]
        body = b""
        if method in ("GET", "HEAD"):
            headers.append(("content-type", "text/html; charset=utf-8"))
        if method == "GET":
            escaped = url.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&#34;").replace("'", "&#39;")
            body = f'<a href="{escaped}">{_STATUS_TEXT[code]}</a>.\n\n'.encode()
        return code, headers, body


def _split_credentials(value: str) -> tuple[str, str]:
    """strings.Split(creds, ":"): [0] and [1]; a value with no ":" indexes past the end and panics."""
    parts = value.split(":")
    if len(parts) < 2:
        raise _Trap(f"runtime error: index out of range [1] with length {len(parts)}")
    return parts[0], parts[1]


def _set_request(body: bytes) -> tuple[str, str] | None:
    """json.NewDecoder(r.Body).Decode(&SetRequest): the first JSON value, an object (or null),
    its names matched to the fields without regard to case; None where Go fails (400)."""
    try:
        text = body.decode("utf-8", "replace").lstrip(" \t\r\n")
        value, _ = json.JSONDecoder().raw_decode(text)
    except ValueError:
        return None
    if value is None:
        return "", ""
    if not isinstance(value, dict):
        return None
    found = {"key": "", "value": ""}
    for name, item in value.items():  # in document order: a later key naming the same field wins
        field = name.lower()
        if field not in found or item is None:  # unknown fields are skipped; null leaves a string as it was
            continue
        if not isinstance(item, str):
            return None
        found[field] = item
    return found["key"], found["value"]


def _go_duration(seconds: float) -> str:
    """time.Duration's String for the short times an operation takes."""
    nanos = int(seconds * 1e9)
    if nanos < 1000:
        return f"{nanos}ns"
    for unit, size, places in (("µs", 1000, 3), ("ms", 1_000_000, 6), ("s", 1_000_000_000, 9)):
        if nanos < size * 1000 or unit == "s":
            whole, part = divmod(nanos, size)
            fraction = f"{part:0{places}d}".rstrip("0")
            return f"{whole}.{fraction}{unit}" if fraction else f"{whole}{unit}"
    raise AssertionError("unreachable")


def kv_explorer_for(runtime: Any, component: Any) -> KvExplorer | None:
    """The KvExplorer of ``component`` in an AppRuntime, None when it is not spin-kv-explorer: its
    host calls are made through the runtime's per-request Instance, checked against the manifest
    serving at the time."""
    from spin_py.host.output import ComponentOutput

    release = kv_explorer_release(runtime.app, component)
    if release is None:
        return None

    output = ComponentOutput(component.id, runtime.logs_dir, runtime.terminal)
    environment = {**component.environment, **runtime.config.env}
    timeout = getattr(runtime.config, "request_timeout", None)

    def instance() -> Any:
        made = runtime.instance(component.id)
        if timeout:
            made.deadline = time.monotonic() + timeout
        return made

    def stores() -> list[str]:
        current = runtime._current()  # the manifest serving now, as host calls see it
        found = current.app.components.get(component.id)
        return list(found.key_value_stores) if found is not None else []

    return KvExplorer(component.id, release, environment, output, instance, stores)
