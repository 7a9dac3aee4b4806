"""The HTTP trigger: a WSGI app that routes each request to a component's
worker, as Spin's trigger-http does, and logs one line per request.

Plain WSGI on purpose: it is the per-request hot path, and request/response
wrapper objects cost more than the routing itself.
"""

import json
import sys
import time
import traceback
from urllib.parse import quote

from spin_py.host.output import write_terminal
from spin_py.host.worker import WorkerError, request_instance
from spin_py.trigger.body import DEFAULT_LIMIT, BodyError, read_body, read_to_end
from spin_py.trigger.headers import HeaderEncodingError, client_headers, spin_headers
from spin_py.trigger.responses import MAX_RESPONSE_BODY, BadResponse, wire_response
from spin_py.trigger.routes import WELL_KNOWN_PREFIX, RouteError

# What spin-py's request handler (spin_py.server) adds to the WSGI environ: the
# headers as the client sent them (names unchanged, repeats apart, none dropped)
# and the connection's stream before any dechunking, so the trigger reads the
# body with its own limits.
RAW_HEADERS = "spin_py.raw_headers"
RAW_INPUT = "spin_py.raw_input"

# WSGI names the two body headers without the HTTP_ prefix.
_BODY_HEADERS = {"CONTENT_TYPE": "content-type", "CONTENT_LENGTH": "content-length"}


def request_headers(environ):
    """The request's headers as (name, value) pairs, values as WSGI gives them (Latin-1 text)."""
    if RAW_HEADERS in environ:
        return environ[RAW_HEADERS]
    headers = []
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            headers.append((key[5:].replace("_", "-").lower(), value))
        elif key in _BODY_HEADERS and value:
            headers.append((_BODY_HEADERS[key], value))
    return headers


def request_body(environ, headers, limit=DEFAULT_LIMIT) -> bytes:
    """The whole body, read in bounded pieces; BodyError when it cannot be (see trigger.body)."""
    if RAW_INPUT in environ:
        return read_body(environ[RAW_INPUT], headers, limit)
    # Another WSGI server has dealt with the framing already: a length, or a stream that ends.
    stream = environ["wsgi.input"]
    if environ.get("wsgi.input_terminated"):
        return read_to_end(stream, limit)
    return read_body(stream, [h for h in headers if h[0] != "transfer-encoding"], limit)


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
    def __init__(self, runtime, scheme_host, terminal=None, max_response_body=MAX_RESPONSE_BODY):
        """``runtime()`` returns the AppRuntime to serve with: it can change between requests.
        The request body limit is its config's ``max_request_body`` (--max-request-body)."""
        self.runtime = runtime
        self.scheme_host = scheme_host  # "http://127.0.0.1:3000", when a request has no Host header
        self.terminal = terminal or sys.stderr
        self.max_response_body = max_response_body

    def __call__(self, environ, start_response):
        started = time.perf_counter()
        method = environ["REQUEST_METHOD"]
        path_and_query = raw_path(environ)
        component = None
        try:
            component, answer = self._respond(environ, method, path_and_query)
        except Exception:  # a host bug: the client still gets an answer, the terminal the traceback
            write_terminal(self.terminal, traceback.format_exc())
            answer = _text(500, "spin-py host error (the traceback is on spin-py's terminal)\n")
        try:
            status, headers, body = wire_response(
                answer.status, answer.headers, answer.body, method=method, max_body=self.max_response_body
            )
        except BadResponse as error:
            where = f"component '{component.id}'" if component is not None else "spin-py"
            message = f"{where} sent a response Spin would refuse: {error}"
            if component is not None and component.output is not None:
                component.output.write(message)
            else:
                write_terminal(self.terminal, message)
            answer = _text(500, message + "\n")
            status, headers, body = wire_response(answer.status, answer.headers, answer.body, method=method)
        start_response(status, headers)
        elapsed = (time.perf_counter() - started) * 1000
        self.log(f"{method} {path_and_query} -> {component.id if component else '-'} {status.split()[0]} {elapsed:.1f}ms")
        return body

    def _respond(self, environ, method, path_and_query):
        """``(component or None, answer)`` for one request."""
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
        if component.file_server is not None:  # spin-fileserver: the host answers (trigger/static_files.py)
            return component, Answer(*component.file_server.respond(path, match, request_headers(environ)))
        if component.pool is None:
            return component, _text(501, f"Component '{component.id}' is not served by spin-py: {component.not_python}\n")
        raw_headers = request_headers(environ)
        try:
            headers = client_headers(raw_headers)
        except HeaderEncodingError as error:
            component.output.write(f"{error}: Spin answers 500 without running the component")
            return component, _text(500, f"{error}\n")
        host = environ.get("HTTP_HOST") or self.scheme_host.split("://", 1)[1]
        headers += spin_headers(
            match,
            full_url=f"{environ['wsgi.url_scheme']}://{host}{path_and_query}",
            path_and_query=path_and_query,
            client_addr=(environ.get("REMOTE_ADDR"), environ.get("REMOTE_PORT")),
            base=runtime.app.http_base,
        )
        try:
            lowered = [(name.lower(), value) for name, value in raw_headers]
            body = request_body(environ, lowered, runtime.config.max_request_body)
        except BodyError as error:  # no worker hears of it; the log line shows the status
            return component, _text(error.status, f"{error}\n")
        client = environ.get("werkzeug.socket")  # watched: a request whose client left is cancelled
        try:
            with component.pool.lease(client) as worker:
                answer = worker.serve(method, path_and_query, headers, body, request_instance(runtime, component.id),
                                      client=client, timeout=runtime.config.request_timeout)
        except WorkerError as error:
            component.output.write(str(error))
            return component, _text(500, str(error).rstrip("\n") + "\n")
        except (KeyError, TypeError, AttributeError) as error:  # a response frame without its fields
            message = f"the worker for component '{component.id}' sent a malformed response ({error!r})"
            component.output.write(message)
            return component, _text(500, message + "\n")
        return component, answer  # the worker's HttpResponse has the same three fields

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
        write_terminal(self.terminal, line)
