"""What a client or a component could hold or bloat in the host, and the limit that stops it:
a client that stops reading a streamed response is cut at the I/O limit (and what streamed
to it freed), a handler that stalls in the middle of a streamed response is cut by
--request-timeout, a frame that announces a huge body is refused before it is buffered, and
the HTTP framing mistakes hyper refuses are a 400 or a cut connection, never a traceback nor
a connection that goes on serving."""

import socket
import struct
import threading
import time

import pytest
from apps import sdk4_python, write_app
from trigger_clients import exchange, host_rss_mib, parse

from spin_py.trigger import http_server

ORIGINAL_MANIFEST = """
    spin_manifest_version = 2
    [application]
    name = "holds"
    [[trigger.http]]
    route = "/..."
    component = "holds"
    [component.holds]
    source = "app.wasm"
    [component.holds.build]
    command = "spin py2wasm app -o app.wasm"
"""

# The module plays an untrusted guest: its responses skip the guest's own checks, and it can
# write to its channel what a broken worker would.
UNTRUSTED_APP = r"""
    import json, os, stat, struct, sys, time
    from spin_http import Response

    guest_handlers = sys.modules["spin_py_guest.handlers"]
    guest_handlers.response_parts = lambda r, expected: (r.status, [[k, v] for k, v in r.headers.items()], r.body or b"")

    def _sockets():
        for fd in range(3, 256):
            try:
                if stat.S_ISSOCK(os.fstat(fd).st_mode):
                    yield fd
            except OSError:
                pass

    def handle_request(request):
        path = request.uri.split("?")[0]
        if path == "/huge-frame":
            frame = json.dumps({"op": "body", "turn": 1}).encode()
            for fd in _sockets():  # a frame header announcing 1000 MiB, and a first MiB of it
                try:
                    os.write(fd, struct.pack(">II", len(frame), 1000 << 20) + frame + b"z" * (1 << 20))
                except OSError:
                    pass
            time.sleep(60)
        if path == "/longer-than-its-length":
            return Response(200, {"content-length": "10"}, b"x" * (3 << 20))  # streamed: over one piece
        if path == "/huge-length":
            return Response(200, {"content-length": "9" * 5000}, b"x")
        return Response(200, {"content-type": "text/plain"}, b"hello")
"""


@pytest.fixture
def holds_server(tmp_path, spin_up):
    path = write_app(tmp_path / "app", ORIGINAL_MANIFEST, {"app.py": UNTRUSTED_APP})
    return spin_up(path, "--no-watch")


# --- framing (hyper's rules) --------------------------------------------------------------------


def test_a_content_length_of_thousands_of_digits_is_a_400_with_one_line(holds_server) -> None:
    request = b"POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: " + b"9" * 5000 + b"\r\n\r\nabc"
    status, _, body = parse(exchange(holds_server.port, request, half_close=True))
    assert status == 400 and body.count(b"\n") == 1 and b"Content-Length of 5000 characters" in body
    assert "Traceback" not in holds_server.output()


def test_a_header_with_a_space_before_its_colon_is_refused_as_hyper_refuses_it(holds_server) -> None:
    request = (b"POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\nContent-Length: 3\r\n\r\n"
               b"3\r\nabc\r\n0\r\n\r\n")
    status, headers, body = parse(exchange(holds_server.port, request, half_close=True))
    assert status == 400 and b"Transfer-Encoding : chunked" in body and body.count(b"\n") == 1
    assert ("connection", b"close") in headers
    folded = b"GET /x HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n folded\r\n\r\n"
    assert parse(exchange(holds_server.port, folded, half_close=True))[0] == 400
    not_a_token = b"GET /x HTTP/1.1\r\nHost: x\r\nX(A): 1\r\n\r\n"
    status, _, body = parse(exchange(holds_server.port, not_a_token, half_close=True))
    assert status == 400 and b"invalid HTTP header name 'X(A)'" in body
    assert holds_server.get("/x")[0] == 200


def test_a_response_content_length_of_thousands_of_digits_is_a_500_with_one_line(holds_server) -> None:
    status, _, body = holds_server.get("/huge-length")
    assert status == 500 and b"5000 characters long, not a number of bytes" in body
    assert "Traceback" not in holds_server.output()


def test_a_streamed_body_longer_than_its_length_cuts_the_connection_and_serves_nothing_after(holds_server) -> None:
    # Two requests on one connection: the first one's body breaks its content-length.
    pipelined = (b"GET /longer-than-its-length HTTP/1.1\r\nHost: x\r\n\r\n"
                 b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
    received = exchange(holds_server.port, pipelined)
    assert b"hello" not in received  # the connection was not used again
    holds_server.wait_for_output("content-length' says 10 bytes but the body has more")
    assert holds_server.get("/hello")[2] == b"hello"


# --- frames from a worker ---------------------------------------------------------------------


def test_a_frame_announcing_a_huge_body_is_refused_before_it_is_buffered(holds_server) -> None:
    pid = holds_server.process.pid
    assert holds_server.get("/hello")[0] == 200
    before = host_rss_mib(pid)
    status, _, body = holds_server.get("/huge-frame", timeout=30)
    assert status == 500
    assert b"a frame announced a 1048576000-byte body, over the 1048576-byte limit" in body
    assert b"broke the channel protocol" in body
    assert host_rss_mib(pid) < before + 20
    assert holds_server.get("/hello")[2] == b"hello"  # a new worker


# --- a handler that stalls in the middle of its streamed response ---------------------------------

STALLING_APP = """
    import asyncio
    from typing import Optional

    import componentize_py_async_support
    from componentize_py_types import Ok, Result
    from spin_sdk import wit
    from spin_sdk.http import Request as SdkRequest, send
    from spin_sdk.wit import exports
    from spin_sdk.wit.imports.wasi_http_types_0_3_0_rc_2026_03_15 import ErrorCode, Fields, Response


    def trailers():
        return wit.result_option_wasi_http_types_0_3_0_rc_2026_03_15_fields_wasi_http_types_0_3_0_rc_2026_03_15_error_code_future(lambda: Ok(None))[1]


    async def first_piece_then_nothing(tx):
        with tx:
            await tx.write_all(b"first piece\\n")
            await asyncio.sleep(10 ** 6)


    async def steady(tx):
        with tx:
            for n in range(3):
                await tx.write_all(b"piece %d\\n" % n)
                await asyncio.sleep(1.0)


    async def text(tx, data):
        with tx:
            await tx.write_all(data)


    async def call_stalling():
        # Service chaining to this component's own stalling stream.
        try:
            answer = await send(SdkRequest("GET", "http://holds.spin.internal/stall", {}, None))
            return b"got %d" % answer.status
        except Exception as error:
            return f"{type(error).__name__}: {type(getattr(error, 'value', error)).__name__}".encode()


    class HttpHandler(exports.HttpHandler):
        async def handle(self, request):
            tx, rx = wit.byte_stream()
            path = request.get_path_with_query()
            if path == "/call":
                componentize_py_async_support.spawn(text(tx, await call_stalling()))
            else:
                componentize_py_async_support.spawn(first_piece_then_nothing(tx) if path == "/stall" else steady(tx))
            return Response.new(Fields.from_list([("content-type", b"text/plain")]), rx, trailers())[0]
"""

STALLING_MANIFEST = ORIGINAL_MANIFEST.replace(
    "spin py2wasm app -o app.wasm", "componentize-py -w wasi:http/service@0.3.0-rc-2026-03-15 componentize app -o app.wasm"
).replace('source = "app.wasm"', 'source = "app.wasm"\n    allowed_outbound_hosts = ["http://holds.spin.internal"]')


def test_a_stream_that_stalls_after_its_first_piece_is_cut_by_the_request_timeout(tmp_path, spin_up) -> None:
    path = write_app(tmp_path / "app", STALLING_MANIFEST, {"app.py": STALLING_APP})
    server = spin_up(path, "--no-watch", "--python", str(sdk4_python()), "--request-timeout", "2")
    # Pieces a second apart, 3 s in all: each gap is within the limit, so the stream is whole.
    status, _, body = server.get("/steady")
    assert status == 200 and body == b"piece 0\npiece 1\npiece 2\n"
    started = time.monotonic()
    received = exchange(server.port, b"GET /stall HTTP/1.1\r\nHost: x\r\n\r\n", timeout=30)
    assert time.monotonic() - started < 10
    assert b"first piece" in received and not received.endswith(b"0\r\n\r\n")  # cut, not ended
    server.wait_for_output("sent no piece of its streamed response for 2 s (--request-timeout)")
    assert server.get("/steady")[0] == 200
    # A stream served to another component (service chaining) is paced alike: its caller gets the SDK's error.
    started = time.monotonic()
    status, _, body = server.get("/call", timeout=30)
    assert (status, body) == (200, b"Err: ErrorCode_HttpProtocolError")
    assert time.monotonic() - started < 10


# --- a client that stops reading ---------------------------------------------------------------


def test_a_client_that_stops_reading_is_cut_at_the_io_limit_and_the_stream_closed(monkeypatch) -> None:
    limit = 2
    monkeypatch.setattr(http_server, "IO_TIMEOUT", limit)
    closed = threading.Event()

    class Endless:
        def __iter__(self):
            while True:
                yield b"z" * (1 << 20)

        def close(self):
            closed.set()

    def app(environ, start_response):
        start_response("200 OK", [("content-type", "application/octet-stream")])
        return Endless()

    server = http_server._ThreadReusingServer("127.0.0.1", 0, app, handler=http_server._QuietRequestHandler)
    timeout = struct.pack("ll", limit, 0)
    server.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, timeout)
    server.socket.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, timeout)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with socket.create_connection(server.socket.getsockname()) as client:
            client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
            client.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            started = time.monotonic()
            assert closed.wait(20), "the stream was never closed"
            # At the limit, not one limit per call the kernel makes wait (each returns what it took).
            assert time.monotonic() - started < limit * 1.5
            client.settimeout(10)
            received = 0
            while chunk := client.recv(1 << 20):  # what the kernel had taken, then the end
                received += len(chunk)
            assert received < 64 << 20
    finally:
        server.shutdown()
        server.server_close()
