"""The store browser: a small WSGI app showing an app's key-value stores (keys and values) and
SQLite databases (tables, read-only queries). The dev inspector mounts it; the spin-kv-explorer
component (spin_py/trigger/kv_explorer.py) serves the same page over spin-kv-explorer's own API.

  GET  /                              the page (one self-contained HTML file: nothing fetched elsewhere)
  GET  /api/stores                    the stores and databases (api.list_stores)
  GET  /api/kv/<label>?prefix=&limit= keys with values, cut (api.kv_keys)
  GET  /api/kv/<label>/key?key=K      one value (api.kv_value)
  GET  /api/sqlite/<label>            tables, columns, row counts (api.sqlite_tables)
  POST /api/sqlite/<label>/query      {"sql", "limit"} -> columns and rows; also GET with ?sql= (api.sqlite_query)

Errors are ``{"error": "one line"}`` with 400, 404 or 500. The mount point comes from SCRIPT_NAME.
"""

import json
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs, unquote

from spin_py.stores_browser.api import (
    KEY_LIMIT,
    ROW_LIMIT,
    VALUE_LIMIT,
    BrowseError,
    ReadOnlyRefused,
    kv_keys,
    kv_value,
    list_stores,
    sqlite_query,
    sqlite_tables,
)
from spin_py.stores_browser.page import page

__all__ = ["BrowseError", "ReadOnlyRefused", "StoresBrowser", "page"]

MAX_QUERY_BODY = 64 * 1024
_STATUS = {200: "200 OK", 400: "400 Bad Request", 404: "404 Not Found", 405: "405 Method Not Allowed",
           413: "413 Content Too Large", 500: "500 Internal Server Error"}


class StoresBrowser:
    """A WSGI app over ``runtime()``, the AppRuntime serving now; ``component`` narrows it to the
    stores that component lists (None: every component's)."""

    def __init__(self, runtime: Callable[[], Any], component: str | None = None, value_limit: int = VALUE_LIMIT,
                 key_limit: int = KEY_LIMIT, row_limit: int = ROW_LIMIT) -> None:
        self.runtime = runtime
        self.component = component
        self.value_limit = value_limit
        self.key_limit = key_limit
        self.row_limit = row_limit

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        status, headers, body = self.respond(environ)
        start_response(_STATUS.get(status, f"{status} Error"), headers + [("content-length", str(len(body)))])
        return [b"" if environ.get("REQUEST_METHOD") == "HEAD" else body]

    def respond(self, environ: dict) -> tuple[int, list[tuple[str, str]], bytes]:
        path = environ.get("PATH_INFO") or "/"
        method = environ.get("REQUEST_METHOD", "GET")
        if path == "/":
            if method not in ("GET", "HEAD"):
                return _json(405, {"error": "the page is read with GET"})
            api = environ.get("SCRIPT_NAME", "").rstrip("/") + "/api"
            html = page({"mode": "browser", "api": api, "component": self.component})
            return 200, [("content-type", "text/html; charset=utf-8"), ("cache-control", "no-store")], html
        if not path.startswith("/api/"):
            return _json(404, {"error": f"no such page: {path}"})
        try:
            return _json(200, self._api(method, path[len("/api/"):], environ))
        except BrowseError as error:
            return _json(error.status, {"error": str(error)})

    def _api(self, method: str, path: str, environ: dict) -> dict:
        parts = [unquote(part) for part in path.split("/")]
        query = {name: values[-1] for name, values in parse_qs(environ.get("QUERY_STRING", "")).items()}
        runtime = self.runtime()
        if method == "POST" and len(parts) == 3 and parts[0] == "sqlite" and parts[2] == "query":
            body = _json_body(environ)
            return sqlite_query(runtime, parts[1], str(body.get("sql") or ""), self.component,
                                _limit(body.get("limit"), self.row_limit), self.value_limit)
        if method not in ("GET", "HEAD"):
            raise BrowseError(405, f"{method} is not answered here")
        if parts == ["stores"]:
            return list_stores(runtime, self.component)
        if len(parts) == 2 and parts[0] == "kv":
            return kv_keys(runtime, parts[1], self.component, query.get("prefix", ""),
                           _limit(query.get("limit"), self.key_limit), self.value_limit)
        if len(parts) == 3 and parts[0] == "kv" and parts[2] == "key":
            if "key" not in query:
                raise BrowseError(400, "say which key: ?key=...")
            return kv_value(runtime, parts[1], query["key"], self.component, self.value_limit)
        if len(parts) == 2 and parts[0] == "sqlite":
            return sqlite_tables(runtime, parts[1], self.component)
        if len(parts) == 3 and parts[0] == "sqlite" and parts[2] == "query":
            return sqlite_query(runtime, parts[1], query.get("sql", ""), self.component,
                                _limit(query.get("limit"), self.row_limit), self.value_limit)
        raise BrowseError(404, f"no such API: /api/{path}")


def _limit(value: Any, most: int) -> int:
    """A client's limit, never above ``most``; BrowseError when it is not a number."""
    if value is None or value == "":
        return most
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise BrowseError(400, f"limit must be a whole number, not {value!r}") from None
    return max(0, min(number, most))


def _json_body(environ: dict) -> dict:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise BrowseError(400, "the request's Content-Length is not a number") from None
    if length > MAX_QUERY_BODY:
        raise BrowseError(413, f"the request body is over {MAX_QUERY_BODY} bytes")
    raw = environ["wsgi.input"].read(length) if length else b""
    try:
        body = json.loads(raw or b"{}")
    except ValueError:
        raise BrowseError(400, 'the request body must be JSON: {"sql": "SELECT ..."}') from None
    if not isinstance(body, dict):
        raise BrowseError(400, 'the request body must be a JSON object: {"sql": "SELECT ..."}')
    return body


def _json(status: int, value: Any) -> tuple[int, list[tuple[str, str]], bytes]:
    body = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return status, [("content-type", "application/json"), ("cache-control", "no-store")], body
