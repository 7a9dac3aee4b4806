"""The recorder with only some signals on (a per-signal endpoint each): metrics alone count
requests, logs alone carry lines, and neither needs spans."""

from __future__ import annotations

import time
from typing import Any

from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from spin_py import observe
from spin_py.telemetry.exporting import Providers, resource
from spin_py.telemetry.recorder import TelemetryRecorder

ENVIRON = {"REMOTE_ADDR": "127.0.0.1", "REMOTE_PORT": "1"}


def _serve(path: str, component: str | None) -> None:
    request = observe.http_started(ENVIRON, "GET", path, lambda environ: [])
    if component is not None:
        observe.routed("/...", component)
        observe.output(component, "host", ["said by the host"])  # not the component's log
        observe.output(component, "stdout", ["printed"])
    observe.end_request(request, 200)


def _drain(recorder: TelemetryRecorder) -> None:
    recorder.close(limit=5.0)


def test_metrics_alone_count_requests_that_reach_a_component() -> None:
    reader = InMemoryMetricReader()
    providers = Providers(meter_provider=MeterProvider(metric_readers=[reader]), resource=resource())
    recorder = TelemetryRecorder(providers, lambda: "shop")
    unsubscribe = observe.subscribe(recorder)
    try:
        _serve("/a", "web")
        _serve("/b", "web")
        _serve("/nowhere", None)  # a 404: Spin counts only matched routes
    finally:
        unsubscribe()
        _drain(recorder)
    points: list[Any] = []
    data = reader.get_metrics_data()
    assert data is not None
    for resource_metrics in data.resource_metrics:
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                if metric.name == "spin.request_count":
                    points += metric.data.data_points
    assert [(dict(point.attributes), point.value) for point in points] == [
        ({"trigger_type": "http", "app_id": "shop", "component_id": "web"}, 2)]


def test_logs_alone_carry_the_components_lines() -> None:
    exported = InMemoryLogRecordExporter()
    logger_provider = LoggerProvider(resource=resource())
    logger_provider.add_log_record_processor(SimpleLogRecordProcessor(exported))
    recorder = TelemetryRecorder(Providers(logger_provider=logger_provider, resource=resource()), lambda: "shop")
    unsubscribe = observe.subscribe(recorder)
    try:
        _serve("/a", "web")
    finally:
        unsubscribe()
        _drain(recorder)
    deadline = time.monotonic() + 5
    while not exported.get_finished_logs():
        assert time.monotonic() < deadline
        time.sleep(0.01)
    records = [data.log_record for data in exported.get_finished_logs()]
    assert [(record.body, dict(record.attributes or {})) for record in records] == [("printed", {"component_id": "web"})]
