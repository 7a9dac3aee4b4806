"""A collector that takes the connection and never answers: requests go on at full speed
(their thread only queues), what cannot be sent is dropped, and the server's exit waits
for it a few seconds at most."""

from __future__ import annotations

import socket
import time

import pytest

from spin_py import observe
from spin_py.telemetry.exporting import build
from spin_py.telemetry.recorder import TelemetryRecorder

pytestmark = pytest.mark.live  # a listening socket, and clocks


def test_a_silent_collector_costs_requests_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    silent = socket.create_server(("127.0.0.1", 0))  # accepts (the kernel's backlog), never reads or answers
    try:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", f"http://127.0.0.1:{silent.getsockname()[1]}/v1/traces")
        monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "10")
        said: list[str] = []
        providers = build(["traces"], said.append)
        recorder = TelemetryRecorder(providers, lambda: "app", say=said.append)
        unsubscribe = observe.subscribe(recorder)
        environ = {"REMOTE_ADDR": "127.0.0.1", "REMOTE_PORT": "1"}
        try:
            started = time.perf_counter()
            for _ in range(5000):  # more spans than the batch processor's queue holds (2048)
                request = observe.http_started(environ, "GET", "/x", lambda environ: [])
                observe.routed("/...", "web")
                observe.end_request(request, 200)
            spent = time.perf_counter() - started
        finally:
            unsubscribe()
        assert spent < 5.0, spent  # no request waited for the collector (an export waits up to 10 s)
        closing = time.perf_counter()
        recorder.close()
        providers.shutdown(limit=3.0)
        assert time.perf_counter() - closing < 8.0
    finally:
        silent.close()
