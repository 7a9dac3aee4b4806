"""wasi:http 0.2's raw export through a real `spin-py up`: spin-python-sdk's `streaming`
example of its v2.0 and stable branches unchanged on spin-sdk 2.0.0 (the version it pins),
and its spin-sdk 3 form on 3.4.1: ``IncomingHandler.handle(request, response_out)`` with
the SDK's own PollLoop, streams both ways (a 64 MiB echo, bytes identical, and an echo that
reaches the client while it is still sending) and outgoing requests through wasi:http
0.2's outgoing handler; then a raw handler's other paths: no response set, an error set, a
body never finished, work after the response, request bodies sent out, a denied host; and
spin-sdk 5's name for the export, ``WasiHttpIncomingHandler020``."""

import hashlib
import http.client
import http.server
import os
import shutil
import sys
import threading
from pathlib import Path

import pytest
from apps import sdk3_python, sdk5_python, write_app
from test_streaming_bodies import chunked, dechunk, echo, high_water_mib, interleaved_echo
from venvs import venv_python

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests/trigger: the raw HTTP clients
from trigger_clients import exchange, header, parse, post_chunked

HERE = Path(__file__).parent
# spin-sdk 2.0.0, as the v2.0 example's requirements.txt pins it (it runs on Python 3.11).
SDK2 = ("sdk2-py311", "3.11", ["spin-sdk==2.0.0"])
EXAMPLES = {"2.0.0": HERE / "example_streaming_02", "3.4.1": HERE / "example_streaming_02_sdk3"}
KNOWN = os.urandom(200_000)


def sdk_python(sdk):
    return venv_python(*SDK2) if sdk == "2.0.0" else sdk3_python()


def example(tmp_path, sdk):
    folder = tmp_path / "streaming"
    shutil.copytree(EXAMPLES[sdk], folder, ignore=shutil.ignore_patterns("ORIGIN.md"))
    return folder / "spin.toml"


@pytest.fixture
def origin():
    """A plain HTTP server on loopback: GET /known answers KNOWN; GET /wait answers once
    ``release`` is set (so a test can hold a handler inside an outgoing request)."""
    release = threading.Event()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path == "/wait":
                release.wait(60)
            body = KNOWN if self.path == "/known" else b"released"
            self.send_response(200)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.release = release
    yield server
    release.set()
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("sdk", ["2.0.0", "3.4.1"])
def test_the_v2_streaming_example_runs_unchanged(tmp_path, spin_up, origin, sdk) -> None:
    server = spin_up(example(tmp_path, sdk), "--python", str(sdk_python(sdk)))
    status, headers, body = server.request("POST", "/echo", body=b"'Twas brillig", headers={"content-type": "text/plain"})
    assert (status, headers["content-type"], body) == (200, "text/plain", b"'Twas brillig")
    assert headers.get("transfer-encoding") == "chunked" and "content-length" not in headers

    data = os.urandom(3 * 1024 * 1024 + 17)
    status, headers, body = parse(exchange(server.port, post_chunked("/echo", [chunked(data)])))
    assert status == 200 and header(headers, "transfer-encoding") == b"chunked"
    assert dechunk(body) == data

    status, _, body = server.get("/nothing-here")
    assert (status, body) == (400, b"")

    # hash-all fetches each url through wasi:http 0.2's outgoing handler and the SDK's poll_loop.send:
    # the app itself (GET /echo is its 400) and a plain server on loopback.
    own, known = f"http://127.0.0.1:{server.port}/echo", f"http://127.0.0.1:{origin.server_address[1]}/known"
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    connection.putrequest("GET", "/hash-all")
    connection.putheader("url", own)
    connection.putheader("url", known)
    connection.endheaders()
    response = connection.getresponse()
    lines = response.read().decode().splitlines()
    assert response.status == 200 and response.getheader("content-type") == "text/plain"
    assert sorted(lines) == sorted([f"{own}: unexpected status: 400", f"{known}: {hashlib.sha256(KNOWN).hexdigest()}"])
    server.wait_for_output("GET /echo -> test 400")


def test_a_64_mib_echo_through_the_v2_example_comes_back_identical(tmp_path, spin_up) -> None:
    server = spin_up(example(tmp_path, "2.0.0"), "--python", str(sdk_python("2.0.0")))
    assert server.request("POST", "/echo", body=b"warm")[2] == b"warm"
    before = high_water_mib(server.process.pid)
    size, block = 64 * 1024 * 1024, os.urandom(256 * 1024)
    sent, echoed = echo(server.port, size, block, timeout=120)
    assert echoed.done, f"the connection closed after {echoed.size} bytes"
    assert echoed.size == size and echoed.digest.hexdigest() == sent.hexdigest()
    grew = high_water_mib(server.process.pid) - before
    assert grew < 24, f"the host peaked {grew:.0f} MiB higher during a 64 MiB echo"


def test_the_v2_example_echoes_while_the_client_is_still_sending(tmp_path, spin_up) -> None:
    server = spin_up(example(tmp_path, "2.0.0"), "--python", str(sdk_python("2.0.0")))
    assert interleaved_echo(server.port) == b"first piece second piece third"


RAW = '''
    import hashlib
    from spin_sdk.wit import exports
    from spin_sdk.wit.types import Ok, Err
    from spin_sdk.wit.imports import monotonic_clock, outgoing_handler
    from spin_sdk.wit.imports.types import (
        ErrorCode_InternalError, Fields, IncomingBody, Method_Get, Method_Post, OutgoingBody, OutgoingRequest,
        OutgoingResponse, ResponseOutparam, Scheme_Http,
    )
    from spin_sdk.wit.imports.streams import StreamError_Closed


    def read_all(body):
        stream, data = body.stream(), bytearray()
        while True:
            try:
                data += stream.blocking_read(65536)
            except Err as error:
                if not isinstance(error.value, StreamError_Closed):
                    raise
                break
        stream.__exit__(None, None, None)
        IncomingBody.finish(body)
        return bytes(data)


    def write(body, data, finish=True):
        stream = body.write()
        for start in range(0, len(data), 4096):  # blocking-write-and-flush takes at most 4096 bytes
            stream.blocking_write_and_flush(data[start:start + 4096])
        stream.__exit__(None, None, None)
        if finish:
            OutgoingBody.finish(body, None)


    def respond(response_out, status, data):
        response = OutgoingResponse(Fields.from_list([("content-type", b"text/plain")]))
        response.set_status_code(status)
        body = response.body()
        ResponseOutparam.set(response_out, Ok(response))
        write(body, data)


    def fetch(method, authority, path, data=None):
        headers = [("content-length", str(len(data)).encode())] if data is not None else []
        request = OutgoingRequest(Fields.from_list(headers))
        request.set_method(method)
        request.set_scheme(Scheme_Http())
        request.set_authority(authority)
        request.set_path_with_query(path)
        body = request.body() if data is not None else None
        future = outgoing_handler.handle(request, None)
        if body is not None:
            write(body, data)  # after handle, as spin_sdk.http.send_async writes it
        future.subscribe().block()
        result = future.get()
        assert future.get() == Err(None)  # the result is given once
        if isinstance(result.value, Err):
            return repr(result.value.value)
        response = result.value.value
        return f"{response.status()} {read_all(response.consume()).decode()}"


    class IncomingHandler(exports.IncomingHandler):
        def handle(self, request, response_out):
            path = request.path_with_query()
            target = dict(request.headers().entries()).get("target", b"").decode()
            if path == "/no-response":
                return
            if path == "/refused":
                ResponseOutparam.set(response_out, Err(ErrorCode_InternalError("no thanks")))
                return
            if path == "/unfinished":
                response = OutgoingResponse(Fields())
                body = response.body()
                ResponseOutparam.set(response_out, Ok(response))
                write(body, b"partial", finish=False)
                return
            if path == "/sum":
                data = read_all(request.consume())
                respond(response_out, 200, hashlib.sha256(data).hexdigest().encode())
            elif path == "/send":
                data = bytes(range(256)) * 40
                answer = fetch(Method_Post(), target, "/sum", data)
                respond(response_out, 200, f"{answer} {hashlib.sha256(data).hexdigest()}".encode())
            elif path == "/denied":
                respond(response_out, 200, fetch(Method_Get(), "example.invalid", "/").encode())
            elif path == "/sleep":
                start = monotonic_clock.now()
                monotonic_clock.subscribe_duration(50_000_000).block()
                respond(response_out, 200, str(monotonic_clock.now() - start).encode())
            elif path == "/stuck":
                outgoing = OutgoingRequest(Fields())
                outgoing.set_scheme(Scheme_Http())
                outgoing.set_authority(target)
                body = outgoing.body()  # never finished: the request can never be made
                outgoing_handler.handle(outgoing, None).subscribe().block()
            elif path == "/after":
                respond(response_out, 200, b"sent before the handler ends")
                print("after the response:", fetch(Method_Get(), target, "/wait"), flush=True)
'''


def raw_app(tmp_path):
    return write_app(tmp_path / "raw", '''
        spin_manifest_version = 2
        [application]
        name = "raw"
        [[trigger.http]]
        route = "/..."
        component = "raw"
        [component.raw]
        source = "app.wasm"
        allowed_outbound_hosts = ["http://127.0.0.1:*"]
        [component.raw.build]
        command = "componentize-py -w spin-http componentize app -o app.wasm"
    ''', {"app.py": RAW})


def test_a_raw_handler_that_sets_no_response_or_an_error_gets_a_500(tmp_path, spin_up) -> None:
    server = spin_up(raw_app(tmp_path), "--python", str(sdk3_python()))
    status, _, body = server.get("/no-response")
    assert status == 500 and b"guest failed to produce a response prior to returning" in body
    status, _, body = server.get("/refused")
    assert (status, body) == (500, b"guest failed to produce a response: ErrorCode_InternalError(value='no thanks')\n")


def test_a_raw_response_body_left_unfinished_is_cut_short(tmp_path, spin_up) -> None:
    server = spin_up(raw_app(tmp_path), "--python", str(sdk3_python()))
    status, headers, body = parse(exchange(server.port, b"GET /unfinished HTTP/1.1\r\nHost: x\r\n\r\n"))
    assert status == 200 and header(headers, "transfer-encoding") == b"chunked"
    assert b"partial" in body and not body.endswith(b"0\r\n\r\n")
    server.wait_for_output("returned without finishing its response body (OutgoingBody.finish)")
    assert server.get("/no-response")[0] == 500  # a fresh instance serves the next request


def test_raw_outgoing_requests_send_their_bodies_and_a_denied_host_is_an_error_code(tmp_path, spin_up) -> None:
    server = spin_up(raw_app(tmp_path), "--python", str(sdk3_python()))
    data = bytes(range(256)) * 40
    status, _, body = server.get("/send", headers={"target": f"127.0.0.1:{server.port}"})
    digest = hashlib.sha256(data).hexdigest()
    assert (status, body.decode()) == (200, f"200 {digest} {digest}")
    status, _, body = server.get("/denied")
    assert (status, body) == (200, b"ErrorCode_HttpRequestDenied()")


def test_a_raw_response_is_complete_while_its_handler_goes_on(tmp_path, spin_up, origin) -> None:
    server = spin_up(raw_app(tmp_path), "--python", str(sdk3_python()))
    # The handler then waits in an outgoing request that the origin answers only once released.
    status, _, body = server.get("/after", headers={"target": f"127.0.0.1:{origin.server_address[1]}"}, timeout=20)
    assert (status, body) == (200, b"sent before the handler ends")
    assert "after the response" not in server.output()
    origin.release.set()
    server.wait_for_output("after the response: 200 released")


SDK5_RAW = """
    from componentize_py_types import Ok, Err
    from spin_sdk.wit import exports
    from spin_sdk.wit.imports import wasi_http_outgoing_handler_0_2_0 as outgoing_handler
    from spin_sdk.wit.imports.wasi_http_types_0_2_0 import (
        Fields, IncomingBody, OutgoingBody, OutgoingRequest, OutgoingResponse, ResponseOutparam, Scheme_Http)
    from spin_sdk.wit.imports.wasi_io_streams_0_2_0 import StreamError_Closed

    def read_all(body):
        stream, data = body.stream(), bytearray()
        while True:
            try:
                data += stream.blocking_read(65536)
            except Err as error:
                if not isinstance(error.value, StreamError_Closed):
                    raise
                break
        stream.__exit__(None, None, None)
        IncomingBody.finish(body)
        return bytes(data)

    class WasiHttpIncomingHandler020(exports.WasiHttpIncomingHandler020):
        def handle(self, request, response_out):
            data = read_all(request.consume())
            out = OutgoingRequest(Fields())
            out.set_scheme(Scheme_Http())
            out.set_authority(dict(request.headers().entries())["target"].decode())
            out.set_path_with_query("/known")
            future = outgoing_handler.handle(out, None)
            future.subscribe().block()
            fetched = future.get().value.value
            response = OutgoingResponse(Fields.from_list([("x-fetched", str(fetched.status()).encode())]))
            body = response.body()
            ResponseOutparam.set(response_out, Ok(response))
            stream = body.write()
            stream.blocking_write_and_flush(data[::-1] + b" " + read_all(fetched.consume())[:16].hex().encode())
            stream.__exit__(None, None, None)
            OutgoingBody.finish(body, None)
"""


def test_spin_sdk_5_runs_the_wasi_http_02_export_too(tmp_path, spin_up, origin) -> None:
    path = write_app(tmp_path / "raw5", '''
        spin_manifest_version = 2
        [application]
        name = "raw5"
        [[trigger.http]]
        route = "/..."
        component = "raw5"
        [component.raw5]
        source = "app.wasm"
        allowed_outbound_hosts = ["http://127.0.0.1:*"]
        [component.raw5.build]
        command = "componentize-py -w wasi:http/proxy@0.2.0 componentize app -o app.wasm"
    ''', {"app.py": SDK5_RAW})
    server = spin_up(path, "--python", str(sdk5_python()))
    status, headers, body = server.request("POST", "/", body=b"olleh",
                                           headers={"target": f"127.0.0.1:{origin.server_address[1]}"})
    assert (status, headers["x-fetched"], body) == (200, "200", b"hello " + KNOWN[:16].hex().encode())


def test_a_raw_handler_polls_the_clock_and_a_poll_that_can_never_end_is_an_error(tmp_path, spin_up) -> None:
    server = spin_up(raw_app(tmp_path), "--python", str(sdk3_python()))
    status, _, body = server.get("/sleep")
    assert status == 200 and int(body) >= 50_000_000
    status, _, body = server.get("/stuck", headers={"target": f"127.0.0.1:{server.port}"})
    assert status == 500 and b"HandlerDeadlock: poll would wait forever" in body
