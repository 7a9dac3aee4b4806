"""The HTTP trigger: a WSGI app that routes each request to a component's
worker, as Spin's trigger-http does, and logs one line per request.

Plain WSGI on purpose: it is the per-request hot path, and request/response
wrapper objects cost more than the routing itself.
"""

import json
import sys
import time
from urllib.parse import quote

from werkzeug.http import HTTP_STATUS_CODES

from spin_py.host.worker import WorkerError
from spin_py.trigger.headers import spin_headers
from spin_py.trigger.routes import WELL_KNOWN_PREFIX, RouteError

# WSGI names the two body headers without the HTTP_ prefix.
_BODY_HEADERS = {"CONTENT_TYPE": "content-type", "CONTENT_LENGTH": "content-length"}


def request_headers(environ):
    """The request's headers, lower-case names, as the client sent them."""
    headers = []
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            headers.append([key[5:].replace("_", "-").lower(), value])
        elif key in _BODY_HEADERS and value:
            headers.append([_BODY_HEADERS[key], value])
    return headers


def request_body(environ):
    stream = environ["wsgi.input"]
    length = environ.get("CONTENT_LENGTH")
    if length:
        return stream.read(int(length))
    if environ.get("wsgi.input_terminated"):  # chunked: read to the end
        return stream.read()
    return b""


def raw_path(environ):
    """The path and query exactly as requested (Spin routes on the undecoded path)."""
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if raw:
        return raw
    query = environ.get("QUERY_STRING")
    path = quote(environ.get("PATH_INFO", "").encode("latin-1"), safe="/:@!$&'()*+,;=-._~")
    return path + ("?" + query if query else "")


class Answer:
    def __init__(self, status, headers=(), body=b""):
        self.status = status
        self.headers = list(headers)
        self.body = body


def _text(status, text):
    return Answer(status, [("content-type", "text/plain; charset=utf-8")], text.encode("utf-8"))


class HttpTrigger:
    def __init__(self, runtime, scheme_host, terminal=None):
        """``runtime()`` returns the AppRuntime to serve with: it can change between requests."""
        self.runtime = runtime
        self.scheme_host = scheme_host  # "http://127.0.0.1:3000", when a request has no Host header
        self.terminal = terminal or sys.stderr

    def __call__(self, environ, start_response):
        started = time.perf_counter()
        method = environ["REQUEST_METHOD"]
        path_and_query = raw_path(environ)
        component_id, answer = self._respond(environ, method, path_and_query)
        headers = [(str(name), str(value)) for name, value in answer.headers]
        if not any(name.lower() == "content-length" for name, _ in headers):
            headers.append(("content-length", str(len(answer.body))))
        start_response(f"{answer.status} {HTTP_STATUS_CODES.get(answer.status, 'Unknown')}", headers)
        elapsed = (time.perf_counter() - started) * 1000
        self.log(f"{method} {path_and_query} -> {component_id or '-'} {answer.status} {elapsed:.1f}ms")
        return [answer.body]

    def _respond(self, environ, method, path_and_query):
        runtime = self.runtime()
        path = path_and_query.partition("?")[0]
        if path.startswith(WELL_KNOWN_PREFIX):
            return None, self._well_known(path[len(WELL_KNOWN_PREFIX):], runtime)
        try:
            match = runtime.router.route(path)
        except RouteError as error:  # a route Spin accepts at startup but cannot match against
            return None, _text(500, f"{error}\n")
        if match is None:
            return None, Answer(404)
        component = runtime.components[match.component]
        if component.pool is None:
            return component.id, _text(501, f"Component '{component.id}' is not served by spin-py: {component.not_python}\n")
        host = environ.get("HTTP_HOST") or self.scheme_host.split("://", 1)[1]
        headers = request_headers(environ)
        headers += spin_headers(
            match,
            full_url=f"{environ['wsgi.url_scheme']}://{host}{path_and_query}",
            path_and_query=path_and_query,
            client_addr=(environ.get("REMOTE_ADDR"), environ.get("REMOTE_PORT")),
            base=runtime.app.http_base,
        )
        body = request_body(environ)
        try:
            with component.pool.lease() as worker:
                answer = worker.serve(method, path_and_query, headers, body, runtime.answer_call(component.id))
        except WorkerError as error:
            component.output.write(str(error))
            return component.id, _text(500, str(error).rstrip("\n") + "\n")
        return component.id, answer  # the worker's HttpResponse has the same three fields

    @staticmethod
    def _well_known(name, runtime):
        """Spin answers these itself, before routing."""
        if name == "health":
            return Answer(200, [], b"OK")
        if name == "info":
            info = {"name": runtime.app.name}
            if runtime.app.version:
                info["version"] = runtime.app.version
            return Answer(200, [("content-type", "application/json")], json.dumps(info, indent=2).encode())
        return Answer(404)

    def log(self, line):
        # One write: the terminal stream is line-buffered, so the line goes out at once.
        self.terminal.write(line + "\n")
