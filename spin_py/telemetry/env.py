"""Which signals are on, and how they are sent, from the environment Spin reads
(crates/telemetry/src/env.rs). Everything else the exporters read themselves, as Spin's do:
the endpoints (a per-signal ``OTEL_EXPORTER_OTLP_<SIGNAL>_ENDPOINT`` is used as it is; the
general one gets ``/v1/traces``, ``/v1/metrics``, ``/v1/logs`` added for http/protobuf),
``OTEL_EXPORTER_OTLP_HEADERS`` (and per signal), ``OTEL_EXPORTER_OTLP_TIMEOUT``,
``OTEL_SERVICE_NAME`` and ``OTEL_RESOURCE_ATTRIBUTES``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping

SIGNALS = ("traces", "metrics", "logs")
PROTOCOLS = ("grpc", "http/protobuf", "http/json")
DEFAULT_PROTOCOL = "http/protobuf"


def _set(environ: Mapping[str, str], *names: str) -> bool:
    """env.rs any_vars_set: set and not empty."""
    return any(environ.get(name) for name in names)


def sdk_disabled(environ: Mapping[str, str] = os.environ) -> bool:
    """env.rs otel_sdk_disabled: OTEL_SDK_DISABLED set and not empty (whatever its value, as Spin reads it)."""
    return _set(environ, "OTEL_SDK_DISABLED")


def enabled(signal: str, environ: Mapping[str, str] = os.environ) -> bool:
    """env.rs otel_tracing_enabled / otel_metrics_enabled / otel_logs_enabled: the general or the
    signal's own endpoint is set, and the SDK is not disabled."""
    return _set(environ, "OTEL_EXPORTER_OTLP_ENDPOINT", f"OTEL_EXPORTER_OTLP_{signal.upper()}_ENDPOINT") \
        and not sdk_disabled(environ)


def log_to_tracing_disabled(environ: Mapping[str, str] = os.environ) -> bool:
    """env.rs spin_disable_log_to_tracing: the components' output is not added to their spans as events."""
    return _set(environ, "SPIN_DISABLE_LOG_TO_TRACING")


def protocol(signal: str, warn: Callable[[str], None], environ: Mapping[str, str] = os.environ) -> str:
    """env.rs protocol_from_env: the signal's own protocol, else the general one, else
    http/protobuf; an unknown one is warned about once and taken as http/protobuf."""
    value = environ.get(f"OTEL_EXPORTER_OTLP_{signal.upper()}_PROTOCOL") or environ.get("OTEL_EXPORTER_OTLP_PROTOCOL") \
        or DEFAULT_PROTOCOL
    if value not in PROTOCOLS:
        _warn_once(warn, f"Warning: '{value}' is not a valid OTLP protocol, defaulting to http/protobuf")
        return DEFAULT_PROTOCOL
    return value


_warned: set[str] = set()


def _warn_once(warn: Callable[[str], None], text: str) -> None:
    # env.rs: one WARN_ONCE for all signals.
    if not _warned:
        _warned.add(text)
        warn(text)
