"""The OpenTelemetry providers and OTLP exporters, one per signal that is on, as Spin's
crates/telemetry/src/{traces,metrics,logs}.rs build them: a batch processor per signal
(spans and log records leave the request's thread at once, into a bounded queue), the
exporter the protocol names, and the resource of crates/telemetry/src/detector.rs.

A collector that is down or slow costs requests nothing: exports run in the processors'
own threads, a full queue drops, and the first failed export to a collector is said in one
line (and its recovery in another); the SDK's own log lines about it are silenced.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.sdk.resources import Resource

from spin_py import __version__
from spin_py.telemetry import env

# crates/telemetry/src/metrics.rs exports every 60 s unless OTEL_METRIC_EXPORT_INTERVAL says
# otherwise, which the SDK's reader reads itself.
SCOPE = "spin"  # the tracer, meter and logger name Spin uses (tracer_provider.tracer("spin"))


class TelemetryConfigError(Exception):
    """Telemetry cannot start as the environment asks (Spin's init fails the same way)."""


def resource() -> Resource:
    """detector.rs: service.name from OTEL_SERVICE_NAME, else OTEL_RESOURCE_ATTRIBUTES, else
    "spin"; service.version is the host's (spin-py's); telemetry.sdk.* as the SDK sets them."""
    created = Resource.create({"service.version": __version__})
    if created.attributes.get("service.name") in (None, "unknown_service"):
        created = created.merge(Resource({"service.name": "spin"}))
    return created


class _Said:
    """One line when exports to a collector start failing, one when all of them work again:
    the signals sent to one endpoint share one of these, so a collector that is down is
    one line, not one per signal."""

    def __init__(self, endpoint: str, say: Callable[[str], None]) -> None:
        self.endpoint = endpoint
        self.say = say
        self.failing: set[str] = set()
        self.lock = threading.Lock()

    def outcome(self, signal: str, ok: bool, why: str = "") -> None:
        with self.lock:
            was = bool(self.failing)
            if ok:
                self.failing.discard(signal)
            else:
                self.failing.add(signal)
            now = bool(self.failing)
        if was and not now:
            self.say(f"telemetry: the OTLP collector at {self.endpoint} answers again")
        elif now and not was:
            self.say(f"telemetry: could not send {signal} to the OTLP collector at {self.endpoint}{why}; "
                     "what is sent there is dropped until it answers (requests are not affected)")


def _endpoint(signal: str) -> str:
    """Where ``signal`` goes, as the exporters read it (for the lines above)."""
    return os.environ.get(f"OTEL_EXPORTER_OTLP_{signal.upper()}_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT", "")


def _said(signal: str, say: Callable[[str], None], known: dict[str, _Said]) -> Callable[..., None]:
    endpoint = _endpoint(signal)
    if endpoint not in known:
        known[endpoint] = _Said(endpoint, say)
    shared = known[endpoint]
    return lambda ok, why="": shared.outcome(signal, ok, why)


def _quiet(exporter: Any, said: Callable[..., None], success: Any) -> Any:
    """``exporter`` whose export() says its failures through ``said(ok, why)`` and never raises."""
    export = exporter.export

    def quiet_export(batch: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            result = export(batch, *args, **kwargs)
        except Exception as error:
            said(False, f" ({error.__class__.__name__})")
            return None
        said(result == success)
        return result

    exporter.export = quiet_export
    return exporter


def _silence_sdk_logs() -> None:
    """The exporters and processors log every failed export (with a traceback) and every
    dropped batch; _Said says it once instead."""
    for name in ("opentelemetry.exporter", "opentelemetry.sdk", "opentelemetry.exporter.otlp"):
        logging.getLogger(name).setLevel(logging.CRITICAL + 1)


@dataclass
class Providers:
    """What is on: each provider or None."""

    span_processor: Any = None  # a BatchSpanProcessor
    meter_provider: Any = None
    logger_provider: Any = None
    shutdowns: list[Callable[[], Any]] = field(default_factory=list)
    resource: Any = None

    def shutdown(self, limit: float = 3.0) -> None:
        """Send what is queued, waiting at most ``limit`` seconds in all (a collector that is
        down must not hold the server's exit)."""
        def run() -> None:
            for shutdown in self.shutdowns:
                try:
                    shutdown()
                except Exception:
                    pass

        thread = threading.Thread(target=run, name="telemetry-shutdown", daemon=True)
        thread.start()
        thread.join(limit)


def _exporter(signal: str, protocol: str) -> Any:
    if protocol == "http/json":
        # traces.rs, metrics.rs, logs.rs: bail!("http/json OTLP protocol is not supported")
        raise TelemetryConfigError(f"failed to initialize otel {_SPIN_SIGNAL[signal]}: http/json OTLP protocol is not supported")
    grpc = protocol == "grpc"
    if signal == "traces":
        if grpc:
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpans

            return GrpcSpans()
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpSpans

        return HttpSpans()
    if signal == "metrics":
        if grpc:
            from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter as GrpcMetrics

            return GrpcMetrics()
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter as HttpMetrics

        return HttpMetrics()
    if grpc:
        from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter as GrpcLogs

        return GrpcLogs()
    from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter as HttpLogs

    return HttpLogs()


# crates/telemetry/src/lib.rs: .context("failed to initialize otel tracing") and its siblings
_SPIN_SIGNAL = {"traces": "tracing", "metrics": "metrics", "logs": "logging"}


def build(signals: Sequence[str], say: Callable[[str], None]) -> Providers:
    """Providers for ``signals`` (those env.enabled says are on); TelemetryConfigError when the
    environment asks for what cannot be (http/json)."""
    protocols = {signal: env.protocol(signal, say) for signal in signals}
    exporters = {signal: _exporter(signal, protocols[signal]) for signal in signals}
    _silence_sdk_logs()
    providers = Providers(resource=resource())
    known: dict[str, _Said] = {}
    shared = providers.resource
    if "traces" in exporters:
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExportResult

        # No TracerProvider: telemetry/recorder.py builds finished spans itself, off the
        # request's thread, and hands them to the batch processor as the SDK's spans end.
        spans = _quiet(exporters["traces"], _said("traces", say, known), SpanExportResult.SUCCESS)
        providers.span_processor = BatchSpanProcessor(spans)
        providers.shutdowns.append(providers.span_processor.shutdown)
    if "metrics" in exporters:
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import MetricExportResult, PeriodicExportingMetricReader

        metrics = _quiet(exporters["metrics"], _said("metrics", say, known), MetricExportResult.SUCCESS)
        meter_provider = MeterProvider(resource=shared, metric_readers=[PeriodicExportingMetricReader(metrics)])
        providers.meter_provider = meter_provider
        providers.shutdowns.append(meter_provider.shutdown)
    if "logs" in exporters:
        from opentelemetry.sdk._logs import LoggerProvider
        from opentelemetry.sdk._logs.export import BatchLogRecordProcessor, LogRecordExportResult

        logger_provider = LoggerProvider(resource=shared)
        logs = _quiet(exporters["logs"], _said("logs", say, known), LogRecordExportResult.SUCCESS)
        logger_provider.add_log_record_processor(BatchLogRecordProcessor(logs))
        providers.logger_provider = logger_provider
        providers.shutdowns.append(logger_provider.shutdown)
    return providers
