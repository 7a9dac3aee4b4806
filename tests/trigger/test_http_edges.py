"""The HTTP trigger against whatever a client or a handler sends, through a real
`spin-py up` over loopback: bounded memory, framing errors answered 400/413,
responses checked as Spin checks them, UTF-8 header values both ways, whole
log lines."""

import json
import re
import socket
import threading
import time

import pytest
from apps import ECHO_SDK3, component, manifest, sdk3_python, sdk5_python, write_app
from live import run_cli
from trigger_clients import exchange, header, host_rss_mib, parse, post_chunked, wait_for

# The original API runs in spin-py's own Python (no venv to build), so most cases use it.
# The module plays an untrusted guest: it turns off the guest's own response checks, so
# what it returns reaches the host as it is, as a misbehaving worker's frames would.
UNTRUSTED_APP = r"""
    import json, sys
    from spin_http import Response

    guest_handlers = sys.modules["spin_py_guest.handlers"]
    assert callable(guest_handlers.response_parts)
    guest_handlers.response_parts = lambda r, expected: (r.status, [[k, v] for k, v in r.headers.items()], r.body or b"")

    ANSWERS = {
        "/inject-value": (200, {"x-inject": "1\r\nSet-Cookie: injected=1"}, b"x"),
        "/inject-name": (200, {"x-a\r\nset-cookie": "injected=1"}, b"x"),
        "/status-text": ("200 OK\r\nSet-Cookie: injected=1", {}, b"x"),
        "/status-big": (1000, {}, b"x"),
        "/status-1xx": (101, {}, b"x"),
        "/nul": (200, {"x-nul": "a\x00b"}, b"x"),
        "/forbidden": (200, {"transfer-encoding": "chunked"}, b"hello"),
        "/short-length": (200, {"content-length": "2"}, b"hello"),
        "/bad-length": (200, {"content-length": "five"}, b"hello"),
        "/euro": (200, {"x-price": "10 \u20ac", "content-type": "text/plain"}, b"ok"),
        "/hello": (200, {"content-type": "text/plain"}, b"hello"),
        "/status-799": (799, {}, b"odd"),
        "/dated": (200, {"date": "Tue, 01 Jan 2030 00:00:00 GMT", "server": "my-app"}, b"ok"),
    }

    def handle_request(request):
        path = request.uri.split("?")[0]
        print(f"handled {request.method} {path}", flush=True)
        if path == "/echo":
            seen = {"headers": request.headers, "body": len(request.body)}
            return Response(200, {"content-type": "application/json"}, json.dumps(seen).encode())
        status, headers, body = ANSWERS[path]
        return Response(status, headers, body)
"""


def _original_api_manifest():
    return manifest(component("edge", route="/...")).replace(
        "componentize-py -w spin-http componentize app -o app.wasm", "spin py2wasm app -o app.wasm"
    )


@pytest.fixture
def edge_server(tmp_path, spin_up):
    path = write_app(tmp_path / "app", _original_api_manifest(), {"app.py": UNTRUSTED_APP})
    return spin_up(path, "--no-watch", "--max-request-body", "1M")


def _handled(server, method, path):
    return f"[edge] handled {method} {path}" in server.output()


def _settle(server):
    """Serve one more request and wait for its line, so every earlier handler line is in the log."""
    marker = f"/echo?settle={time.monotonic_ns()}"
    assert server.get(marker)[0] == 200
    assert wait_for(lambda: "[edge] handled GET /echo" in server.output())


# --- request bodies ---------------------------------------------------------------------


def test_huge_chunk_size_then_close_keeps_host_memory_bounded(edge_server) -> None:
    pid = edge_server.process.pid
    before = host_rss_mib(pid)
    with socket.create_connection(("127.0.0.1", edge_server.port)) as sock:
        sock.sendall(post_chunked("/echo", [b"FFFFFFFFFFFFFFFF\r\nabc"]))
    time.sleep(1.5)
    assert host_rss_mib(pid) < before + 50
    assert edge_server.get("/hello")[0] == 200
    assert edge_server.process.poll() is None


def test_huge_chunk_size_is_413_before_any_byte_is_read(edge_server) -> None:
    status, headers, body = parse(exchange(edge_server.port, post_chunked("/echo", [b"FFFFFFFFFFFFFFFF\r\nabc"]), half_close=True))
    assert status == 413
    assert header(headers, "content-type").startswith(b"text/plain")
    assert body.count(b"\n") == 1 and b"1 MiB" in body and b"--max-request-body" in body
    _settle(edge_server)
    assert not _handled(edge_server, "POST", "/echo")


@pytest.mark.parametrize(
    "request_bytes, reason",
    [
        (post_chunked("/echo", [b"ZZZ\r\nabc\r\n0\r\n\r\n"]), b"invalid chunk size"),
        (post_chunked("/echo", [b"3\r\nabcdef\r\n0\r\n\r\n"]), b"longer than its size"),
        (b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\nabc", b"Content-Length 'abc'"),
        (b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\nabc", b"Content-Length '-5'"),
        (b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", b"different values"),
        (b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\nabc", b"does not end with chunked"),
    ],
)
def test_malformed_framing_is_a_400_with_one_line(edge_server, request_bytes, reason) -> None:
    status, headers, body = parse(exchange(edge_server.port, request_bytes, half_close=True))
    assert status == 400, body
    assert header(headers, "content-type").startswith(b"text/plain")
    assert reason in body and body.count(b"\n") == 1
    _settle(edge_server)
    assert not _handled(edge_server, "POST", "/echo")
    assert "Traceback" not in edge_server.output()


@pytest.mark.parametrize(
    "request_bytes",
    [
        post_chunked("/echo", [b"5\r\nab"]),
        post_chunked("/echo", [b"5\r\nabcde\r\n"]),  # no last chunk
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789",
    ],
)
def test_a_body_cut_short_reaches_no_worker(edge_server, request_bytes) -> None:
    status, _, body = parse(exchange(edge_server.port, request_bytes, half_close=True))
    assert status == 400 and b"closed the connection" in body
    _settle(edge_server)
    assert not _handled(edge_server, "POST", "/echo")
    assert "Traceback" not in edge_server.output()


def test_body_over_the_limit_is_413_and_under_it_is_served(edge_server) -> None:
    big = b"x" * (1024 * 1024 + 1)
    status, _, body = parse(exchange(edge_server.port, b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(big)))
    assert status == 413 and b"1 MiB" in body
    chunks = [b"%x\r\n%s\r\n" % (len(big[i:i + 300000]), big[i:i + 300000]) for i in range(0, len(big), 300000)]
    status, _, body = parse(exchange(edge_server.port, post_chunked("/echo", chunks + [b"0\r\n\r\n"])))
    assert status == 413
    just = big[:-1]
    chunks = [b"%x\r\n%s\r\n" % (len(just[i:i + 300000]), just[i:i + 300000]) for i in range(0, len(just), 300000)]
    status, _, body = parse(exchange(edge_server.port, post_chunked("/echo", chunks + [b"0\r\nx-trailer: 1\r\n\r\n"])))
    assert status == 200 and json.loads(body)["body"] == len(just)


def test_max_request_body_flag_errors_in_one_line(tmp_path) -> None:
    path = write_app(tmp_path, _original_api_manifest(), {"app.py": UNTRUSTED_APP})
    result = run_cli("up", "-f", str(path), "--max-request-body", "12Q")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "Error: Invalid value for '--max-request-body': '12Q' is not a size in bytes (for example 1048576, 512K, 100M or 1G)"
    ]


# --- responses --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path, named",
    [
        ("/inject-value", b"'x-inject'"),
        ("/inject-name", b"header name"),
        ("/status-text", b"status"),
        ("/status-big", b"1000"),
        ("/status-1xx", b"101"),
        ("/nul", b"'x-nul'"),
        ("/forbidden", b"'transfer-encoding'"),
        ("/short-length", b"'content-length' says 2 bytes but the body has 5"),
        ("/bad-length", b"'content-length'"),
    ],
)
def test_a_response_spin_would_refuse_is_a_500_naming_why(edge_server, path, named) -> None:
    raw = exchange(edge_server.port, f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    status, headers, body = parse(raw)
    assert status == 500, raw
    assert b"injected" not in raw.partition(b"\r\n\r\n")[0]
    assert all(name in ("content-type", "content-length", "date", "connection") for name, _ in headers), headers
    assert named in body and body.count(b"\n") == 1
    assert header(headers, "content-length") == str(len(body)).encode()
    assert edge_server.process.poll() is None
    # Said on the terminal under the component (the host's check, or the channel's for a frame it refuses).
    assert wait_for(lambda: any(
        line.startswith("[edge] ") and not line.startswith("[edge] handled") for line in edge_server.output().splitlines()
    ))


def test_unicode_response_header_goes_out_as_utf8(edge_server) -> None:
    started = time.monotonic()
    status, headers, body = parse(exchange(edge_server.port, b"GET /euro HTTP/1.1\r\nHost: x\r\n\r\n", timeout=10))
    assert time.monotonic() - started < 20  # before, the client waited a minute for nothing
    assert (status, body) == (200, b"ok")
    assert header(headers, "x-price") == "10 \u20ac".encode("utf-8")


def test_date_and_server_headers_are_the_components_own_as_under_spin(edge_server) -> None:
    # hyper adds a date only when the response has none, and never a server header.
    status, headers, _ = parse(exchange(edge_server.port, b"GET /dated HTTP/1.1\r\nHost: x\r\n\r\n"))
    assert status == 200
    assert [value for name, value in headers if name == "date"] == [b"Tue, 01 Jan 2030 00:00:00 GMT"]
    assert [value for name, value in headers if name == "server"] == [b"my-app"]
    status, headers, _ = parse(exchange(edge_server.port, b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"))
    assert status == 200 and len([name for name, _ in headers if name == "date"]) == 1
    assert "server" not in [name for name, _ in headers]


def test_head_gets_headers_and_no_body(edge_server) -> None:
    raw = exchange(edge_server.port, b"HEAD /hello HTTP/1.1\r\nHost: x\r\n\r\n")
    status, headers, body = parse(raw)
    assert status == 200
    assert header(headers, "content-length") == b"5"
    assert body == b""


def test_host_takes_the_statuses_status_code_from_u16_takes(edge_server) -> None:
    status, _, body = parse(exchange(edge_server.port, b"GET /status-799 HTTP/1.1\r\nHost: x\r\n\r\n"))
    assert (status, body) == (799, b"odd")


# --- request headers as a component sees them ---------------------------------------------

UTF8_REQUEST = "GET /echo HTTP/1.1\r\nHost: x\r\nX-Text: café ✓\r\nConnection: close\r\nX-Multi: a\r\nX-Multi: b\r\nX_Under: u\r\n\r\n"


def test_original_api_request_headers_are_utf8_text_as_spin_gives_them(edge_server) -> None:
    status, _, body = parse(exchange(edge_server.port, UTF8_REQUEST.encode("utf-8")))
    assert status == 200, body
    seen = json.loads(body)["headers"]
    assert seen["x-text"] == "café ✓"
    assert seen["x-multi"] == "a, b"  # the original API joins repeats with ", "
    assert seen["x_under"] == "u"  # a valid token for hyper (werkzeug's environ drops such names)
    assert "connection" not in seen  # Spin strips it (headers.rs strip_forbidden_headers)


def test_request_header_that_is_not_utf8_is_a_500_without_the_handler(edge_server) -> None:
    raw = exchange(edge_server.port, b"GET /echo?bad HTTP/1.1\r\nHost: x\r\nX-Bytes: \xff\xfe\r\n\r\n")
    status, _, body = parse(raw)
    assert status == 500 and b"'x-bytes' is not valid UTF-8" in body
    _settle(edge_server)
    assert edge_server.output().count("[edge] handled GET /echo") == 1  # the settling request only


SDK5_ECHO = """
    import json
    from spin_sdk.http import Handler, Request, Response

    class HttpHandler(Handler):
        async def handle_request(self, request: Request) -> Response:
            return Response(200, {"content-type": "application/json", "x-back": "café ✓"},
                            json.dumps(dict(request.headers)).encode())
"""


@pytest.mark.parametrize("sdk", ["sdk3", "sdk5"])
def test_sdk_request_headers_are_utf8_text_and_come_back_as_utf8(tmp_path, spin_up, sdk) -> None:
    if sdk == "sdk3":
        source = ECHO_SDK3.replace('{"content-type": "application/json"}', '{"content-type": "application/json", "x-back": "café ✓"}')
        path = write_app(tmp_path, manifest(component("echo", route="/...")), {"app.py": source})
        python = sdk3_python()
    else:
        path = write_app(tmp_path, manifest(component("echo", route="/...", world="spin:up/http-trigger@4.0.0")), {"app.py": SDK5_ECHO})
        python = sdk5_python()
    server = spin_up(path, "--python", str(python), "--no-watch")
    status, headers, body = parse(exchange(server.port, UTF8_REQUEST.encode("utf-8")))
    assert status == 200, body
    seen = json.loads(body)
    seen = seen.get("headers", seen)
    assert seen["x-text"] == "café ✓"
    assert seen["x-multi"] == "b"  # the SDKs build a dict: the last value stays
    assert "connection" not in seen
    assert header(headers, "x-back") == "café ✓".encode()


# --- the terminal ---------------------------------------------------------------------------

CHATTY_APP = """
    from spin_http import Response

    def handle_request(request):
        for n in range(20):
            print(f"line {n} " + "y" * 300, flush=True)
        return Response(200, {}, b"ok")
"""
ACCESS_LINE = re.compile(r"^GET /chat\S* -> chatty 200 [\d.]+ms$")
COMPONENT_LINE = re.compile(r"^\[chatty\] line \d+ y{300}$")


def test_log_lines_are_never_cut_by_each_other(tmp_path, spin_up) -> None:
    app_manifest = manifest(component("chatty", route="/...")).replace(
        "componentize-py -w spin-http componentize app -o app.wasm", "spin py2wasm app -o app.wasm"
    )
    server = spin_up(write_app(tmp_path / "app", app_manifest, {"app.py": CHATTY_APP}), "--no-watch", "--max-workers", "4")

    def client(index):
        for n in range(40):
            assert server.get(f"/chat?{index}-{n}")[0] == 200

    threads = [threading.Thread(target=client, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert wait_for(lambda: server.output().count("[chatty] line 19 ") == 240)
    lines = server.output().splitlines()
    served = lines[next(i for i, line in enumerate(lines) if line.startswith("Serving")):]
    mixed = [
        line for line in served
        if ("[chatty]" in line or "-> chatty" in line or " line " in line)
        and not (ACCESS_LINE.match(line) or COMPONENT_LINE.match(line))
    ]
    assert mixed == []
    assert sum(bool(ACCESS_LINE.match(line)) for line in served) == 240
