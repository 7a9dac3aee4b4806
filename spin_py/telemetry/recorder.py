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
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from spin_py import observe
from spin_py.telemetry import spans
from spin_py.telemetry.exporting import SCOPE, Providers

_KINDS = {"client": SpanKind.CLIENT, "producer": SpanKind.PRODUCER, "server": SpanKind.SERVER,
          "consumer": SpanKind.CONSUMER}
_PROPAGATOR = TraceContextTextMapPropagator()


def _ns(seconds: float) -> int:
    return int(seconds * 1e9)


class _RequestSpans:
    """One request's spans: its own (server or consumer, None for a chained request) and
    the component's execution, the parent of its host calls."""

    __slots__ = ("execute", "own", "parent_context")

    def __init__(self, own: Span | None, parent_context: Any) -> None:
        self.own = own
        self.execute: Span | None = None
        self.parent_context = parent_context  # what the execution span is made under

    def calls_context(self) -> Any:
        span = self.execute or self.own
        return trace.set_span_in_context(span) if span is not None else self.parent_context


class TelemetryRecorder(observe.Observer):
    def __init__(self, providers: Providers, app_name: Callable[[], str], events: bool = True) -> None:
        self.tracer = providers.tracer_provider.get_tracer(SCOPE) if providers.tracer_provider else None
        self.logger = providers.logger_provider.get_logger(SCOPE) if providers.logger_provider else None
        self.requests = None
        if providers.meter_provider is not None:
            # crates/trigger-http/src/server.rs, crates/trigger-redis/src/lib.rs: counter!(spin.request_count = 1, ...)
            self.requests = providers.meter_provider.get_meter(SCOPE).create_counter("spin.request_count")
        self.app_name = app_name
        self.events = events

    # --- requests ------------------------------------------------------------------------

    def request_started(self, request: observe.Request) -> None:
        if self.tracer is None:
            return
        if request.trigger == "redis":
            # crates/trigger-redis/src/lib.rs: #[instrument(name = "spin_trigger_redis.handle_message", ...)]
            own = self.tracer.start_span(
                f"{request.channel or ''} receive", context=otel_context.Context(), kind=SpanKind.CONSUMER,
                attributes={"messaging.operation": "receive", "messaging.system": "redis"},
                start_time=_ns(request.started))
            request.data[self] = _RequestSpans(own, trace.set_span_in_context(own))
            return
        incoming = _PROPAGATOR.extract({name.lower(): value for name, value in request.headers})
        if request.parent is not None:
            request.data[self] = _RequestSpans(None, incoming)
            return
        path, _, query = request.path.partition("?")
        host, port = request.peer
        # crates/trigger-http/src/instrument.rs http_span!: url.scheme is the request URI's
        # scheme, which an incoming request's URI (a path) does not have.
        attributes: dict[str, Any] = {
            "http.request.method": request.method,
            "network.peer.address": host or "",
            "network.peer.port": port or 0,
            "network.protocol.name": "http",
            "url.path": path,
            "url.query": query,
            "url.scheme": "",
        }
        forwarded = request.header("x-forwarded-for")
        if forwarded is not None:
            attributes["client.address"] = forwarded
        own = self.tracer.start_span("spin_trigger_http.handle_http_request", context=incoming, kind=SpanKind.SERVER,
                                     attributes=attributes, start_time=_ns(request.started))
        request.data[self] = _RequestSpans(own, trace.set_span_in_context(own))

    def request_routed(self, request: observe.Request) -> None:
        if request.component is None:
            return
        self._count(request, "http")
        held = request.data.get(self)
        if held is None or self.tracer is None:
            return
        # spin.rs/wasi.rs: #[instrument(name = "spin_trigger_http.execute_wasm", fields(otel.name =
        # format!("execute_wasm_component {}", route_match.lookup_key())))]
        held.execute = self.tracer.start_span(f"execute_wasm_component {request.component}", context=held.parent_context)

    def _count(self, request: observe.Request, trigger: str) -> None:
        if self.requests is not None:
            try:
                app = self.app_name()
            except Exception:
                app = "<unnamed>"
            self.requests.add(1, {"trigger_type": trigger, "app_id": app, "component_id": request.component or ""})

    def request_ended(self, request: observe.Request) -> None:
        if request.trigger == "redis":
            self._count(request, "redis")
        held = request.data.get(self)
        if held is None:
            return
        end = _ns(request.started + (request.duration or 0.0))
        if held.execute is not None:
            if request.error is not None:
                held.execute.set_status(Status(StatusCode.ERROR, request.error.splitlines()[-1] if request.error else None))
            held.execute.end(end)
        own = held.own
        if own is None:
            return
        if request.trigger == "redis":
            if request.error is not None:
                own.set_status(Status(StatusCode.ERROR, request.error.splitlines()[-1]))
            own.end(end)
            return
        # instrument.rs finalize_http_span: otel.name and http.route from the matched route
        if request.route is not None:
            own.set_attribute("http.route", request.route)
            own.update_name(f"{request.method} {request.route}")
        else:
            own.update_name(request.method)
        if request.status is not None:
            own.set_attribute("http.response.status_code", request.status)
        if request.error is not None:
            own.set_attribute("error.type", request.error)  # instrument_error: format!("{err:?}")
        own.end(end)

    # --- host calls ----------------------------------------------------------------------

    def call_started(self, call: observe.Call) -> None:
        if self.tracer is None:
            return
        held = call.request.data.get(self)
        made = spans.call_span(call.capability, call.function, call.args)
        if held is None or made is None:
            return
        call.data[self] = self.tracer.start_span(made.name, context=held.calls_context(), kind=_KINDS[made.kind],
                                                 attributes=made.attributes, start_time=_ns(call.started))

    def call_ended(self, call: observe.Call) -> None:
        span = call.data.get(self)
        if span is None:
            return
        if call.error is not None:
            span.set_status(Status(StatusCode.ERROR, call.error))  # err(level = Level::INFO): the error's text
            span.set_attribute("error.type", call.error_kind or "Other")
        else:
            for key, value in spans.ended_attributes(call.capability, call.function, call.result, call.facts).items():
                span.set_attribute(key, value)
        span.end(_ns(call.started + (call.duration or 0.0)))

    def inject(self, call: observe.Call) -> list[tuple[str, str]]:
        span = call.data.get(self)
        if span is None:
            return []
        carrier: dict[str, str] = {}
        _PROPAGATOR.inject(carrier, context=trace.set_span_in_context(span))
        return list(carrier.items())

    # --- output --------------------------------------------------------------------------

    def output(self, line: observe.OutputLine) -> None:
        if line.stream == "host":
            return  # spin-py's own lines about a component are not the component's log
        held = line.request.data.get(self) if line.request is not None else None
        span = None
        if held is not None:
            span = held.execute or held.own
        if self.events and span is not None and span.is_recording():
            span.add_event("app_log", {"app_log": line.text}, _ns(line.time))  # logs.rs app_log_to_tracing_event
        if self.logger is not None:
            # logs.rs app_log_to_otel: the body, and component_id
            self.logger.emit(timestamp=_ns(line.time), observed_timestamp=time.time_ns(),
                             context=trace.set_span_in_context(span) if span is not None else None,
                             body=line.text, attributes={"component_id": line.component})
