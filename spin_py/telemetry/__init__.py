"""OpenTelemetry from the host, as Spin emits it (crates/telemetry): spans, the
``spin.request_count`` metric and the components' output as log records, sent over OTLP
when the environment asks for them, exactly as it does for `spin up`
(``OTEL_EXPORTER_OTLP_ENDPOINT`` or a per-signal endpoint; ``OTEL_SDK_DISABLED``).

``start`` is all the dev server calls. With no endpoint set it imports nothing of
OpenTelemetry and subscribes nothing, so requests cost what they did; the guest never
sees any of it. What is emitted: telemetry/recorder.py and telemetry/spans.py.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping

import click

from spin_py.telemetry import env


class TelemetryError(click.ClickException):
    """The environment asks for telemetry that cannot be: one line, and `spin-py up` stops."""


def wanted(environ: Mapping[str, str] = os.environ) -> list[str]:
    """The signals the environment turns on (env.rs)."""
    return [signal for signal in env.SIGNALS if env.enabled(signal, environ)]


def start(say: Callable[[str], None], app_name: Callable[[], str]) -> Callable[[], None]:
    """Start what the environment asks for; returns the function that sends what is queued
    and stops (a collector that is down holds it a few seconds at most)."""
    signals = wanted()
    if not signals:
        return lambda: None
    from spin_py import observe
    from spin_py.telemetry.exporting import TelemetryConfigError, build
    from spin_py.telemetry.recorder import TelemetryRecorder

    try:
        providers = build(signals, say)
    except TelemetryConfigError as error:
        raise TelemetryError(str(error)) from None
    recorder = TelemetryRecorder(providers, app_name, events=not env.log_to_tracing_disabled(), say=say)
    unsubscribe = observe.subscribe(recorder)

    def stop() -> None:
        unsubscribe()
        recorder.close()
        providers.shutdown()

    return stop
