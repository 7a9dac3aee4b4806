"""spin_py/observe.py: what observers are told, in which order, with what attributed to
which request; and that with no observer the hooks pass straight through."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from spin_py import observe
from spin_py.capabilities.errors import CapabilityError


class Recording(observe.Observer):
    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []

    def request_started(self, request: observe.Request) -> None:
        self.events.append(("started", request))

    def request_routed(self, request: observe.Request) -> None:
        self.events.append(("routed", request))

    def request_ended(self, request: observe.Request) -> None:
        self.events.append(("ended", request))

    def call_started(self, call: observe.Call) -> None:
        self.events.append(("call_started", call))

    def call_ended(self, call: observe.Call) -> None:
        self.events.append(("call_ended", call))

    def output(self, line: observe.OutputLine) -> None:
        self.events.append(("output", line))

    def inject(self, call: observe.Call) -> list[tuple[str, str]]:
        return [("traceparent", f"call-{call.id}")]

    def named(self, kind: str) -> list[Any]:
        return [event for name, event in self.events if name == kind]


@pytest.fixture
def recording() -> Iterator[Recording]:
    found = Recording()
    unsubscribe = observe.subscribe(found)
    yield found
    unsubscribe()


class Handler:
    def handle(self, instance: Any, function: str, args: dict) -> Any:
        observe.annotate(seen=function)
        if function == "fail":
            raise CapabilityError("AccessDenied", "no")
        return {"echo": args}


class Instance:
    component_id = "front"
    observed: observe.Request | None = None


ENVIRON = {"REMOTE_ADDR": "127.0.0.1", "REMOTE_PORT": "4000", "wsgi.url_scheme": "http"}


def _headers(environ: Any) -> list[tuple[str, str]]:
    return [("Host", "x"), ("Traceparent", "t")]


def test_no_observer_costs_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(observe, "_observers", ())  # whatever another test left subscribed
    assert not observe.watching()
    assert observe.http_started(ENVIRON, "GET", "/", _headers) is None
    assert observe.current() is None
    headers = [("a", "b")]
    assert observe.inject_headers(headers, "http://x/") is headers
    observe.routed("/...", "front")
    observe.end_request(None, 200)
    observe.output("front", "stdout", ["line"])


def test_a_request_told_in_order(recording: Recording) -> None:
    request = observe.http_started(ENVIRON, "GET", "/a?b=1", _headers)
    assert request is not None and observe.current() is request
    assert request.peer == ("127.0.0.1", 4000) and request.header("traceparent") == "t"
    observe.routed("/a", "front")
    observe.end_request(request, 500, b"the handler failed\n")
    assert [name for name, _ in recording.events] == ["started", "routed", "ended"]
    assert request.route == "/a" and request.component == "front" and request.status == 500
    assert request.error == "the handler failed" and request.duration is not None and request.duration >= 0
    assert observe.current() is None  # the thread serves no request any more


def test_an_app_answer_is_not_an_error(recording: Recording) -> None:
    request = observe.http_started(ENVIRON, "GET", "/", _headers)
    observe.end_request(request, 500, None)  # the component's own 500
    assert request is not None and request.error is None


def test_host_calls_results_errors_facts_and_injected_headers(recording: Recording) -> None:
    request = observe.http_started(ENVIRON, "GET", "/", _headers)
    assert request is not None
    instance = Instance()
    assert observe.call(request, instance, Handler(), "key_value", "get", {"key": "k"}) == {"echo": {"key": "k"}}
    with pytest.raises(CapabilityError):
        observe.call(request, instance, Handler(), "key_value", "fail", {})
    ok, failed = recording.named("call_ended")
    assert ok.result == {"echo": {"key": "k"}} and ok.facts == {"seen": "get"} and ok.component == "front"
    assert failed.error_kind == "AccessDenied" and failed.error == "no" and failed.result is None

    class Sender:
        def handle(self, instance: Any, function: str, args: dict) -> Any:
            return observe.inject_headers([("TraceParent", "mine"), ("x", "y")], "http://origin:8080/p")

    sent = observe.call(request, instance, Sender(), "outbound_http", "send", {})
    call = recording.named("call_ended")[-1]
    assert sent == [("x", "y"), ("traceparent", f"call-{call.id}")]  # the guest's own is replaced
    assert call.facts["url"] == "http://origin:8080/p"
    observe.end_request(request, 200)


def test_output_lines_are_attributed_where_the_host_can_tell(recording: Recording) -> None:
    first = observe.http_started(ENVIRON, "GET", "/1", _headers)
    observe.routed("/...", "front")
    observe.output("front", "host", ["said by the host\nin two lines"])  # in the request's own thread
    lines = recording.named("output")
    assert [(line.text, line.request) for line in lines] == [("said by the host", first), ("in two lines", first)]

    def from_the_pipe() -> None:
        observe.output("front", "stdout", ["printed"])

    reader = threading.Thread(target=from_the_pipe)
    reader.start()
    reader.join()
    assert recording.named("output")[-1].request is first  # the only request of that component in flight

    done = threading.Event()
    second: list[Any] = []

    def another_request() -> None:
        second.append(observe.http_started(ENVIRON, "GET", "/2", _headers))
        observe.routed("/...", "front")
        done.set()

    thread = threading.Thread(target=another_request)
    thread.start()
    thread.join()
    reader = threading.Thread(target=from_the_pipe)
    reader.start()
    reader.join()
    assert recording.named("output")[-1].request is None  # two in flight: cannot tell
    observe.end_request(second[0], 200)
    observe.end_request(first, 200)


def test_a_failing_observer_is_said_once(capsys: pytest.CaptureFixture[str]) -> None:
    class Broken(observe.Observer):
        def request_started(self, request: observe.Request) -> None:
            raise ValueError("oops")

    unsubscribe = observe.subscribe(Broken())
    try:
        for _ in range(3):
            request = observe.http_started(ENVIRON, "GET", "/", _headers)
            observe.end_request(request, 200)
    finally:
        unsubscribe()
    assert capsys.readouterr().err.count("Broken.request_started failed (said once): ValueError('oops')") == 1


def test_redis_messages(recording: Recording) -> None:
    observe.redis_message("orders", "127.0.0.1:6379", ["worker"])
    first, second = Instance(), Instance()
    observe.redis_instance(first, "worker")
    observe.redis_instance(second, "worker")
    assert first.observed is not None and first.observed.channel == "orders" and first.observed.address == "127.0.0.1:6379"
    observe.instance_closed(first)
    assert recording.named("ended") == []  # told when the batch's outcome is known
    observe.redis_handled([None], "Traceback ...\nValueError: bad message")
    ended = recording.named("ended")
    assert [(r.status, r.error) for r in ended] == [(0, None), (500, "Traceback ...\nValueError: bad message")]
    assert observe.current() is None


def test_llm_timings_become_the_calls_facts(recording: Recording) -> None:
    from spin_py.capabilities.llm.engines.base import HostTimings

    request = observe.http_started(ENVIRON, "GET", "/", _headers)
    assert request is not None

    class Model:
        def handle(self, instance: Any, function: str, args: dict) -> Any:
            observe.llm_timings(HostTimings(0.5, 0.125))
            return {"text": "x"}

    observe.call(request, Instance(), Model(), "llm", "infer", {"model": "m", "prompt": "p"})
    assert recording.named("call_ended")[-1].facts == {"time_queued": 0.5, "time_to_first_token": 0.125}
    observe.llm_timings(HostTimings(1.0))  # outside a call: nothing to add to
    observe.end_request(request, 200)
