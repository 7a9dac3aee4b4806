"""Spin's spans, metric and log records, made from what the host reports (spin_py/observe.py).

Per HTTP request (crates/trigger-http/src/instrument.rs, server.rs):
- ``spin_trigger_http.handle_http_request``, kind server, the child of the client's
  ``traceparent`` when it sent one (server.rs: extract_trace_context), with Spin's
  attributes; once answered it is renamed ``<method> <route>`` (``<method>`` when no route
  matched) and gets ``http.route``, ``http.response.status_code`` and, when the host made a
  5xx answer (the handler failed), ``error.type``.
- under it, for a matched component, ``execute_wasm_component <id>``
  (``spin_trigger_http.execute_wasm``, spin.rs/wasi.rs), and under that one span per host
  call (telemetry/spans.py); an outbound HTTP call's span is what its ``traceparent`` names.
- a request one component sends another (service chaining) has no server span of its own,
  as Spin's interceptor calls handle_trigger_route directly: its execute span is the child
  of the caller's outbound span.
Per Redis message (crates/trigger-redis/src/lib.rs): ``<channel> receive``
(``spin_trigger_redis.handle_message``), kind consumer, its host calls under it.
Metric: ``spin.request_count`` (trigger_type, app_id, component_id) per request that
reaches a component. Logs: each line a component writes, body the line, attribute
``component_id`` (logs.rs), in the trace of its request where the host can tell; and, as
Spin's app_log_to_tracing_event, an ``app_log`` event on that request's span unless
SPIN_DISABLE_LOG_TO_TRACING is set.

The request's thread only draws the ids (so that an outbound request can carry its
traceparent at once) and queues what ended; the spans, log records and counts are made
by one thread of the recorder's own, from a bounded queue, and handed to the SDK's batch
processors, whose threads export them. A queue that is full drops, and says so once.
"""

from __future__ import annotations

import queue
import random
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, Status, StatusCode, TraceFlags, TraceState

from spin_py import observe
from spin_py.telemetry import spans
from spin_py.telemetry.exporting import SCOPE, Providers

_KINDS = {"client": SpanKind.CLIENT, "producer": SpanKind.PRODUCER}
_SAMPLED = TraceFlags(TraceFlags.SAMPLED)
MOST_QUEUED = 20_000  # ended requests, calls and lines waiting to become telemetry
_STOP = object()


def _ns(seconds: float) -> int:
    return int(seconds * 1e9)


def _new_id(bits: int) -> int:
    found = 0
    while not found:
        found = random.getrandbits(bits)
    return found


def parse_traceparent(value: str | None) -> tuple[int, int, bool] | None:
    """W3C Trace Context: ``(trace id, parent span id, sampled)`` of a valid version-00
    header (later versions read as 00 does), else None."""
    if value is None:
        return None
    parts = value.strip().split("-")
    if len(parts) < 4 or len(parts[0]) != 2 or parts[0] == "ff" or (parts[0] == "00" and len(parts) != 4):
        return None
    version, trace_hex, span_hex, flags = parts[:4]
    if len(trace_hex) != 32 or len(span_hex) != 16 or len(flags) != 2:
        return None
    try:
        trace_id, span_id, flag_bits = int(trace_hex, 16), int(span_hex, 16), int(flags, 16)
        int(version, 16)
    except ValueError:
        return None
    if not trace_id or not span_id or trace_hex != trace_hex.lower() or span_hex != span_hex.lower():
        return None
    return trace_id, span_id, bool(flag_bits & 1)


class _Ids:
    """One request's trace: its id, the span its own span is the child of, and the ids of
    its own and its execution span, drawn when it starts."""

    __slots__ = ("events", "execute_id", "execute_start", "own_id", "parent_id", "remote_parent", "sampled", "trace_id",
                 "trace_state")

    def __init__(self, trace_id: int, parent_id: int | None, remote_parent: bool, sampled: bool, own: bool) -> None:
        self.trace_id = trace_id
        self.parent_id = parent_id
        self.remote_parent = remote_parent
        self.sampled = sampled
        self.own_id = _new_id(64) if own else None
        self.execute_id: int | None = None
        self.execute_start = 0
        self.events: list[Event] = []  # app_log events of lines written before the request ended
        self.trace_state: str | None = None  # the client's tracestate, passed on as Spin's propagator does

    def calls_parent(self) -> int | None:
        return self.execute_id or self.own_id or self.parent_id


class TelemetryRecorder(observe.Observer):
    def __init__(self, providers: Providers, app_name: Callable[[], str], events: bool = True,
                 say: Callable[[str], None] = print) -> None:
        self.processor = providers.span_processor
        self.resource = providers.resource
        self.scope = InstrumentationScope(SCOPE)
        self.logger = providers.logger_provider.get_logger(SCOPE) if providers.logger_provider else None
        self.counts: dict[tuple[str, str, str], int] = {}
        if providers.meter_provider is not None:
            # crates/trigger-http/src/server.rs, crates/trigger-redis/src/lib.rs: counter!(spin.request_count = 1, ...).
            # Counted by the recorder's thread and reported when the reader collects: the same monotonic sum.
            providers.meter_provider.get_meter(SCOPE).create_observable_counter(
                "spin.request_count", callbacks=[self._observe_counts])
        self.tracing = self.processor is not None
        self.app_name = app_name
        self.events = events and self.tracing
        self.say = say
        self.queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self.dropped = False
        self.thread = threading.Thread(target=self._run, name="telemetry", daemon=True)
        self.thread.start()

    # --- the request's thread: ids only, then queue ---------------------------------------

    def _queue(self, item: tuple[str, Any]) -> None:
        if self.queue.qsize() >= MOST_QUEUED:
            if not self.dropped:
                self.dropped = True
                self.say("telemetry: more was reported than could be sent; some is dropped (requests are not affected)")
            return
        self.queue.put(item)

    def request_started(self, request: observe.Request) -> None:
        if not self.tracing:
            return
        if request.trigger == "redis":
            request.data[self] = _Ids(_new_id(128), None, False, True, own=True)
            return
        # server.rs extract_trace_context; a chained request's headers carry what its caller's call injected
        incoming = parse_traceparent(request.header("traceparent"))
        if incoming is None:
            ids = _Ids(_new_id(128), None, False, True, own=request.parent is None)
        else:
            ids = _Ids(incoming[0], incoming[1], True, incoming[2], own=request.parent is None)
            ids.trace_state = request.header("tracestate")
        request.data[self] = ids

    def request_routed(self, request: observe.Request) -> None:
        ids = request.data.get(self)
        if ids is not None and request.component is not None:
            ids.execute_id = _new_id(64)
            ids.execute_start = time.time_ns()

    def request_ended(self, request: observe.Request) -> None:
        self._queue(("request", request))

    def call_started(self, call: observe.Call) -> None:
        ids = call.request.data.get(self)
        if ids is not None and spans.call_span(call.capability, call.function, call.args) is not None:
            call.data[self] = _new_id(64)

    def call_ended(self, call: observe.Call) -> None:
        if self in call.data:
            self._queue(("call", call))

    def inject(self, call: observe.Call) -> list[tuple[str, str]]:
        span_id = call.data.get(self)
        ids = call.request.data.get(self)
        if span_id is None or ids is None:
            return []
        headers = [("traceparent", f"00-{ids.trace_id:032x}-{span_id:016x}-{'01' if ids.sampled else '00'}")]
        if ids.trace_state:
            headers.append(("tracestate", ids.trace_state))
        return headers

    def output(self, line: observe.OutputLine) -> None:
        if line.stream == "host":
            return  # spin-py's own lines about a component are not the component's log
        ids = line.request.data.get(self) if line.request is not None else None
        if self.events and ids is not None:
            # logs.rs app_log_to_tracing_event: the line as an event of the span it was written under
            ids.events.append(Event("app_log", {"app_log": line.text}, _ns(line.time)))
        if self.logger is not None:
            self._queue(("line", line))

    # --- the recorder's thread -----------------------------------------------------------

    def _run(self) -> None:
        while True:
            item = self.queue.get()
            if item is _STOP:
                return
            kind, event = item
            try:
                if kind == "request":
                    # Lines its component's pipes bring a little after its end are still its (observe.LATE_LINE)
                    wait = event.started + (event.duration or 0.0) + observe.LATE_LINE - time.time()
                    if wait > 0:
                        time.sleep(min(wait, observe.LATE_LINE))
                    self._request(event)
                elif kind == "call":
                    self._call(event)
                else:
                    self._line(event)
            except Exception as error:  # a bad value must not stop the recorder
                if not getattr(self, "_failed", False):
                    self._failed = True
                    self.say(f"telemetry: could not record a {kind} ({error!r}); it was skipped")

    def close(self, limit: float = 2.0) -> None:
        """Record what is queued (at most ``limit`` seconds), then stop."""
        self.queue.put(_STOP)
        self.thread.join(limit)

    def _span(self, name: str, ids: _Ids, span_id: int, parent_id: int | None, kind: SpanKind, attributes: dict[str, Any],
              start: int, end: int, status: Status | None = None, events: Iterable[Event] = (), remote: bool = False) -> None:
        if not ids.sampled:
            return
        state = TraceState.from_header([ids.trace_state]) if ids.trace_state else None
        parent = None
        if parent_id is not None:
            parent = SpanContext(ids.trace_id, parent_id, is_remote=remote, trace_flags=_SAMPLED, trace_state=state)
        self.processor.on_end(ReadableSpan(
            name, SpanContext(ids.trace_id, span_id, is_remote=False, trace_flags=_SAMPLED, trace_state=state), parent,
            self.resource,
            attributes, tuple(events), kind=kind, status=status or Status(StatusCode.UNSET),
            start_time=start, end_time=end, instrumentation_scope=self.scope))

    def _count(self, request: observe.Request, trigger: str) -> None:
        try:
            app = self.app_name()
        except Exception:
            app = "<unnamed>"
        key = (trigger, app, request.component or "")
        self.counts[key] = self.counts.get(key, 0) + 1

    def _observe_counts(self, options: Any) -> list[Any]:
        from opentelemetry.metrics import Observation

        return [Observation(value, {"trigger_type": trigger, "app_id": app, "component_id": component})
                for (trigger, app, component), value in list(self.counts.items())]

    def _request(self, request: observe.Request) -> None:
        if request.component is not None:
            self._count(request, request.trigger)
        ids = request.data.get(self)
        if ids is None:
            return
        start, end = _ns(request.started), _ns(request.started + (request.duration or 0.0))
        failed = Status(StatusCode.ERROR, request.error.splitlines()[-1]) if request.error else None
        if request.trigger == "redis":
            # crates/trigger-redis/src/lib.rs: #[instrument(name = "spin_trigger_redis.handle_message", fields(
            # otel.name = format!("{} receive", channel), otel.kind = "consumer", messaging.*))]
            assert ids.own_id is not None
            self._span(f"{request.channel or ''} receive", ids, ids.own_id, None, SpanKind.CONSUMER,
                       {"messaging.operation": "receive", "messaging.system": "redis"}, start, end, failed, ids.events)
            return
        if ids.execute_id is not None:
            # spin.rs/wasi.rs: #[instrument(name = "spin_trigger_http.execute_wasm", fields(otel.name =
            # format!("execute_wasm_component {}", route_match.lookup_key())))]
            self._span(f"execute_wasm_component {request.component}", ids, ids.execute_id, ids.own_id or ids.parent_id,
                       SpanKind.INTERNAL, {}, ids.execute_start, end, failed, ids.events, remote=ids.own_id is None)
        if ids.own_id is None:
            return  # a chained request: no server span (see the module docstring)
        self._span(_http_name(request), ids, ids.own_id, ids.parent_id, SpanKind.SERVER, _http_attributes(request),
                   start, end, None, () if ids.execute_id else ids.events, remote=ids.remote_parent)

    def _call(self, call: observe.Call) -> None:
        ids = call.request.data.get(self)
        made = spans.call_span(call.capability, call.function, call.args)
        if ids is None or made is None:
            return
        attributes = dict(made.attributes)
        status = None
        if call.error is not None:
            status = Status(StatusCode.ERROR, call.error)  # err(level = Level::INFO): the error's text
            attributes["error.type"] = call.error_kind or "Other"
        else:
            attributes.update(spans.ended_attributes(call.capability, call.function, call.result, call.facts))
        start = _ns(call.started)
        self._span(made.name, ids, call.data[self], ids.calls_parent(), _KINDS[made.kind], attributes, start,
                   start + _ns(call.duration or 0.0), status)

    def _line(self, line: observe.OutputLine) -> None:
        assert self.logger is not None
        ids = line.request.data.get(self) if line.request is not None else None
        context = None
        if ids is not None and ids.sampled and ids.calls_parent() is not None:
            parent = ids.calls_parent()
            assert parent is not None
            span = NonRecordingSpan(SpanContext(ids.trace_id, parent, is_remote=False, trace_flags=_SAMPLED))
            context = trace.set_span_in_context(span)
        # logs.rs app_log_to_otel: the body, and component_id
        self.logger.emit(timestamp=_ns(line.time), observed_timestamp=time.time_ns(), context=context,
                         body=line.text, attributes={"component_id": line.component})


def _http_name(request: observe.Request) -> str:
    # instrument.rs finalize_http_span: otel.name is "<method> <route>", or the method alone
    return f"{request.method} {request.route}" if request.route is not None else request.method


def _http_attributes(request: observe.Request) -> dict[str, Any]:
    """instrument.rs http_span! and finalize_http_span."""
    path, _, query = request.path.partition("?")
    host, port = request.peer
    attributes: dict[str, Any] = {
        "http.request.method": request.method,
        "network.peer.address": host or "",
        "network.peer.port": port or 0,
        "network.protocol.name": "http",
        "url.path": path,
        "url.query": query,
        # the request URI's scheme, which an incoming request's URI (a path) does not have
        "url.scheme": "",
    }
    forwarded = request.header("x-forwarded-for")
    if forwarded is not None:
        attributes["client.address"] = forwarded
    if request.route is not None:
        attributes["http.route"] = request.route
    if request.status is not None:
        attributes["http.response.status_code"] = request.status
    if request.error is not None:
        attributes["error.type"] = request.error  # instrument_error: format!("{err:?}")
    return attributes
