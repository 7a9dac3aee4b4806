"""Telemetry as Spin emits it, from a real `spin-py up` to a real OTLP/HTTP receiver in the
test (telemetry/otlp_receiver.py): span names and attributes, parent and child, the
client's traceparent, the traceparent injected into an outbound request, token counts on
the llm span, the spin.request_count metric and the component's output as log records."""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from apps import write_app
from live import LiveServer
from otlp_receiver import OtlpReceiver, Span

pytestmark = pytest.mark.live

APP = """
    import json
    from spin_http import Request, Response, http_send
    from spin_key_value import kv_open_default
    from spin_llm import llm_infer

    def handle_request(request):
        what = request.uri.split("?")[0].rsplit("/", 1)[1]
        print("handling " + what)
        out = {}
        if what == "kv":
            store = kv_open_default()
            store.set("greeting", b"hi")
            out["value"] = store.get("greeting").decode()
        elif what == "llm":
            result = llm_infer("llama2-chat", "tell me a joke")
            out["usage"] = [result.usage.prompt_token_count, result.usage.generated_token_count]
        elif what == "out":
            answer = http_send(Request("GET", request.headers["x-target"], {"traceparent": "00-" + "1" * 32 + "-" + "2" * 16 + "-01"}, None))
            out["seen"] = json.loads(answer.body)
        elif what == "chain":
            answer = http_send(Request("GET", "http://back.spin.internal/inner", {}, None))
            out["status"] = answer.status
        elif what == "fail":
            raise RuntimeError("the handler failed on purpose")
        elif what == "inner":
            print("inside back")
        return Response(200, {"content-type": "application/json"}, json.dumps(out).encode())
"""

MANIFEST = """
    spin_manifest_version = 2
    [application]
    name = "telemetry-app"
    [[trigger.http]]
    route = "/front/..."
    component = "front"
    [component.front]
    source = "app.wasm"
    key_value_stores = ["default"]
    ai_models = ["llama2-chat"]
    allowed_outbound_hosts = ["{origin}", "http://back.spin.internal"]
    [component.front.build]
    command = "spin py2wasm app -o app.wasm"
    [[trigger.http]]
    route = { private = true }
    component = "back"
    [component.back]
    source = "app.wasm"
    [component.back.build]
    command = "spin py2wasm app -o app.wasm"
"""

# The SDK's batch processors and metric reader, quick enough for a test.
QUICK = {"OTEL_BSP_SCHEDULE_DELAY": "100", "OTEL_BLRP_SCHEDULE_DELAY": "100", "OTEL_METRIC_EXPORT_INTERVAL": "300"}


@pytest.fixture(scope="module")
def receiver() -> Iterator[OtlpReceiver]:
    found = OtlpReceiver()
    yield found
    found.close()


@pytest.fixture(scope="module")
def server(receiver: OtlpReceiver, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    folder = tmp_path_factory.mktemp("telemetry")
    path = write_app(folder / "app", MANIFEST.replace("{origin}", receiver.url), {"app.py": APP})
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url, "OTEL_SERVICE_NAME": "telemetry-test",
           "OTEL_EXPORTER_OTLP_HEADERS": "x-collector-key=secret", **QUICK}
    live = LiveServer(path, "--ai-engine", "deterministic", log_path=folder / "up.log", env=env)
    try:
        yield live.wait_ready()
    finally:
        live.stop()


def _trace(receiver: OtlpReceiver, trace_id: str, names: set[str]) -> dict[str, Span]:
    """The spans of ``trace_id`` once all of ``names`` have arrived, by name."""
    def complete(received: Any) -> dict[str, Span] | None:
        spans = {span.name: span for span in received.spans if span.trace_id == trace_id}
        return spans if names <= set(spans) else None

    return receiver.wait_for(complete)


def _traceparent(trace_id: str, span_id: str) -> str:
    return f"00-{trace_id}-{span_id}-01"


def test_request_span_execute_span_and_host_calls(server: LiveServer, receiver: OtlpReceiver) -> None:
    trace_id, client_span = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
    status, _, body = server.get("/front/kv?x=1", headers={"traceparent": _traceparent(trace_id, client_span),
                                                           "x-forwarded-for": "203.0.113.9"})
    assert status == 200 and json.loads(body) == {"value": "hi"}
    spans = _trace(receiver, trace_id, {"GET /front/...", "execute_wasm_component front", "spin_key_value.open",
                                        "spin_key_value.set", "spin_key_value.get"})
    request = spans["GET /front/..."]
    # crates/trigger-http/src/instrument.rs: a server span, the child of the client's traceparent
    assert request.kind == 2 and request.parent_id == client_span
    assert request.attributes["http.request.method"] == "GET"
    assert request.attributes["http.route"] == "/front/..."
    assert request.attributes["http.response.status_code"] == 200
    assert request.attributes["url.path"] == "/front/kv" and request.attributes["url.query"] == "x=1"
    assert request.attributes["network.protocol.name"] == "http"
    assert request.attributes["network.peer.address"] == "127.0.0.1"
    assert request.attributes["client.address"] == "203.0.113.9"
    assert request.resource["service.name"] == "telemetry-test"
    assert receiver.received.headers["x-collector-key"] == "secret"  # OTEL_EXPORTER_OTLP_HEADERS
    execute = spans["execute_wasm_component front"]
    assert execute.parent_id == request.span_id
    for name in ("spin_key_value.open", "spin_key_value.set", "spin_key_value.get"):
        assert spans[name].parent_id == execute.span_id and spans[name].kind == 3  # client
    assert spans["spin_key_value.open"].attributes["name"] == "default"


def test_llm_span_has_model_and_token_counts(server: LiveServer, receiver: OtlpReceiver) -> None:
    status, _, body = server.get("/front/llm")
    assert status == 200
    prompt_tokens, generated_tokens = json.loads(body)["usage"]
    infer = receiver.wait_for(lambda received: next((s for s in received.spans if s.name == "spin_llm.infer"), None))
    assert infer.attributes["gen_ai.request.model"] == "llama2-chat"
    assert infer.attributes["model"] == "llama2-chat"
    assert infer.attributes["gen_ai.usage.input_tokens"] == prompt_tokens
    assert infer.attributes["gen_ai.usage.output_tokens"] == generated_tokens
    assert generated_tokens > 0


def test_outbound_request_carries_its_span_as_traceparent(server: LiveServer, receiver: OtlpReceiver) -> None:
    status, _, body = server.get("/front/out", headers={"x-target": receiver.url + "/echo", "tracestate": "vendor=abc",
                                                        "traceparent": _traceparent("b" * 32, "c" * 16)})
    assert status == 200, body
    seen = json.loads(body)["seen"]
    sent = seen["traceparent"]
    assert seen["tracestate"] == "vendor=abc"  # the client's, passed on
    match = re.fullmatch(r"00-([0-9a-f]{32})-([0-9a-f]{16})-0[13]", sent)
    assert match is not None, sent
    assert match.group(1) == "b" * 32  # the client's trace; the component's own traceparent is replaced, as Spin's inject does
    client = _trace(receiver, match.group(1), {"GET"})["GET"]
    assert client.span_id == match.group(2) and client.kind == 3
    assert client.attributes["url.full"] == receiver.url + "/echo"
    assert client.attributes["http.response.status_code"] == 200
    assert client.attributes["server.address"] == "127.0.0.1"
    assert client.attributes["server.port"] == receiver.port


def test_chained_request_runs_under_the_callers_outbound_span(server: LiveServer, receiver: OtlpReceiver) -> None:
    trace_id = "3" * 32
    status, _, body = server.get("/front/chain", headers={"traceparent": _traceparent(trace_id, "4" * 16)})
    assert status == 200 and json.loads(body) == {"status": 200}
    spans = _trace(receiver, trace_id, {"GET /front/...", "execute_wasm_component front", "GET",
                                        "execute_wasm_component back"})
    # crates/trigger-http/src/outbound_http.rs: the interceptor runs the component under the
    # outbound span, with no server span of its own
    assert spans["GET"].parent_id == spans["execute_wasm_component front"].span_id
    assert spans["execute_wasm_component back"].parent_id == spans["GET"].span_id
    assert [s.name for s in receiver.received.spans if s.trace_id == trace_id].count("GET /front/...") == 1
    # the line back printed: an app_log event of its execution span (logs.rs app_log_to_tracing_event)
    assert ("app_log", {"app_log": "handling inner"}) in spans["execute_wasm_component back"].events


def test_failed_handler_marks_the_request(server: LiveServer, receiver: OtlpReceiver) -> None:
    status, _, _ = server.get("/front/fail", headers={"traceparent": _traceparent("5" * 32, "6" * 16)})
    assert status == 500
    spans = _trace(receiver, "5" * 32, {"GET /front/...", "execute_wasm_component front"})
    assert "the handler failed on purpose" in spans["GET /front/..."].attributes["error.type"]
    assert spans["GET /front/..."].attributes["http.response.status_code"] == 500
    assert spans["execute_wasm_component front"].status_code == 2  # error


def test_unrouted_request_is_named_by_its_method(server: LiveServer, receiver: OtlpReceiver) -> None:
    status, _, _ = server.get("/nowhere", headers={"traceparent": _traceparent("7" * 32, "8" * 16)})
    assert status == 404
    span = _trace(receiver, "7" * 32, {"GET"})["GET"]
    assert "http.route" not in span.attributes and span.attributes["http.response.status_code"] == 404


def test_output_lines_are_log_records_and_requests_are_counted(server: LiveServer, receiver: OtlpReceiver) -> None:
    trace_id = "9" * 32
    assert server.get("/front/plain", headers={"traceparent": _traceparent(trace_id, "a" * 16)})[0] == 200
    record = receiver.wait_for(lambda received: next(
        (log for log in received.logs if log["body"] == "handling plain"), None))
    assert record["attributes"] == {"component_id": "front"}
    assert record["trace_id"] == trace_id  # in its request's trace
    front = {"trigger_type": "http", "app_id": "telemetry-app", "component_id": "front"}
    counted = receiver.wait_for(lambda received: [value for name, value, attributes in received.metrics
                                                  if name == "spin.request_count" and attributes == front])
    assert counted[-1] >= 1


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_collector_down_costs_requests_nothing(tmp_path: Path) -> None:
    down = f"http://127.0.0.1:{_free_port()}"
    path = write_app(tmp_path / "app", MANIFEST.replace("{origin}", down), {"app.py": APP})
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": down, "OTEL_EXPORTER_OTLP_TIMEOUT": "1", **QUICK}
    live = LiveServer(path, log_path=tmp_path / "up.log", env=env)
    try:
        live.wait_ready()
        for _ in range(20):
            assert live.get("/front/kv")[0] == 200
        live.wait_for_output(f"to the OTLP collector at {down}", timeout=20)
        for _ in range(20):
            assert live.get("/front/kv")[0] == 200
        output = live.output()
        assert output.count("to the OTLP collector at") == 1, output  # one line, whichever signal failed first
        assert "Traceback" not in output and "Failed to export" not in output
    finally:
        live.stop()
