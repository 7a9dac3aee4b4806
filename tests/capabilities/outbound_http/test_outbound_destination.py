"""The destination a component's request is checked against is the one it is sent to: the
URL is parsed once, as Spin's host holds it (the http crate's Uri, built from spin-sdk's
parts for wasi:http), and urllib3 connects to the checked host and port. And an outbound
call never outlives its request: its timeouts end at the instance's deadline.

Driven through the capability's host function with a real manifest on disk, real servers on
loopback (one allowed, one not), and a real per-request Instance."""

import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from spin_py.capabilities.errors import CapabilityError
from spin_py.capabilities.outbound_http import OutboundHttpCapability
from spin_py.capabilities.outbound_http.request_uri import from_sdk_parts, parse_absolute
from spin_py.capabilities.seam import AppContext, HostContext, Instance
from spin_py.config import UpConfig
from spin_py.manifest import load_manifest
from spin_py.runtime_config import RuntimeConfig


class Origin:
    """A server on loopback that records the request targets it was sent."""

    def __init__(self):
        paths = self.paths = []

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                paths.append(self.path)
                self.send_response(200)
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def requests(self) -> int:
        return len(self.paths)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def servers():
    allowed, other = Origin(), Origin()
    yield allowed, other
    allowed.close()
    other.close()


def configured(tmp_path, allowed_hosts):
    (tmp_path / "spin.toml").write_text(
        'spin_manifest_version = 2\n[application]\nname = "t"\n'
        '[[trigger.http]]\nroute = "/..."\ncomponent = "c"\n'
        f'[component.c]\nsource = "app.wasm"\nallowed_outbound_hosts = {allowed_hosts!r}\n'.replace("'", '"')
    )
    app = load_manifest(tmp_path / "spin.toml")
    said = []
    capability = OutboundHttpCapability(HostContext(UpConfig(manifest=tmp_path / "spin.toml"), said.append))
    configuration = capability.configure(AppContext(app, RuntimeConfig(), tmp_path / ".spin"))
    instance = Instance("c", lambda: {"outbound_http": configuration})
    return capability, instance, said


def send(instance, uri, api="wasi"):
    return instance.call("outbound_http", "send", {"api": api, "method": "GET", "uri": uri, "headers": [], "body": None})


@pytest.mark.parametrize("api", ["wasi", "spin"])
@pytest.mark.parametrize("trick", ["#@", "?@", "\\@", "/@"])
def test_a_url_that_names_two_hosts_never_reaches_the_one_not_allowed(tmp_path, servers, api, trick):
    allowed, other = servers
    capability, instance, _said = configured(tmp_path, [allowed.url])
    uri = f"http://127.0.0.1:{other.port}{trick}127.0.0.1:{allowed.port}/"
    with pytest.raises(CapabilityError) as caught:
        send(instance, uri, api)
    # Refused as Spin refuses: a destination not allowed, or a URI the http crate does not parse.
    kinds = {"wasi": {"HttpRequestDenied", "HttpRequestUriInvalid"}, "spin": {"DestinationNotAllowed", "InvalidUrl"}}
    assert caught.value.kind in kinds[api], caught.value
    assert other.requests == 0 and allowed.requests == 0
    capability.close()


def test_the_allowed_server_is_reached_and_the_sent_target_is_the_parsed_one(tmp_path, servers):
    allowed, other = servers
    capability, instance, said = configured(tmp_path, [allowed.url])
    answer = send(instance, f"http://127.0.0.1:{allowed.port}/a/../b?x=1#frag@127.0.0.1:{other.port}")
    assert answer["status"] == 200 and allowed.requests == 1 and other.requests == 0
    assert allowed.paths == ["/a/../b?x=1"]  # as hyper sends it: no fragment, no dot segments removed
    # The denial names what would have been sent, with Spin's two lines.
    with pytest.raises(CapabilityError) as caught:
        send(instance, f"http://127.0.0.1:{other.port}#@127.0.0.1:{allowed.port}/")
    assert caught.value.kind == "HttpRequestDenied"
    assert f"disallowed destination 'http://127.0.0.1:{other.port}'" in said[0]
    capability.close()


def test_the_request_uri_is_parsed_as_the_http_crate_and_spin_sdk_do():
    assert str(parse_absolute("http://a.example:8080#@b.example/x")) == "http://a.example:8080/"
    assert str(parse_absolute("HTTP://h/p?q#f")) == "http://h/p?q"
    for bad in ("http://a\\@b/", "http://a b/", "http:///x", "example.com/x", "http://h:1:2/", "http://h/<x>",
                "http://h/?<"):
        with pytest.raises(ValueError):
            parse_absolute(bad)
    # spin-sdk: urlparse's netloc is the authority; a fragment never reaches the host.
    assert str(from_sdk_parts("http://a:1?@b:2/")) == "http://a:1/?@b:2/"
    assert from_sdk_parts("/relative?q").scheme is None
    with pytest.raises(ValueError):
        from_sdk_parts("http://a:1\\@b:2/")


class SilentServer:
    """Accepts connections and never answers."""

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.held = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            self.held.append(connection)

    def close(self):
        self.listener.close()
        for connection in self.held:
            connection.close()


@pytest.mark.parametrize("api, kind", [("wasi", "ConnectionReadTimeout"), ("spin", "RuntimeError")])
def test_an_outbound_call_to_a_server_that_never_answers_ends_with_its_request(tmp_path, api, kind):
    silent = SilentServer()
    capability, instance, _ = configured(tmp_path, [f"http://127.0.0.1:{silent.port}"])
    instance.deadline = time.monotonic() + 1.0
    started = time.monotonic()
    with pytest.raises(CapabilityError) as caught:
        send(instance, f"http://127.0.0.1:{silent.port}/", api)
    assert caught.value.kind == kind
    assert time.monotonic() - started < 3.0
    # A request whose time is already up does not connect at all.
    instance.deadline = time.monotonic() - 1
    with pytest.raises(CapabilityError) as caught:
        send(instance, f"http://127.0.0.1:{silent.port}/")
    assert caught.value.kind == "ConnectionTimeout"
    silent.close()
    capability.close()


ORIGINAL_APP = """
    from spin_http import Request, Response, http_send

    def handle_request(request):
        try:
            answer = http_send(Request("GET", request.headers["x-target"], {}, None))
        except AssertionError as error:
            return Response(200, {"content-type": "text/plain"}, str(error).encode())
        return Response(200, {"content-type": "text/plain"}, b"reached %d" % answer.status)
"""


@pytest.mark.parametrize("trick", ["#@", "?@", "\\@"])
def test_a_component_cannot_talk_its_way_around_its_allowed_hosts(tmp_path, spin_up, servers, trick):
    from apps import write_app

    allowed, other = servers
    manifest = f"""
        spin_manifest_version = 2
        [application]
        name = "around"
        [[trigger.http]]
        route = "/..."
        component = "fetch"
        [component.fetch]
        source = "app.wasm"
        allowed_outbound_hosts = ["{allowed.url}"]
        [component.fetch.build]
        command = "spin py2wasm app -o app.wasm"
    """
    server = spin_up(write_app(tmp_path / "app", manifest, {"app.py": ORIGINAL_APP}), "--no-watch")
    target = f"http://127.0.0.1:{other.port}{trick}127.0.0.1:{allowed.port}/"
    status, _, body = server.get("/", headers={"x-target": target})
    assert status == 200 and body in (b"destination-not-allowed (error 1)", b"invalid-url (error 2)"), body
    assert other.requests == 0
    status, _, body = server.get("/", headers={"x-target": allowed.url + "/fine"})
    assert body == b"reached 200" and allowed.paths == ["/fine"]
