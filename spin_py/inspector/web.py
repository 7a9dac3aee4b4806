"""The inspector's own small web app: one page (static/, plain HTML, CSS and JavaScript,
nothing fetched from the network) and the JSON it reads.

  GET /                      the page
  GET /static/<file>         its script and style
  GET /api/app               the app's name, its components, whether a store browser is mounted
  GET /api/requests          {"version", "requests": [row, ...]}, newest first
  GET /api/requests/<id>     one request in full (spin_py/inspector/calls.py, ``describe``)
  GET /api/events?since=N    Server-Sent Events: ``requests`` (rows changed after version N),
                             ``reset`` (N is too old: read /api/requests again)
  GET /api/build             the build check's last outcome per component, and what is building
  /stores/...                the store browser, when there is one (mounted as it is)
"""

import json
import mimetypes
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

from spin_py.inspector.calls import describe
from spin_py.inspector.recorder import Recorder

STATIC = Path(__file__).resolve().parent / "static"
EVENT_WAIT = 15.0  # seconds an event stream waits for a change before it sends a keep-alive comment
# Seconds between two events of one stream: changes in between go out together, so a busy app
# costs a listening page at most this many wake-ups a second, not one per change.
EVENT_GAP = 0.25
STORES_PREFIX = "/stores"

WsgiApp = Callable[[dict, Callable], Iterable[bytes]]


class InspectorApp:
    """A WSGI app. ``runtime()`` is the AppRuntime serving now, ``build_check()`` the running
    BuildCheck or None, ``allowed(component, address, scheme)`` whether the current manifest
    lets a component reach an address (see calls.allow_line), ``stores`` a WSGI app serving
    the store browser under /stores (None: none)."""

    def __init__(self, recorder: Recorder, runtime: Callable[[], Any], build_check: Callable[[], Any],
                 allowed: Callable[[str, str, str], bool | None] | None = None, stores: WsgiApp | None = None) -> None:
        self.recorder = recorder
        self.runtime = runtime
        self.build_check = build_check
        self.allowed = allowed
        self.stores = stores
        self.closed = threading.Event()  # event streams end once set
        self.hosts: set[str] | None = None  # the Host headers answered (None: any), set once the listener is bound

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if self.hosts is not None and (environ.get("HTTP_HOST") or "").lower() not in self.hosts:
            # A page of another site that a DNS name pointed at this loopback address reads nothing here.
            return _answer(start_response, "403 Forbidden", b"the inspector answers only requests for its own address\n",
                           "text/plain; charset=utf-8")
        path = environ.get("PATH_INFO") or "/"
        if self.stores is not None and (path == STORES_PREFIX or path.startswith(STORES_PREFIX + "/")):
            environ = dict(environ, SCRIPT_NAME=environ.get("SCRIPT_NAME", "") + STORES_PREFIX,
                           PATH_INFO=path[len(STORES_PREFIX):] or "/")
            return self.stores(environ, start_response)
        if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
            return _answer(start_response, "405 Method Not Allowed", b"only GET\n", "text/plain; charset=utf-8")
        if path == "/":
            return self._file(start_response, "index.html")
        if path.startswith("/static/"):
            return self._file(start_response, path[len("/static/"):])
        if path == "/api/app":
            return _json(start_response, self._app())
        if path == "/api/requests":
            version, rows = self.recorder.summaries()
            return _json(start_response, {"version": version, "requests": rows[::-1]})
        if path.startswith("/api/requests/"):
            text = path[len("/api/requests/"):]
            record = self.recorder.get(int(text)) if text.isdigit() else None
            if record is None:
                return _json(start_response, {"error": f"no request {text} is kept"}, "404 Not Found")
            return _json(start_response, describe(record, self.allowed))
        if path == "/api/events":
            return self._events(start_response, _since(environ.get("QUERY_STRING", "")))
        if path == "/api/build":
            return _json(start_response, self._build())
        return _answer(start_response, "404 Not Found", b"not found\n", "text/plain; charset=utf-8")

    def _file(self, start_response: Callable, name: str) -> Iterable[bytes]:
        file = (STATIC / name).resolve()
        if file.parent != STATIC or not file.is_file():
            return _answer(start_response, "404 Not Found", b"not found\n", "text/plain; charset=utf-8")
        kind = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
        if kind.startswith("text/") or kind.endswith("javascript"):
            kind += "; charset=utf-8"
        return _answer(start_response, "200 OK", file.read_bytes(), kind)

    def _app(self) -> dict:
        runtime = self.runtime()
        app = runtime.app
        return {
            "name": app.name,
            "components": sorted(app.components),
            "stores": self.stores is not None,
            "build_check": self.build_check() is not None,
            "keep": self.recorder.keep,
        }

    def _build(self) -> dict:
        check = self.build_check()
        if check is None:
            return {"enabled": False, "building": None, "outcomes": []}
        outcomes = sorted(check.outcomes().values(), key=lambda outcome: outcome.component)
        return {"enabled": True, "building": check.building(), "outcomes": [asdict(outcome) for outcome in outcomes]}

    def _events(self, start_response: Callable, since: int) -> Iterator[bytes]:
        start_response("200 OK", [("content-type", "text/event-stream"), ("cache-control", "no-store")])
        return self._event_stream(since)

    def _event_stream(self, since: int) -> Iterator[bytes]:
        yield b"retry: 1000\n\n"
        while not self.closed.is_set():
            version, rows = self.recorder.wait_changes(since, EVENT_WAIT)
            if rows is None:
                yield _event("reset", {"version": version})
            elif rows:
                yield _event("requests", {"version": version, "rows": rows})
            else:
                yield b": still here\n\n"  # a client that left is found when this write fails
            since = version
            self.closed.wait(EVENT_GAP)


def _since(query: str) -> int:
    for part in query.split("&"):
        name, _, value = part.partition("=")
        if name == "since" and value.isdigit():
            return int(value)
    return 0


def _event(name: str, data: dict) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()


def _json(start_response: Callable, data: Any, status: str = "200 OK") -> Iterable[bytes]:
    return _answer(start_response, status, json.dumps(data, default=str).encode(), "application/json")


def _answer(start_response: Callable, status: str, body: bytes, kind: str) -> Iterable[bytes]:
    start_response(status, [("content-type", kind), ("content-length", str(len(body))), ("cache-control", "no-store")])
    return [body]
