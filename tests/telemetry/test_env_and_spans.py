"""The environment as Spin reads it (crates/telemetry/src/env.rs), the W3C traceparent as
the host reads it, and the span table of host calls (crates/factor-*/src/host.rs)."""

from __future__ import annotations

import pytest

from spin_py.telemetry import TelemetryError, env, start, wanted
from spin_py.telemetry.recorder import parse_traceparent
from spin_py.telemetry.spans import call_span, ended_attributes


def test_signals_follow_the_general_and_per_signal_endpoints() -> None:
    assert wanted({}) == []
    assert wanted({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}) == ["traces", "metrics", "logs"]
    assert wanted({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:4318/v1/traces"}) == ["traces"]
    assert wanted({"OTEL_EXPORTER_OTLP_ENDPOINT": ""}) == []  # set but empty: off, as any_vars_set
    # OTEL_SDK_DISABLED set and not empty turns everything off, whatever its value (env.rs)
    assert wanted({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_SDK_DISABLED": "false"}) == []


def test_protocol_per_signal_then_general_then_default() -> None:
    said: list[str] = []
    assert env.protocol("traces", said.append, {}) == "http/protobuf"
    assert env.protocol("traces", said.append, {"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}) == "grpc"
    assert env.protocol("logs", said.append, {"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
                                              "OTEL_EXPORTER_OTLP_LOGS_PROTOCOL": "http/protobuf"}) == "http/protobuf"
    assert said == []


def test_http_json_fails_startup_as_spin_does(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://127.0.0.1:9/v1/traces")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")
    with pytest.raises(TelemetryError, match=r"^failed to initialize otel tracing: http/json OTLP protocol is not supported$"):
        start(lambda line: None, lambda: "app")


def test_nothing_starts_without_an_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
                 "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    from spin_py import observe

    before = observe.watching()
    stop = start(lambda line: None, lambda: "app")
    assert observe.watching() == before
    stop()


def test_traceparent() -> None:
    assert parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01") == (
        0x4bf92f3577b34da6a3ce929d0e0e4736, 0x00f067aa0ba902b7, True)
    assert parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00")[2] is False  # type: ignore[index]
    for bad in (None, "", "00-" + "0" * 32 + "-00f067aa0ba902b7-01", "00-4bf92f3577b34da6a3ce929d0e0e4736-" + "0" * 16 + "-01",
                "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra", "00-xyz-00f067aa0ba902b7-01"):
        assert parse_traceparent(bad) is None, bad


@pytest.mark.parametrize(("capability", "function", "args", "name", "attributes"), [
    ("key_value", "open", {"label": "default"}, "spin_key_value.open", {"name": "default"}),
    ("key_value", "get", {"store": 1, "key": "k"}, "spin_key_value.get", {}),
    ("key_value", "cas_swap", {"cas": 1}, "spin_key_value.swap", {}),
    ("sqlite", "execute", {"connection": 1, "statement": "SELECT 1", "params": []}, "spin_sqlite.execute",
     {"db.system.name": "sqlite", "query": "SELECT 1"}),
    ("variables", "get", {"name": "api_key"}, "spin_variables.get", {"key": "api_key"}),
    ("redis", "get", {"connection": 1, "key": "k"}, "GET", {"db.system.name": "redis", "key": "k"}),
    ("redis", "incr", {"connection": 1, "key": "k"}, "INCRBY", {"db.system.name": "redis", "key": "k"}),
    ("postgres", "open", {"address": "postgres://user:secret@db.example:5433/shop"}, "spin_outbound_pg.open",
     {"db.system.name": "postgresql", "server.address": "db.example", "server.port": 5433, "db.namespace": "shop"}),
    ("mysql", "query", {"connection": 1, "statement": "SELECT 2", "params": []}, "spin_outbound_mysql.query",
     {"db.system.name": "mysql", "statement": "SELECT 2"}),
    ("mqtt", "publish", {"connection": 1, "topic": "t", "payload": {"$bytes": ""}, "qos": 1}, "spin_outbound_mqtt.publish",
     {"messaging.operation": "publish", "messaging.system": "mqtt", "messaging.destination.name": "t", "topic": "t", "qos": 1}),
    ("llm", "generate_embeddings", {"model": "all-minilm-l6-v2", "texts": ["a"]}, "spin_llm.generate_embeddings",
     {"model": "all-minilm-l6-v2", "gen_ai.request.model": "all-minilm-l6-v2", "gen_ai.operation.name": "embeddings"}),
    ("outbound_http", "send", {"api": "wasi", "method": "POST", "uri": "http://x/"}, "POST", {"http.request.method": "POST"}),
])
def test_spans_of_host_calls(capability: str, function: str, args: dict, name: str, attributes: dict) -> None:
    made = call_span(capability, function, args)
    assert made is not None and made.name == name and made.attributes == attributes


def test_no_span_for_letting_go_of_a_resource() -> None:
    assert call_span("key_value", "close", {"store": 1}) is None
    assert call_span("sqlite", "close", {"connection": 1}) is None
    assert call_span("nothing", "get", {}) is None


def test_llm_ended_attributes_carry_tokens_and_timings() -> None:
    result = {"text": "x", "usage": {"prompt_token_count": 7, "generated_token_count": 3}}
    assert ended_attributes("llm", "infer", result, {"time_to_first_token": 0.25, "time_queued": 0.5}) == {
        "gen_ai.usage.input_tokens": 7, "gen_ai.usage.output_tokens": 3,
        "gen_ai.server.time_to_first_token": 0.25, "spin_py.llm.time_queued": 0.5}


def test_telemetry_off_imports_no_opentelemetry() -> None:
    """With no endpoint, the dev server's start() costs an import of spin_py.telemetry and nothing more."""
    import os
    import subprocess
    import sys

    code = ("import sys; from spin_py.telemetry import start; stop = start(print, lambda: 'app'); stop(); "
            "print(sorted(name for name in sys.modules if name.startswith('opentelemetry')))")
    environ = {name: value for name, value in os.environ.items() if not name.startswith("OTEL_")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=environ, check=True).stdout
    assert out.strip() == "[]"


def test_an_unknown_protocol_is_warned_about_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(env, "_warned", set())
    said: list[str] = []
    environ = {"OTEL_EXPORTER_OTLP_PROTOCOL": "thrift"}
    assert [env.protocol(signal, said.append, environ) for signal in env.SIGNALS] == ["http/protobuf"] * 3
    # crates/telemetry/src/env.rs: terminal::warn!, once for all signals
    assert said == ["Warning: 'thrift' is not a valid OTLP protocol, defaulting to http/protobuf"]
