"""The capability seam: per-request instances, permissions checked against the
manifest current at call time, and a denied request made through wasi:http 0.2's
outgoing handler refused with the SDK's own error type."""

import json
import threading

import pytest
from apps import component, manifest, sdk3_python, write_app

from spin_py.capabilities.errors import CapabilityError
from spin_py.capabilities.seam import Instance, UnknownHandle


class Resource:
    def __init__(self, log, name):
        self.log, self.name = log, name

    def close(self):
        self.log.append(self.name)


def test_an_instance_keeps_handles_by_kind_and_closes_them_newest_first():
    closed = []
    instance = Instance("c", lambda: {})
    first = instance.add("store", Resource(closed, "first"))
    second = instance.add("connection", Resource(closed, "second"))
    assert first != second
    assert instance.get("store", first).name == "first"
    with pytest.raises(UnknownHandle):
        instance.get("store", second)  # another kind's handle
    with pytest.raises(UnknownHandle):
        instance.get("store", "1")  # not a handle at all
    later = Instance("c", lambda: {})
    assert later.add("store", Resource(closed, "later")) not in (first, second)
    with pytest.raises(UnknownHandle):
        later.get("store", first)  # a handle kept from another request
    instance.close()
    assert closed == ["second", "first"]
    with pytest.raises(UnknownHandle):
        instance.get("store", first)


def test_an_instance_calls_the_capability_current_at_call_time():
    seen = []

    class Recorder:
        def __init__(self, tag):
            self.tag = tag

        def handle(self, instance, function, args):
            seen.append((self.tag, instance.component_id, function, args))
            return self.tag

    current = {"kv": Recorder("old")}
    instance = Instance("web", lambda: current)
    assert instance.call("kv", "get", {"key": "a"}) == "old"
    current = {"kv": Recorder("new")}
    assert instance.call("kv", "get", {"key": "b"}) == "new"
    assert seen == [("old", "web", "get", {"key": "a"}), ("new", "web", "get", {"key": "b"})]
    with pytest.raises(CapabilityError, match="no host capability named 'nope'"):
        instance.call("nope", "x", {})
    with pytest.raises(CapabilityError, match="object of arguments"):
        instance.call("kv", "get", ["not", "a", "dict"])


RAW_OUTGOING_SDK3 = """
    import json
    from spin_sdk.http import IncomingHandler, Request, Response
    from spin_sdk.wit.imports import outgoing_handler
    from spin_sdk.wit.imports.types import Fields, OutgoingRequest, Scheme_Http
    from spin_sdk.wit.types import Err, Ok

    class IncomingHandler(IncomingHandler):
        def handle_request(self, request: Request) -> Response:
            outgoing = OutgoingRequest(Fields())
            outgoing.set_scheme(Scheme_Http())
            outgoing.set_authority("example.com")
            future = outgoing_handler.handle(outgoing, None)
            future.subscribe().block()
            result = future.get()
            assert isinstance(result, Ok) and isinstance(result.value, Err)
            error = result.value.value
            return Response(200, {"content-type": "application/json"}, json.dumps([type(error).__name__]).encode())
"""


def test_a_denied_wasi_http_02_request_fails_with_the_sdk_error(tmp_path, spin_up):
    sdk3 = write_app(
        tmp_path / "sdk3",
        manifest(component("raw", route="/...", extra='allowed_outbound_hosts = ["redis://127.0.0.1:6379"]')),
        {"app.py": RAW_OUTGOING_SDK3},
    )
    server = spin_up(sdk3, "--python", str(sdk3_python()))
    assert "does not provide" not in server.output()  # outbound Redis is provided: nothing to name
    status, _, body = server.get("/")
    assert (status, json.loads(body)) == (200, ["ErrorCode_HttpRequestDenied"])
    server.wait_for_output("A component tried to make an outbound network connection to disallowed destination")


SLOW_CALLER = """
    import json, os, time
    from spin_sdk import llm
    from spin_sdk.http import IncomingHandler, Request, Response
    from spin_sdk.wit.types import Err

    class IncomingHandler(IncomingHandler):
        def handle_request(self, request: Request) -> Response:
            first = llm.infer("llama2-chat", "one").text
            print("first call made", flush=True)
            while not os.path.exists(os.environ["GO_FILE"]):
                time.sleep(0.05)
            try:
                second = llm.infer("llama2-chat", "two").text
            except Err as error:
                second = type(error.value).__name__ + ": " + error.value.value
            return Response(200, {"content-type": "application/json"}, json.dumps([first, second]).encode())
"""


def test_a_permission_revoked_mid_request_fails_on_the_next_call(tmp_path, spin_up):
    # The request waits for a file in a folder mounted into the component: the test makes it.
    go = tmp_path / "app" / "signal" / "go"
    go.parent.mkdir(parents=True)
    env = 'environment = { GO_FILE = "/signal/go" }\nfiles = [{ source = "signal", destination = "/signal" }]\n'
    allowed = manifest(component("slow", route="/...", extra=env + 'ai_models = ["llama2-chat"]'))
    path = write_app(tmp_path / "app", allowed, {"app.py": SLOW_CALLER})
    server = spin_up(path, "--python", str(sdk3_python()), "--ai-engine", "deterministic")
    result = {}
    request = threading.Thread(target=lambda: result.update(answer=server.get("/")))
    request.start()
    server.wait_for_output("[slow] first call made")
    assert "GET / " not in server.output()  # the request is still running
    path.write_text(manifest(component("slow", route="/...", extra=env)))
    server.wait_for_output("Reloaded spin.toml")
    go.write_text("")
    request.join(30)
    status, _, body = result["answer"]
    first, second = json.loads(body)
    assert status == 200 and first
    assert second.startswith("Error_InvalidInput: The component does not have access to use 'llama2-chat'.")
