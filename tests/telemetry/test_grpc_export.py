"""OTEL_EXPORTER_OTLP_PROTOCOL=grpc: the recorder's spans reach a real OTLP/gRPC receiver
(grpcio, with opentelemetry-proto's service definitions) on loopback."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent import futures
from typing import Any

import grpc  # type: ignore[import-untyped]
import pytest
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

from spin_py import observe
from spin_py.telemetry.exporting import build
from spin_py.telemetry.recorder import TelemetryRecorder

pytestmark = pytest.mark.live  # a gRPC server, and the exporter's clock


class Traces(trace_service_pb2_grpc.TraceServiceServicer):
    def __init__(self) -> None:
        self.names: list[str] = []

    def Export(self, request: Any, context: Any) -> Any:  # the service's method name
        for resource_spans in request.resource_spans:
            for scope_spans in resource_spans.scope_spans:
                self.names += [span.name for span in scope_spans.spans]
        return trace_service_pb2.ExportTraceServiceResponse()


@pytest.fixture
def receiver() -> Iterator[tuple[Traces, int]]:
    traces = Traces()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(traces, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield traces, port
    server.stop(None)


def test_spans_over_grpc(receiver: tuple[Traces, int], monkeypatch: pytest.MonkeyPatch) -> None:
    traces, port = receiver
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
    said: list[str] = []
    providers = build(["traces"], said.append)
    recorder = TelemetryRecorder(providers, lambda: "app", say=said.append)
    unsubscribe = observe.subscribe(recorder)
    try:
        request = observe.http_started({"REMOTE_ADDR": "127.0.0.1", "REMOTE_PORT": "1"}, "GET", "/x", lambda environ: [])
        observe.routed("/...", "web")
        observe.end_request(request, 200)
    finally:
        unsubscribe()
        recorder.close()
        providers.shutdown()
    deadline = time.monotonic() + 10
    while set(traces.names) != {"GET /...", "execute_wasm_component web"}:
        assert time.monotonic() < deadline, (traces.names, said)
        time.sleep(0.05)
    assert said == []
