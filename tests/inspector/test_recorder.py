"""The inspector's record, fed through spin_py/observe.py's own hooks: its bounds, which request a
line belongs to, the change feed the page listens to, and the spin.toml line for a refused call."""

import json
from collections.abc import Iterator

import pytest
from werkzeug.test import Client

from spin_py import observe
from spin_py.capabilities.errors import CapabilityError
from spin_py.inspector.calls import allow_line, describe
from spin_py.inspector.recorder import CallRecord, Recorder
from spin_py.inspector.web import InspectorApp


class _Handler:
    """A capability's handle(): answers ``value``, or raises the error given."""

    def __init__(self, value: object = None, error: CapabilityError | None = None) -> None:
        self.value, self.error = value, error

    def handle(self, instance: object, function: str, args: dict) -> object:
        if self.error is not None:
            raise self.error
        return self.value


class _Instance:
    component_id = "web"


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    recorder = Recorder(keep=3, value_limit=16, most_calls=3, most_lines=2)
    unsubscribe = observe.subscribe(recorder)
    yield recorder
    unsubscribe()


def _request(path: str, component: str | None = "web") -> observe.Request:
    request = observe.start_request("http", "GET", path, [])
    assert request is not None
    observe.routed("/...", component)
    return request


def test_only_the_last_requests_are_kept_and_values_are_cut(recorder: Recorder) -> None:
    for number in range(5):
        request = _request(f"/{number}")
        observe.end_request(request, 200)
    _, rows = recorder.summaries()
    assert [row["path"] for row in rows] == ["/2", "/3", "/4"]

    request = _request("/calls")
    for _ in range(4):
        observe.call(request, _Instance(), _Handler({"text": "x" * 100}), "llm", "infer", {"model": "m", "prompt": "p" * 100})
    observe.end_request(request, 200)
    record = recorder.get(request.id)
    assert record is not None
    assert len(record.calls) == 3 and record.calls_dropped == 1
    assert record.calls[0].args["prompt"] == "p" * 16 + "… (100 characters)"
    assert record.calls[0].value["text"].startswith("x" * 16 + "…")


def test_a_line_belongs_to_the_request_its_component_is_serving(recorder: Recorder) -> None:
    request = _request("/print")
    observe.output("web", "stdout", ["one", "two", "three"])
    observe.output("other", "stdout", ["elsewhere"])
    observe.end_request(request, 200)
    record = recorder.get(request.id)
    assert record is not None
    assert record.lines == [("stdout", "one"), ("stdout", "two")] and record.lines_dropped == 1
    assert list(recorder.other_lines) == [("other", "stdout", "elsewhere")]


def test_the_change_feed_names_the_requests_that_changed(recorder: Recorder) -> None:
    version, _ = recorder.summaries()
    request = _request("/live")
    newer, rows = recorder.wait_changes(version, timeout=5)
    assert newer > version and rows is not None and rows[-1]["path"] == "/live" and rows[-1]["status"] is None
    observe.end_request(request, 201)
    _, rows = recorder.wait_changes(newer, timeout=5)
    assert rows is not None and rows[-1]["status"] == 201
    for number in range(4 * recorder.keep + 1):  # more changes than the feed remembers
        observe.end_request(_request(f"/{number}"), 200)
    assert recorder.wait_changes(version, timeout=0)[1] is None  # the page must read everything again


def _refused(capability: str, function: str, args: dict, kind: str, message: str) -> CallRecord:
    return CallRecord(capability, function, args, 0.0, 1.0, error=(kind, message))


def test_a_refused_call_gets_the_line_that_allows_it() -> None:
    from spin_py.capabilities.llm import access_denied

    assert allow_line(_refused("key_value", "open", {"label": "other"}, "AccessDenied", ""), "web") == 'key_value_stores = ["other"]'
    assert allow_line(_refused("sqlite", "open", {"database": "db"}, "AccessDenied", ""), "web") == 'sqlite_databases = ["db"]'
    assert allow_line(_refused("llm", "infer", {"model": "llama2-chat"}, "InvalidInput", access_denied("llama2-chat")),
                      "web") == 'ai_models = ["llama2-chat"]'
    http = "https://example.com: this destination is not in the component's allowed_outbound_hosts"
    assert allow_line(_refused("outbound_http", "send", {"uri": "https://example.com/x"}, "HttpRequestDenied", http),
                      "web") == 'allowed_outbound_hosts = ["https://example.com"]'
    redis = _refused("redis", "open", {"address": "redis://cache:6380"}, "InvalidAddress", "")
    assert allow_line(redis, "web", lambda component, address, scheme: False) == 'allowed_outbound_hosts = ["redis://cache:6380"]'
    assert allow_line(redis, "web", lambda component, address, scheme: True) is None  # refused for another reason
    assert allow_line(_refused("key_value", "get", {"store": 1, "key": "k"}, "Other", "disk full"), "web") is None


def test_the_detail_shows_an_infer_call_in_named_fields(recorder: Recorder) -> None:
    request = _request("/ask")
    answer = {"text": "Why did the cat", "usage": {"prompt_token_count": 7, "generated_token_count": 4}}
    observe.call(request, _Instance(), _Handler(answer), "llm", "infer",
                 {"model": "llama2-chat", "prompt": "A joke", "params": {"max_tokens": 4}})
    observe.call(request, _Instance(), _Handler(5), "key_value", "open", {"label": "default"})
    observe.call(request, _Instance(), _Handler(None), "key_value", "set",
                 {"store": 5, "key": "joke", "value": {"$bytes": "V2h5"}})
    observe.end_request(request, 200)
    record = recorder.get(request.id)
    assert record is not None
    infer, _, kv_set = describe(record)["calls"]
    assert infer["fields"]["model"] == "llama2-chat" and infer["fields"]["answer"] == "Why did the cat"
    assert infer["fields"]["generated tokens"] == 4 and float(infer["fields"]["tokens/s"]) > 0
    assert kv_set["fields"] == {"store": "default", "operation": "set", "key": "joke", "value": "Why"}


def test_the_web_app_serves_the_page_and_the_record(recorder: Recorder) -> None:
    request = _request("/web")
    observe.end_request(request, 204)
    app = InspectorApp(recorder, runtime=lambda: None, build_check=lambda: None)
    client = Client(app)
    page = client.get("/")
    assert page.status_code == 200 and b"inspector.js" in page.data
    assert client.get("/static/inspector.js").status_code == 200
    assert client.get("/static/../__init__.py").status_code == 404
    listed = json.loads(client.get("/api/requests").data)
    assert listed["requests"][0]["path"] == "/web" and listed["requests"][0]["status"] == 204
    assert json.loads(client.get(f"/api/requests/{request.id}").data)["calls"] == []
    assert client.get("/api/requests/999999").status_code == 404
    assert json.loads(client.get("/api/build").data) == {"enabled": False, "building": None, "outcomes": []}


def test_the_web_app_answers_only_its_own_address(recorder: Recorder) -> None:
    app = InspectorApp(recorder, runtime=lambda: None, build_check=lambda: None)
    app.hosts = {"127.0.0.1:4000", "localhost:4000"}
    client = Client(app)
    assert client.get("/api/requests", headers={"Host": "localhost:4000"}).status_code == 200
    assert client.get("/api/requests", headers={"Host": "attacker.example:4000"}).status_code == 403
