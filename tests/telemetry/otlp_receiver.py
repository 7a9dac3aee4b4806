"""A real OTLP/HTTP receiver on loopback: what `spin-py up` exports, decoded with
opentelemetry-proto. It also answers ``GET /echo`` with the headers it was sent, so a
component's outbound request can show what the host added (the traceparent)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest, ExportLogsServiceResponse
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest, ExportTraceServiceResponse
from opentelemetry.proto.common.v1.common_pb2 import AnyValue


def value_of(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    return getattr(value, kind) if kind is not None else None


def attributes_of(pairs: Any) -> dict[str, Any]:
    return {pair.key: value_of(pair.value) for pair in pairs}


@dataclass
class Span:
    name: str
    kind: int
    trace_id: str
    span_id: str
    parent_id: str
    attributes: dict[str, Any]
    status_code: int
    status_message: str
    events: list[tuple[str, dict[str, Any]]]
    resource: dict[str, Any]


@dataclass
class Received:
    spans: list[Span] = field(default_factory=list)
    logs: list[dict[str, Any]] = field(default_factory=list)
    metrics: list[tuple[str, int, dict[str, Any]]] = field(default_factory=list)  # (name, value, attributes)
    paths: list[str] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)  # of the last export
    lock: threading.Lock = field(default_factory=threading.Lock)


def _spans(body: bytes) -> list[Span]:
    request = ExportTraceServiceRequest()
    request.ParseFromString(body)
    found = []
    for resource_spans in request.resource_spans:
        resource = attributes_of(resource_spans.resource.attributes)
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                found.append(Span(
                    span.name, span.kind, span.trace_id.hex(), span.span_id.hex(), span.parent_span_id.hex(),
                    attributes_of(span.attributes), span.status.code, span.status.message,
                    [(event.name, attributes_of(event.attributes)) for event in span.events], resource,
                ))
    return found


def _logs(body: bytes) -> list[dict[str, Any]]:
    request = ExportLogsServiceRequest()
    request.ParseFromString(body)
    found = []
    for resource_logs in request.resource_logs:
        for scope_logs in resource_logs.scope_logs:
            for record in scope_logs.log_records:
                found.append({"body": value_of(record.body), "attributes": attributes_of(record.attributes),
                              "trace_id": record.trace_id.hex(), "span_id": record.span_id.hex()})
    return found


def _metrics(body: bytes) -> list[tuple[str, int, dict[str, Any]]]:
    request = ExportMetricsServiceRequest()
    request.ParseFromString(body)
    found = []
    for resource_metrics in request.resource_metrics:
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                if metric.WhichOneof("data") == "sum":
                    for point in metric.sum.data_points:
                        found.append((metric.name, point.as_int, attributes_of(point.attributes)))
    return found


_DECODERS: dict[str, tuple[Callable[[bytes], list[Any]], str, Any]] = {
    "/v1/traces": (_spans, "spans", ExportTraceServiceResponse),
    "/v1/logs": (_logs, "logs", ExportLogsServiceResponse),
    "/v1/metrics": (_metrics, "metrics", ExportMetricsServiceResponse),
}


class OtlpReceiver:
    def __init__(self) -> None:
        self.received = Received()
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                decoder = _DECODERS.get(self.path)
                if decoder is None:
                    self.send_error(404)
                    return
                decode, where, response = decoder
                with received.lock:
                    received.paths.append(self.path)
                    received.headers = {name.lower(): value for name, value in self.headers.items()}
                    getattr(received, where).extend(decode(body))
                answer = response().SerializeToString()
                self.send_response(200)
                self.send_header("content-type", "application/x-protobuf")
                self.send_header("content-length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def do_GET(self) -> None:
                answer = json.dumps({name.lower(): value for name, value in self.headers.items()}).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def wait_for(self, found: Callable[[Received], Any], timeout: float = 15.0) -> Any:
        """Poll until ``found(received)`` is truthy; returns it."""
        deadline = time.monotonic() + timeout
        while True:
            with self.received.lock:
                result = found(self.received)
            if result:
                return result
            if time.monotonic() > deadline:
                raise TimeoutError(f"not received in {timeout}s: {self.received.paths}, spans "
                                   f"{[s.name for s in self.received.spans]}")
            time.sleep(0.05)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
