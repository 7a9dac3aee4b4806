"""The HTTP trigger: a WSGI app that routes each request to a component's
worker, as Spin's trigger-http does, and logs one line per request. Bodies
stream both ways when they are large or of unknown length (trigger/body.py,
host/worker.py's ResponseStream); ``serve_chained`` serves a component's
request to another component (service chaining) without the network.

Plain WSGI on purpose: it is the per-request hot path, and request/response
wrapper objects cost more than the routing itself.
"""

import json
import socket
import sys
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TextIO
from urllib.parse import quote

from spin_py import observe
from spin_py.host.output import write_terminal
from spin_py.host.worker import ResponseStream, WorkerError, WorkerGone, request_instance
from spin_py.trigger.body import DEFAULT_LIMIT, BodyError, body_for_worker, read_body, read_to_end
from spin_py.trigger.headers import HeaderEncodingError, client_headers, spin_headers
from spin_py.trigger.responses import MAX_RESPONSE_BODY, BadResponse, BodyCut, CountedBody, wire_response
from spin_py.trigger.routes import WELL_KNOWN_PREFIX, RouteError

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

    from spin_py.host.output import ComponentOutput
    from spin_py.host.pool import ComponentPool
    from spin_py.host.runtime import AppRuntime, ComponentRuntime
    from spin_py.host.worker import Worker
    from spin_py.trigger.body import StreamedBody

# What spin-py's request handler (spin_py/trigger/http_server.py) adds to the WSGI environ: the
# headers as the client sent them (names unchanged, repeats apart, none dropped)
# and the connection's stream before any dechunking, so the trigger reads the
# body with its own limits.
RAW_HEADERS = "spin_py.raw_headers"
RAW_INPUT = "spin_py.raw_input"

# WSGI names the two body headers without the HTTP_ prefix.
_BODY_HEADERS = {"CONTENT_TYPE": "content-type", "CONTENT_LENGTH": "content-length"}


def request_headers(environ: "WSGIEnvironment") -> list[tuple[str, str]]:
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


def request_body(environ: "WSGIEnvironment", headers: list[tuple[str, str]],
                 limit: int = DEFAULT_LIMIT) -> "bytes | StreamedBody":
    """The body, read in bounded pieces: whole (bytes) when small, else a StreamedBody the
    worker pulls from; BodyError when it cannot be read (see trigger.body)."""
    if RAW_INPUT in environ:
        return body_for_worker(environ[RAW_INPUT], headers, limit)
    # Another WSGI server has dealt with the framing already: a length, or a stream that ends.
    stream = environ["wsgi.input"]
    if environ.get("wsgi.input_terminated"):
        return read_to_end(stream, limit)
    return read_body(stream, [h for h in headers if h[0] != "transfer-encoding"], limit)


def raw_path(environ: "WSGIEnvironment") -> str:
    """The path and query exactly as requested (Spin routes on the undecoded path)."""
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if raw:
        return raw
    query = environ.get("QUERY_STRING")
    path = quote(environ.get("PATH_INFO", "").encode("latin-1"), safe="/:@!$&'()*+,;=-._~")
    return path + ("?" + query if query else "")


def _close(body: object) -> None:
    close = getattr(body, "close", None)
    if close is not None:
        close()


# A socket nothing is ever sent to: what a chained request's PacedClient watches (it has no client).
_NOBODY, _NOBODY_PEER = socket.socketpair()


class PacedClient:
    """The client's socket as a worker watches it during a turn (host/worker.py's client_gone),
    which also counts as gone once ``deadline`` (time.monotonic()) has passed: how a streamed
    response whose handler sends nothing more is cut (the worker then stops, as for a client
    that left). Everything else is the socket's."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self.deadline: float | None = None
        self.stalled = False

    def fileno(self) -> int:
        if self.deadline is not None and time.monotonic() >= self.deadline:
            self.stalled = True
            return -1
        return self._sock.fileno()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


class PacedStream:
    """A worker's streamed response body, each piece due within ``limit`` seconds of the one
    before (of the head, for the first): --request-timeout bounds each wait for the handler,
    not only the wait for its response. A stream past it is cut, and its worker stopped."""

    def __init__(self, stream: ResponseStream, client: PacedClient, limit: float | None, output: "ComponentOutput") -> None:
        self.stream = stream
        self.client = client
        self.limit = limit
        self.output = output

    def __iter__(self) -> Iterator[bytes]:
        pieces = iter(self.stream)
        while True:
            if self.limit:
                self.client.deadline = time.monotonic() + self.limit
            try:
                piece = next(pieces)
            except StopIteration:
                return
            except ConnectionAbortedError:
                if not self.client.stalled:
                    raise
                text = (f"the handler sent no piece of its streamed response for {self.limit:g} s "
                        "(--request-timeout): the response was cut and its worker stopped")
                self.output.write(text)
                raise BodyCut(text) from None
            finally:
                self.client.deadline = None  # writing to the client has its own limit (the I/O limit)
            yield piece

    def close(self) -> None:
        self.stream.close()


class Answer:
    def __init__(self, status: Any, headers: Iterable[Any] = (), body: Any = b"") -> None:
        self.status = status
        self.headers = list(headers)
        self.body = body


@dataclass(frozen=True)
class ChainedMatch:
    """The route of a chained request: Spin's RouteMatch::synthetic (crates/routes/src/lib.rs),
    "as if the given path was matched against the wildcard route" of the component."""

    component: str
    trailing: str  # the whole path
    based_route: str = "/..."
    raw_route: str = "/..."
    component_route: str = ""  # raw_route_or_prefix of "/..."
    base: str = "/"
    named: dict = field(default_factory=dict)


# crates/trigger-http/src/outbound_http.rs: CHAINED_CLIENT_ADDR
CHAINED_CLIENT_ADDR = "0.0.0.0:0"
# How many workers a request tries when each is found dead as the request is sent to it.
_ATTEMPTS = 3


def _text(status: int, text: str) -> Answer:
    return Answer(status, [("content-type", "text/plain; charset=utf-8")], text.encode("utf-8"))


def _body_error(error: BaseException) -> Answer:
    """The answer to a request whose body could not be read (trigger.body's BodyError)."""
    return _text(getattr(error, "status", 400), f"{error}\n")


class HttpTrigger:
    def __init__(self, runtime: "Callable[[], AppRuntime]", scheme_host: str, terminal: TextIO | None = None,
                 max_response_body: int = MAX_RESPONSE_BODY) -> None:
        """``runtime()`` returns the AppRuntime to serve with: it can change between requests.
        The request body limit is its config's ``max_request_body`` (--max-request-body)."""
        self.runtime = runtime
        self.scheme_host = scheme_host  # "http://127.0.0.1:3000", when a request has no Host header
        self.terminal = terminal or sys.stderr
        self.max_response_body = max_response_body

    def __call__(self, environ: "WSGIEnvironment", start_response: "StartResponse") -> Iterable[bytes]:
        started = time.perf_counter()
        method = environ["REQUEST_METHOD"]
        path_and_query = raw_path(environ)
        observed = observe.http_started(environ, method, path_and_query, request_headers)  # spin_py/observe.py
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
            _close(answer.body)  # a worker's stream: its worker is stopped (the turn cannot end); a file: closed
            message = self._refused(component, error)
            answer = _text(500, message + "\n")
            status, headers, body = wire_response(answer.status, answer.headers, answer.body, method=method)
        if isinstance(body, CountedBody):
            body.on_problem = lambda text: self._refused(component, f"{text}; the connection was cut")
        start_response(status, headers)
        elapsed = (time.perf_counter() - started) * 1000
        if component is not None and component.output is not None:
            component.output.catch_up()  # what the handler printed comes before its request's line
        self.log(f"{method} {path_and_query} -> {component.id if component else '-'} {status.split()[0]} {elapsed:.1f}ms")
        observe.end_request(observed, int(status[:3]), answer.body if isinstance(answer, Answer) else None)
        return body

    def _refused(self, component: "ComponentRuntime | None", error: object) -> str:
        where = f"component '{component.id}'" if component is not None else "spin-py"
        message = f"{where} sent a response Spin would refuse: {error}"
        if component is not None and component.output is not None:
            component.output.write(message)
        else:
            write_terminal(self.terminal, message)
        return message

    def _respond(self, environ: "WSGIEnvironment", method: str, path_and_query: str) -> "tuple[ComponentRuntime | None, Answer]":
        """``(component or None, answer)`` for one request."""
        runtime = self.runtime()
        path = path_and_query.partition("?")[0]
        if path.startswith(WELL_KNOWN_PREFIX):
            observe.routed(path if path[len(WELL_KNOWN_PREFIX):] in ("health", "info") else None, None)
            return None, self._well_known(path[len(WELL_KNOWN_PREFIX):], runtime)
        try:
            match = runtime.router.route(path)
        except RouteError as error:  # a route Spin accepts at startup but cannot match against
            return None, _text(500, f"{error}\n")
        if match is None:
            return None, Answer(404)
        component = runtime.components[match.component]
        observe.routed(match.raw_route, component.id)
        if component.file_server is not None:  # spin-fileserver: the host answers (trigger/static_files.py)
            return component, Answer(*component.file_server.respond(path, match, request_headers(environ)))
        if component.pool is None and component.kv_explorer is None:
            return component, _text(501, f"Component '{component.id}' is not served by spin-py: {component.not_python}\n")
        raw_headers = request_headers(environ)
        try:
            headers = client_headers(raw_headers)
        except HeaderEncodingError as error:
            if component.output is not None:
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
        if component.kv_explorer is not None:  # spin-kv-explorer: the host answers (trigger/kv_explorer.py)
            return component, Answer(*component.kv_explorer.respond(method, headers, body))
        client = environ.get("werkzeug.socket")  # watched: a request whose client left is cancelled
        if client is not None:
            client = PacedClient(client)
        return component, self._run(component, runtime, method, path_and_query, headers, body, client)

    def serve_chained(self, component_id: str, method: str, path_and_query: str, headers: list[Any], body: Any,
                      max_body: int) -> tuple[int, list[tuple[str, str]], bytes]:
        """A request one component sends to ``http://<component_id>.spin.internal`` (service
        chaining), served by that component without the network, private routes included,
        as Spin's OutboundHttpInterceptor does (crates/trigger-http/src/outbound_http.rs):
        ``(status, [(name, value), ...], body bytes)``. ``headers`` are the request's own;
        Spin's headers follow, for the synthetic match of the whole path on ``/...``.
        KeyError for a component the app does not have; a body over ``max_body``: ValueError."""
        started = time.perf_counter()
        runtime = self.runtime()
        component = runtime.components.get(component_id)
        if component is None:
            raise KeyError(f"unknown routing destination '{component_id}'")  # handle_trigger_route's error
        path = path_and_query.partition("?")[0]
        match = ChainedMatch(component_id, path)
        observed = observe.start_request("http", method, path_and_query, headers, chained=True)
        observe.routed(match.raw_route, component_id)
        if component.file_server is not None:
            answer = Answer(*component.file_server.respond(path, match, headers))
        elif component.pool is None and component.kv_explorer is None:
            answer = _text(501, f"Component '{component.id}' is not served by spin-py: {component.not_python}\n")
        else:
            try:
                sent = client_headers(headers)
            except HeaderEncodingError as error:
                return 500, [("content-type", "text/plain; charset=utf-8")], f"{error}\n".encode()
            host = next((value for name, value in sent if name == "host"), None)
            sent += spin_headers(match, client_addr=CHAINED_CLIENT_ADDR, path_and_query=path_and_query,
                                 scheme="http", host=host, base="/")
            if component.kv_explorer is not None:  # spin-kv-explorer: the host answers (trigger/kv_explorer.py)
                answer = Answer(*component.kv_explorer.respond(method, sent, body))
            # No client to watch, but its streamed response is paced as a client's is.
            else:
                answer = self._run(component, runtime, method, path_and_query, sent, body, PacedClient(_NOBODY))
        try:
            status, wire, pieces = wire_response(answer.status, answer.headers, answer.body, method=method,
                                                 max_body=min(max_body, self.max_response_body))
        except BadResponse as error:
            _close(answer.body)
            message = self._refused(component, error)
            status, wire, pieces = wire_response(500, [("content-type", "text/plain; charset=utf-8")],
                                                 (message + "\n").encode(), method=method)
        try:
            data = b"".join(pieces)
        finally:
            close = getattr(pieces, "close", None)
            if close is not None:
                close()
        elapsed = (time.perf_counter() - started) * 1000
        self.log(f"{method} {path_and_query} -> {component_id} {status.split()[0]} {elapsed:.1f}ms (service chaining)")
        observe.end_request(observed, int(status[:3]), answer.body if isinstance(answer, Answer) else None)
        return int(status.split()[0]), wire, data

    def _run(self, component: "ComponentRuntime", runtime: "AppRuntime", method: str, path_and_query: str,
             headers: list[Any], body: Any, client: PacedClient | None) -> Answer:
        """The component's answer. A streamed response keeps its worker until the body has
        gone to the client (the stream's close gives it back). A worker found to have died
        while idle, before the request reached it, is replaced and the request goes to another."""
        pool, output = component.pool, component.output
        assert pool is not None and output is not None  # a component served by workers has both
        for attempt in range(_ATTEMPTS):
            try:
                # A body still to be read owns the connection: a client that left shows when it is read.
                worker = pool.take(client if isinstance(body, (bytes, bytearray)) else None)
            except WorkerError as error:
                output.write(str(error))
                return _text(500, str(error).rstrip("\n") + "\n")
            instance = request_instance(runtime, component.id)
            # As Spin's trigger_instance_builder sets the OutboundHttpInterceptor: requests this
            # instance sends to <component>.spin.internal come back here.
            instance.service_chaining = self.serve_chained
            instance.observed = observe.current()  # its host calls are told as this request's
            try:
                answer = worker.serve(method, path_and_query, headers, body, instance,
                                      client=client, timeout=runtime.config.request_timeout)
            except WorkerGone as error:
                pool.give_back(worker, False)
                if attempt + 1 < _ATTEMPTS:
                    continue
                output.write(str(error))
                return _text(500, str(error).rstrip("\n") + "\n")
            except WorkerError as error:
                pool.give_back(worker, False)
                if worker.body_error is not None:  # it failed while the client's body was broken: say that
                    return _body_error(worker.body_error)
                output.write(str(error))
                return _text(500, str(error).rstrip("\n") + "\n")
            except (KeyError, TypeError, AttributeError) as error:  # a response frame without its fields
                pool.give_back(worker, False)
                message = f"the worker for component '{component.id}' sent a malformed response ({error!r})"
                output.write(message)
                return _text(500, message + "\n")
            except BaseException:
                pool.give_back(worker, False)
                raise
            answer = self._answered(pool, worker, answer)
            if isinstance(answer.body, ResponseStream) and isinstance(client, PacedClient):
                answer.body = PacedStream(answer.body, client, runtime.config.request_timeout, output)
            return answer
        raise AssertionError("the last attempt returns")

    @staticmethod
    def _answered(pool: "ComponentPool", worker: "Worker", answer: Any) -> Answer:
        """The answer to the client; the worker goes back to its pool now, or once its
        streamed body has gone to the client."""
        stream = answer.body if isinstance(answer.body, ResponseStream) else None
        if worker.body_error is not None:  # the client's body could not be read: the host answers that
            if stream is not None:
                stream.on_close = lambda ok: pool.give_back(worker, False)
                stream.close()
            else:
                pool.give_back(worker, True)
            return _body_error(worker.body_error)
        if stream is not None:
            stream.on_close = lambda ok: pool.give_back(worker, ok)
        else:
            pool.give_back(worker, True)
        return answer  # the worker's HttpResponse has the same three fields

    @staticmethod
    def _well_known(name: str, runtime: "AppRuntime") -> Answer:
        """Spin answers these itself, before routing."""
        if name == "health":
            return Answer(200, [], b"OK")
        if name == "info":
            info = {"name": runtime.app.name}
            if runtime.app.version:
                info["version"] = runtime.app.version
            return Answer(200, [("content-type", "application/json")], json.dumps(info, indent=2).encode())
        return Answer(404)

    def log(self, line: str) -> None:
        write_terminal(self.terminal, line)
