"""A key-value store over HTTP, kept in Spin's `default` store:

    GET    /<key>   the value, or 404 when the key has none
    POST   /<key>   store the request body as the value (PUT works too)
    DELETE /<key>   remove the key, or 404 when it has none
    GET    /        every key, as a JSON list

The key is the request path below the component's route, URL-decoded.
"""

import json
from urllib.parse import unquote, urlsplit

from spin_sdk import key_value
from spin_sdk.http import IncomingHandler, Request, Response
from spin_sdk.wit.types import Err

METHODS = ("GET", "POST", "PUT", "DELETE")


def text_response(status, text, headers=None):
    return Response(status, {"content-type": "text/plain; charset=utf-8", **(headers or {})}, text.encode("utf-8"))


def request_key(request):
    # spin-path-info is the path below the route ("" for a route without /...), so the
    # app works wherever it is mounted.
    path = request.headers.get("spin-path-info", urlsplit(request.uri).path)
    return unquote(path.removeprefix("/"))


def describe(error):
    """Spin's key-value errors: StoreTableFull, NoSuchStore, AccessDenied, Other(message)."""
    kind = type(error).__name__.removeprefix("Error_")
    message = getattr(error, "value", None)
    return f"{kind}: {message}" if message else kind


def handle(store, method, key, body):
    """One request against the open store; ``method`` is one of METHODS."""
    if method == "GET" and not key:
        keys = sorted(store.get_keys())
        return Response(200, {"content-type": "application/json"}, json.dumps(keys).encode("utf-8"))
    if not key:
        return text_response(400, f"name the key in the path: {method} /<key>\n")
    if method == "GET":
        value = store.get(key)
        if value is None:
            return text_response(404, f"no value for key '{key}'\n")
        return Response(200, {"content-type": "application/octet-stream"}, value)
    if method in ("POST", "PUT"):
        value = body or b""
        store.set(key, value)
        return text_response(200, f"stored {len(value)} bytes at key '{key}'\n")
    # DELETE: Spin deletes a missing key without complaint, so ask first to answer 404.
    if not store.exists(key):
        return text_response(404, f"no value for key '{key}'\n")
    store.delete(key)
    return text_response(200, f"deleted key '{key}'\n")


class IncomingHandler(IncomingHandler):
    def handle_request(self, request: Request) -> Response:
        if request.method not in METHODS:
            return text_response(405, f"use one of {', '.join(METHODS)}\n", {"allow": ", ".join(METHODS)})
        try:
            # "default" must be listed in the component's `key_value_stores` in spin.toml.
            with key_value.open_default() as store:
                return handle(store, request.method, request_key(request), request.body)
        except Err as error:
            return text_response(500, f"key-value error: {describe(error.value)}\n")
