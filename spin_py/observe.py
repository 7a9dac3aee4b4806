"""What the host reports about the requests it serves, to whoever subscribes: telemetry
(spin_py/telemetry/) and the dev inspector use this one interface, and nothing else does
the host's code need to know of either.

Subscribing::

    from spin_py import observe

    class Mine(observe.Observer):          # override only what you need
        def request_ended(self, request: observe.Request) -> None: ...

    unsubscribe = observe.subscribe(Mine())

The events, in the order one request sees them (each method is called in the thread
where the event happened, so an observer does its own locking and returns quickly; an
observer that raises is said once on stderr and the request goes on):

- ``request_started(request)``: an HTTP request has arrived (method, path and query,
  headers as the client sent them, peer, scheme) or a Redis message is about to go to a
  component (``trigger == "redis"``, ``method == ""``, ``path`` and ``channel`` the
  channel, ``component`` known). A request one component sends to another
  (``http://<id>.spin.internal``, service chaining) is a request of its own whose
  ``parent`` is the caller's request (and whose headers carry the traceparent the
  caller's outbound call was given).
- ``request_routed(request)``: the HTTP trigger has matched it: ``route`` (the route as
  written in the manifest, or the well-known path) and ``component`` (None for a 404 and
  spin-py's own endpoints). Not sent for a path that matches no route.
- ``call_started(call)`` / ``call_ended(call)``: every host call the request's instance
  makes (one per ``seam.Instance.call``), with ``args`` as they crossed the channel
  (JSON; bytes as ``{"$bytes": base64}``; the observer must not change them), then
  ``result`` (same form) or ``error_kind`` and ``error`` (the capability error's variant
  and text; a host bug is kind "Other"). ``facts`` holds what only the host knows of the
  call (``annotate``, ``llm_timings``: for llm calls ``time_to_first_token`` and
  ``time_queued`` in seconds, when the engine says; for outbound HTTP ``url``, where it
  went). Calls can start after ``request_ended``: work the
  handler spawned goes on after its response.
- ``request_ended(request)``: the response head is known: ``status`` (the HTTP status),
  ``duration`` (seconds), ``error`` (the text of a host-made 5xx answer: the worker's
  failure, the guest's traceback, a refused response; None otherwise). A streamed body
  may still be on its way. A Redis message's is told once its batch's outcome is known
  (``status`` 0 handled, 500 failed, ``error`` the handler's error or traceback), its
  ``duration`` being its instance's turn.
- ``output(line)``: a line a component wrote (``stream`` "stdout" or "stderr") or the host
  wrote under its name (``stream`` "host"), with ``request`` set where the host can tell:
  a line the host writes while serving a request is that request's; a line from a
  component's pipes is the request's when exactly one request of that component is in
  flight (instances share their component's pipes), or when none is and the last one ended
  at most LATE_LINE seconds ago (a pipe delivers a little late), else None.
- ``inject(call) -> [(name, value), ...]``: asked during an outbound HTTP call (the
  ``outbound_http`` capability's ``send``): headers to set on the request (``traceparent``),
  replacing any of the same name, as Spin's inject_trace_context does.

``Request.data`` and ``Call.data`` are dicts an observer keeps its own state in, keyed by
itself. With no observer subscribed every hook returns at its first line: the cost on the
request path is a few function calls that each test one global.
"""

from __future__ import annotations

import itertools
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Call", "Observer", "OutputLine", "Request", "subscribe"]


@dataclass(eq=False)
class Request:
    """One HTTP request or one Redis message to one component."""

    id: int
    trigger: str  # "http" or "redis"
    method: str  # "" for Redis
    path: str  # path and query as requested; the channel for Redis
    headers: list[tuple[str, str]]  # as the client sent them (names as sent); Redis: none
    started: float  # time.time()
    peer: tuple[str | None, int | None] = (None, None)
    scheme: str = "http"
    channel: str | None = None  # Redis
    address: str | None = None  # Redis: the server's host:port
    route: str | None = None
    component: str | None = None
    parent: Request | None = None  # the calling request of a service-chained one
    status: int | None = None
    duration: float | None = None  # seconds to the response head
    error: str | None = None
    ended: bool = False
    data: dict[Any, Any] = field(default_factory=dict)
    _clock: float = 0.0  # time.perf_counter() at the start

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (any case), or None."""
        name = name.lower()
        return next((value for key, value in self.headers if key.lower() == name), None)


@dataclass(eq=False)
class Call:
    """One host call of a request's instance."""

    id: int
    request: Request
    component: str
    capability: str
    function: str
    args: Mapping[str, Any]
    started: float  # time.time()
    duration: float | None = None  # seconds
    result: Any = None
    error_kind: str | None = None
    error: str | None = None
    ended: bool = False
    facts: dict[str, Any] = field(default_factory=dict)
    data: dict[Any, Any] = field(default_factory=dict)
    _clock: float = 0.0


@dataclass(eq=False)
class OutputLine:
    component: str
    stream: str  # "stdout", "stderr" or "host"
    text: str
    time: float  # time.time()
    request: Request | None = None


class Observer:
    """What an observer may implement; each does nothing here."""

    def request_started(self, request: Request) -> None:
        pass

    def request_routed(self, request: Request) -> None:
        pass

    def request_ended(self, request: Request) -> None:
        pass

    def call_started(self, call: Call) -> None:
        pass

    def call_ended(self, call: Call) -> None:
        pass

    def output(self, line: OutputLine) -> None:
        pass

    def inject(self, call: Call) -> list[tuple[str, str]]:
        return []


# The subscribers, replaced whole (never changed in place) so that a hook reads it once without a lock.
_observers: tuple[Observer, ...] = ()
_subscribe_lock = threading.Lock()
_ids = itertools.count(1)
_call_ids = itertools.count(1)
# The request a thread is serving (the HTTP trigger's thread, a Redis delivery's) and the
# host call it is answering: what a line the host writes, and an outbound request, belong to.
_request: ContextVar[Request | None] = ContextVar("spin_py_request", default=None)
_call: ContextVar[Call | None] = ContextVar("spin_py_call", default=None)
# Requests not yet ended, per component: a line from a component's pipes is the request's when it is the only one.
_in_flight: dict[str, list[Request]] = {}
_in_flight_lock = threading.Lock()
# A line reaches the host through its component's pipe a little after it was written: one that
# comes when none of the component's requests is in flight, within LATE_LINE seconds of the end
# of the last one, is that one's.
LATE_LINE = 0.25
_last_ended: dict[str, tuple[Request, float]] = {}
_failed: set[str] = set()
# Redis: the channel and server of the message each component is being given, and per
# delivering thread the requests made for its messages and not yet told ended.
_redis_channels: dict[str, tuple[str, str]] = {}
_redis_pending = threading.local()


def subscribe(observer: Observer) -> Callable[[], None]:
    """Start telling ``observer``; returns the function that stops it."""
    global _observers
    with _subscribe_lock:
        _observers = (*_observers, observer)

    def unsubscribe() -> None:
        global _observers
        with _subscribe_lock:
            _observers = tuple(o for o in _observers if o is not observer)

    return unsubscribe


def watching() -> bool:
    """Is anyone subscribed?"""
    return bool(_observers)


def _tell(method: str, event: Any) -> None:
    for observer in _observers:
        try:
            getattr(observer, method)(event)
        except Exception as error:  # an observer's bug must not fail the request
            _tell_failure(observer, method, error)


def _tell_failure(observer: Observer, method: str, error: Exception) -> None:
    name = f"{type(observer).__name__}.{method}"
    if name not in _failed:
        _failed.add(name)
        print(f"spin-py: {name} failed (said once): {error!r}", file=sys.stderr, flush=True)


# --- hooks for the triggers ------------------------------------------------------------


def start_request(trigger: str, method: str, path: str, headers: list[tuple[str, str]], *,
                  peer: tuple[str | None, int | None] = (None, None), scheme: str = "http",
                  component: str | None = None, channel: str | None = None, address: str | None = None,
                  chained: bool = False) -> Request | None:
    """A request begins in this thread (None when nobody observes). End it with ``end_request``.
    ``chained``: one component's request to another, served in the thread of the caller's
    host call, whose request becomes its ``parent``."""
    if not _observers:
        return None
    request = Request(next(_ids), trigger, method, path, list(headers), time.time(), peer=peer, scheme=scheme,
                      channel=channel, address=address, parent=_request.get() if chained else None,
                      _clock=time.perf_counter())
    _request.set(request)
    _tell("request_started", request)
    if component is not None:
        _set_component(request, component)
    return request


def http_started(environ: Mapping[str, Any], method: str, path_and_query: str,
                 headers_of: Callable[[Any], list[tuple[str, str]]]) -> Request | None:
    """``start_request`` for the HTTP trigger's WSGI ``environ`` (``headers_of(environ)``: its headers)."""
    if not _observers:
        return None
    port = environ.get("REMOTE_PORT")
    return start_request("http", method, path_and_query, headers_of(environ),
                         peer=(environ.get("REMOTE_ADDR"), int(port) if port else None),
                         scheme=environ.get("wsgi.url_scheme", "http"))


def routed(route: str | None, component: str | None) -> None:
    """The request this thread serves matched ``route`` of ``component`` (None and None: nothing to tell)."""
    request = _request.get() if _observers else None
    if request is None or (route is None and component is None):
        return
    request.route = route
    if component is not None:
        _set_component(request, component)
    _tell("request_routed", request)


def _set_component(request: Request, component: str) -> None:
    request.component = component
    with _in_flight_lock:
        _in_flight.setdefault(component, []).append(request)


def current() -> Request | None:
    """The request this thread serves, for its instance to carry (``seam.Instance.observed``)."""
    return _request.get() if _observers else None


def end_request(request: Request | None, status: int, body: Any = None) -> None:
    """``request`` has its answer: ``status``; ``body`` is a host-made answer's body (bytes),
    whose text is the request's error when the status is 5xx."""
    if request is None or request.ended:
        return
    request.ended = True
    request.status = status
    if request.duration is None:
        request.duration = time.perf_counter() - request._clock
    if status >= 500 and isinstance(body, (bytes, bytearray)) and body and request.error is None:
        request.error = bytes(body).decode("utf-8", "replace").rstrip("\n")
    if _request.get() is request:
        # Not a token reset: a request whose end was never reached (a host bug) must not stay current.
        _request.set(request.parent)
    if request.component is not None:
        with _in_flight_lock:
            waiting = _in_flight.get(request.component)
            if waiting is not None and request in waiting:
                waiting.remove(request)
                if not waiting:
                    del _in_flight[request.component]
            _last_ended[request.component] = (request, time.monotonic())
    _tell("request_ended", request)


def redis_message(channel: str, address: str, components: Iterable[str]) -> None:
    """A message of ``channel`` on the server at ``address`` goes to ``components`` now
    (one server's messages are handled one at a time, so this names the message their
    instances are made for)."""
    if _observers:
        for component in components:
            _redis_channels[component] = (channel, address)


def redis_instance(instance: Any, component: str) -> Any:
    """A Redis message's fresh instance, made the message's request; returns ``instance``.
    Its duration ends when the instance closes (``instance_closed``), and it is told ended
    by ``redis_handled``, which knows how it went."""
    if _observers:
        channel, address = _redis_channels.get(component, (None, None))
        request = start_request("redis", "", channel or "", [], component=component, channel=channel, address=address)
        if request is not None:
            _request.set(None)  # a batch's messages follow one another in this thread
            instance.observed = request
            _redis_pending.__dict__.setdefault("requests", []).append(request)
    return instance


def instance_closed(instance: Any) -> None:
    """A request's instance is done (its turn ended): a Redis message's duration ends here."""
    request = getattr(instance, "observed", None)
    if request is not None and request.trigger == "redis" and request.duration is None:
        request.duration = time.perf_counter() - request._clock


def redis_handled(results: Iterable[str | None], failure: str | None = None) -> None:
    """The Redis messages whose instances this thread made since the last call: ``results``
    (None: handled; else why it failed) for the first ones, then ``failure`` (why the worker
    failed at the next one); any after those did not reach a handler."""
    pending: list[Request] = _redis_pending.__dict__.pop("requests", [])
    results = list(results)
    for index, request in enumerate(pending):
        if index < len(results):
            error = results[index]
        elif index == len(results) and failure is not None:
            error = failure
        else:
            error = "the message did not reach its handler (its worker stopped first)"
        request.error = error
        if request.duration is None:
            request.duration = time.perf_counter() - request._clock
        end_request(request, 0 if error is None else 500)


# --- hooks for the host calls ------------------------------------------------------------


def call(request: Request, instance: Any, handler: Any, capability: str, function: str, args: dict) -> Any:
    """``handler.handle(instance, function, args)``, told to the observers as one host call of ``request``."""
    if not _observers:
        return handler.handle(instance, function, args)
    record = Call(next(_call_ids), request, getattr(instance, "component_id", "") or "", capability, function, args,
                  time.time(), _clock=time.perf_counter())
    _tell("call_started", record)
    token = _call.set(record)
    outer = _request.set(request)
    try:
        record.result = handler.handle(instance, function, args)
        return record.result
    except Exception as error:
        record.error_kind = getattr(error, "kind", None) or "Other"
        record.error = str(getattr(error, "message", None) or error)
        raise
    finally:
        _request.reset(outer)
        _call.reset(token)
        record.duration = time.perf_counter() - record._clock
        record.ended = True
        _tell("call_ended", record)


def annotate(**facts: Any) -> None:
    """Add host-only facts to the host call this thread is answering (llm timings)."""
    record = _call.get() if _observers else None
    if record is not None:
        record.facts.update(facts)


def llm_timings(timings: Any) -> None:
    """An llm call's host-only timings (the engine's HostTimings: ``queued``, ``first_token``,
    seconds, either may be None), as the call's facts ``time_queued`` and ``time_to_first_token``."""
    record = _call.get() if _observers else None
    if record is None or timings is None:
        return
    for attribute, fact in (("queued", "time_queued"), ("first_token", "time_to_first_token")):
        value = getattr(timings, attribute, None)
        if value is not None:
            record.facts[fact] = value


def inject_headers(headers: list[tuple[str, str]], url: str | None = None) -> list[tuple[str, str]]:
    """``headers`` of the outbound HTTP request this thread's host call sends to ``url`` (kept
    as the call's ``facts["url"]``), with what the observers inject set (a header of the same
    name replaced): ``headers`` itself when there is nothing to add."""
    record = _call.get() if _observers else None
    if record is None:
        return headers
    if url is not None:
        record.facts["url"] = url
    added: list[tuple[str, str]] = []
    for observer in _observers:
        try:
            added += observer.inject(record)
        except Exception as error:
            _tell_failure(observer, "inject", error)
    if not added:
        return headers
    names = {name.lower() for name, _ in added}
    return [(name, value) for name, value in headers if name.lower() not in names] + added


# --- hooks for the components' output ----------------------------------------------------


def output(component: str, stream: str, lines: Iterable[str]) -> None:
    """Lines ``component`` wrote on ``stream`` ("stdout", "stderr"), or the host under its name ("host")."""
    if not _observers:
        return
    request = _request.get()
    if request is None or request.component not in (None, component):
        with _in_flight_lock:
            waiting = _in_flight.get(component)
            request = waiting[0] if waiting is not None and len(waiting) == 1 else None
            if waiting is None and component in _last_ended:
                last, ended = _last_ended[component]
                request = last if time.monotonic() - ended <= LATE_LINE else None
    now = time.time()
    for text in lines:
        for line in text.splitlines() or [""]:
            _tell("output", OutputLine(component, stream, line, now, request))
