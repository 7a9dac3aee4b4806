"""A Redis message's telemetry, from a real `spin-py up` and a real redis-server to the OTLP
receiver: Spin's ``<channel> receive`` consumer span (crates/trigger-redis/src/lib.rs), a
failed handler marked on it, and spin.request_count with trigger_type redis."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from apps import sdk3_python

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "trigger" / "redis"))

from otlp_receiver import OtlpReceiver
from redis_trigger_apps import SDK3_APP, publish, write_redis_app  # type: ignore[import-not-found]

pytestmark = pytest.mark.live


def test_redis_message_spans_and_count(tmp_path: Path, spin_up: Any, redis_server: str) -> None:
    receiver = OtlpReceiver()
    try:
        path, _ = write_redis_app(tmp_path, redis_server, SDK3_APP)
        env = {"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url, "OTEL_BSP_SCHEDULE_DELAY": "100",
               "OTEL_BLRP_SCHEDULE_DELAY": "100", "OTEL_METRIC_EXPORT_INTERVAL": "300"}
        server = spin_up(path, "--python", str(sdk3_python()), env=env)
        server.wait_for_output("/messages: [listener]")
        publish(redis_server, "messages", b"hello", b"raise")
        received = receiver.wait_for(lambda r: [s for s in r.spans if s.name == "messages receive"]
                                     if len([s for s in r.spans if s.name == "messages receive"]) >= 2 else None)
        assert all(span.kind == 5 and span.parent_id == "" for span in received)  # consumer, a trace of its own
        assert {span.attributes["messaging.system"] for span in received} == {"redis"}
        assert {span.attributes["messaging.operation"] for span in received} == {"receive"}
        failed = [span for span in received if span.status_code == 2]
        assert len(failed) == 1 and failed[0].status_message == "ValueError: the handler raised on purpose"
        record = receiver.wait_for(lambda r: next((log for log in r.logs if log["body"] == "handled: hello"), None))
        assert record["attributes"] == {"component_id": "listener"}
        assert record["trace_id"] in {span.trace_id for span in received}
        counted = receiver.wait_for(lambda r: [value for name, value, attributes in r.metrics
                                               if name == "spin.request_count" and attributes.get("trigger_type") == "redis"
                                               and value >= 2])
        assert counted
    finally:
        receiver.close()
