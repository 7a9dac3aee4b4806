"""Streaming bodies through a real `spin-py up`: spin-python-sdk's `streaming` example
unchanged (the raw wasi:http 0.3 export) on spin-sdk 4.0.0 and 5.0.0, a request body
that reaches the handler as the client sends it and an echo that reaches the client as
the handler writes it, memory bounded for a 64 MB echo, buffered handlers with bodies
over one piece, a broken body mid-stream, and content-length counted on a streamed
response (a mismatch cuts the connection, as Spin does)."""

import hashlib
import http.client
import os
import shutil
import socket
import sys
import threading
import time
from pathlib import Path

import pytest
from apps import sdk4_python, sdk5_python, write_app

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests/trigger: the raw HTTP clients
from trigger_clients import exchange, header, parse, post_chunked

EXAMPLE = Path(__file__).parent / "example_streaming"


def example(tmp_path):
    folder = tmp_path / "streaming"
    shutil.copytree(EXAMPLE, folder, ignore=shutil.ignore_patterns("ORIGIN.md"))
    return folder / "spin.toml"


def chunked(data, size=64 * 1024):
    return b"".join(b"%x\r\n%s\r\n" % (len(data[i:i + size]), data[i:i + size]) for i in range(0, len(data), size)) + b"0\r\n\r\n"


def dechunk(body):
    out, rest = bytearray(), body
    while True:
        line, _, rest = rest.partition(b"\r\n")
        size = int(line.split(b";")[0], 16)
        if size == 0:
            return bytes(out)
        out += rest[:size]
        rest = rest[size + 2:]


@pytest.mark.parametrize("sdk", ["4.0.0", "5.0.0"])
def test_the_streaming_example_runs_unchanged(tmp_path, spin_up, sdk) -> None:
    python = sdk4_python() if sdk == "4.0.0" else sdk5_python()
    server = spin_up(example(tmp_path), "--python", str(python))
    status, headers, body = server.request("POST", "/echo", body=b"'Twas brillig", headers={"content-type": "text/plain"})
    assert (status, headers["content-type"], body) == (200, "text/plain", b"'Twas brillig")
    assert headers.get("transfer-encoding") == "chunked" and "content-length" not in headers

    data = os.urandom(3 * 1024 * 1024 + 17)
    status, headers, body = parse(exchange(server.port, post_chunked("/echo", [chunked(data)])))
    assert status == 200 and header(headers, "transfer-encoding") == b"chunked"
    assert dechunk(body) == data

    status, headers, body = server.get("/nothing-here")
    assert (status, headers.get("content-length"), body) == (400, "0", b"")

    # hash-all fetches each url through wasi:http's client.send (here: the app itself, whose GET /echo is a 400).
    own = f"http://127.0.0.1:{server.port}"
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    connection.putrequest("GET", "/hash-all")
    connection.putheader("url", f"{own}/echo")
    connection.endheaders()
    response = connection.getresponse()
    assert response.status == 200 and response.read() == f"{own}/echo: unexpected status: 400\n".encode()
    server.wait_for_output("GET /echo -> test 400")


def interleaved_echo(port):
    """POST /echo three chunks, each sent only once the one before has come back: the echoed
    body, which only a response that streams while the request does can give."""
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        sock.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
        received = b""
        for piece in (b"first piece ", b"second piece ", b"third"):
            sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
            while piece not in received:  # echoed before the client sends anything more
                data = sock.recv(65536)
                assert data, received
                received += data
        sock.sendall(b"0\r\n\r\n")
        while not received.endswith(b"0\r\n\r\n"):
            data = sock.recv(65536)
            assert data, received
            received += data
    status, _, body = parse(received)
    assert status == 200
    return dechunk(body)


def test_an_echo_streams_both_ways_while_the_client_is_still_sending(tmp_path, spin_up) -> None:
    server = spin_up(example(tmp_path), "--python", str(sdk5_python()))
    assert interleaved_echo(server.port) == b"first piece second piece third"


def high_water_mib(pid, field="VmHWM"):
    """The process's peak RSS so far (``VmRSS``: its RSS now), None once it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return None


def rss_mib(pid):
    return high_water_mib(pid, "VmRSS")


def children_of(pids):
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                stat = Path(f"/proc/{name}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) in pids:
                found.append(int(name))
    return found


class InstancePeaks:
    """Samples the peak memory of a component's instances (the host's great-grandchildren:
    host, base, zygote, instance) while a request runs, since an instance is gone after it."""

    def __init__(self, host_pid):
        self.host_pid, self.peak, self.zygote_rss = host_pid, 0.0, None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self):
        while not self._stop.wait(0.02):
            zygotes = children_of(set(children_of({self.host_pid})))
            for pid in children_of(set(zygotes)):
                self.peak = max(self.peak, high_water_mib(pid) or 0.0)

    def __enter__(self):
        zygotes = children_of(set(children_of({self.host_pid})))
        self.zygote_rss = max(rss_mib(pid) or 0.0 for pid in zygotes)
        self._thread.start()
        return self

    def __exit__(self, *_):
        self._stop.set()
        self._thread.join()


class ChunkedDigest:
    """A chunked response body hashed as it arrives, keeping only what is not parsed yet."""

    def __init__(self):
        self.digest, self.size, self.done = hashlib.sha256(), 0, False
        self._head, self._tail = True, b""

    def feed(self, data):
        self._tail += data
        if self._head:
            head, found, rest = self._tail.partition(b"\r\n\r\n")
            if not found:
                return
            assert head.startswith(b"HTTP/1.1 200"), head
            self._head, self._tail = False, rest
        while not self.done:
            line, found, after = self._tail.partition(b"\r\n")
            if not found:
                return
            length = int(line, 16)
            if len(after) < length + 2:
                return
            self.digest.update(after[:length])
            self.size += length
            self._tail = after[length + 2:]
            self.done = length == 0


def echo(port, size, block, timeout):
    """POST ``size`` bytes (``block`` repeated) to ``/echo`` while reading the chunked echo as it
    comes; returns ``(sha256 of what was sent, ChunkedDigest of what came back)``."""
    sent, echoed = hashlib.sha256(), ChunkedDigest()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        def send():
            sock.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % size)
            for _ in range(size // len(block)):
                sock.sendall(block)
                sent.update(block)

        sender = threading.Thread(target=send)
        sender.start()
        while not echoed.done:
            data = sock.recv(1024 * 1024)
            if not data:
                break
            echoed.feed(data)
        sender.join(timeout)
    return sent, echoed


def test_a_64_mb_echo_holds_a_few_mb_in_the_host_and_the_worker(tmp_path, spin_up) -> None:
    server = spin_up(example(tmp_path), "--python", str(sdk5_python()), "--max-workers", "1")
    assert server.request("POST", "/echo", body=b"warm")[2] == b"warm"
    time.sleep(0.5)  # (the worker and its spare settle: --max-workers 1 keeps one)
    host_before = high_water_mib(server.process.pid)
    size, block = 64 * 1024 * 1024, os.urandom(256 * 1024)
    with InstancePeaks(server.process.pid) as instances:
        sent, echoed = echo(server.port, size, block, timeout=60)
    assert echoed.done, f"the connection closed after {echoed.size} bytes"
    assert echoed.size == size and echoed.digest.hexdigest() == sent.hexdigest()
    grew = high_water_mib(server.process.pid) - host_before
    assert grew < 24, f"the host peaked {grew:.0f} MiB higher during a 64 MiB echo"
    # The instance starts as a copy of its zygote: it holds a piece or two of the body beyond that.
    assert instances.peak > 0, "no instance was seen serving the echo"
    assert instances.peak - instances.zygote_rss < 24, (instances.peak, instances.zygote_rss)


BUFFERED = """
    import hashlib, os
    from spin_sdk.http import Handler, Request, Response

    class HttpHandler(Handler):
        async def handle_request(self, request: Request) -> Response:
            if request.method == "GET":
                return Response(200, {}, str(os.getpid()).encode())
            digest = hashlib.sha256(request.body).hexdigest()
            return Response(200, {"x-sha256": digest}, request.body[::-1])
"""


def test_buffered_handlers_get_big_bodies_whole_and_a_broken_body_is_answered_by_the_host(tmp_path, spin_up) -> None:
    path = write_app(tmp_path / "app", '''
        spin_manifest_version = 2
        [application]
        name = "buffered"
        [[trigger.http]]
        route = "/..."
        component = "buffered"
        [component.buffered]
        source = "app.wasm"
        [component.buffered.build]
        command = "componentize-py -w spin:up/http-trigger@4.0.0 componentize app -o app.wasm"
    ''', {"app.py": BUFFERED})
    server = spin_up(path, "--python", str(sdk5_python()), "--max-workers", "1", "--max-request-body", "8M")
    pid = server.get("/")[2]
    data = os.urandom(5 * 1024 * 1024 + 3)
    status, headers, body = parse(exchange(server.port, post_chunked("/", [chunked(data)])))
    assert status == 200 and header(headers, "x-sha256") == hashlib.sha256(data).hexdigest().encode()
    assert header(headers, "content-length") == str(len(data)).encode() and body == data[::-1]

    # A bad chunk after the first megabytes: the host answers 400; the worker stays.
    broken = post_chunked("/", [chunked(data[:2 * 1024 * 1024])[:-5], b"zz\r\nxx\r\n0\r\n\r\n"])
    status, _, body = parse(exchange(server.port, broken))
    assert status == 400 and b"invalid chunk size 'zz'" in body
    # Past --max-request-body while streaming: 413.
    status, _, body = parse(exchange(server.port, post_chunked("/", [chunked(os.urandom(9 * 1024 * 1024))])))
    assert status == 413 and b"--max-request-body" in body
    status, _, again = server.get("/")
    assert status == 200 and again != pid  # served on, each request by a fresh instance


RAW_LENGTHS = """
    import componentize_py_async_support
    from componentize_py_types import Ok
    from spin_sdk import wit
    from spin_sdk.wit import exports
    from spin_sdk.wit.imports.wasi_http_types_0_3_0 import Fields, Response

    async def write(tx, data):
        with tx:
            await tx.write_all(data)

    class HttpHandler(exports.HttpHandler):
        async def handle(self, request):
            declared, data = {"/short": (b"10", b"12345"), "/long": (b"3", b"0123456789"), "/right": (b"5", b"12345")}[
                request.get_path_with_query()]
            tx, rx = wit.byte_stream()
            componentize_py_async_support.spawn(write(tx, data))
            trailers = wit.result_option_wasi_http_types_0_3_0_fields_wasi_http_types_0_3_0_error_code_future(lambda: Ok(None))[1]
            return Response.new(Fields.from_list([("content-length", declared)]), rx, trailers)[0]
"""


def test_a_streamed_response_is_counted_against_its_content_length(tmp_path, spin_up) -> None:
    path = write_app(tmp_path / "app", '''
        spin_manifest_version = 2
        [application]
        name = "lengths"
        [[trigger.http]]
        route = "/..."
        component = "lengths"
        [component.lengths]
        source = "app.wasm"
        [component.lengths.build]
        command = "componentize-py -w wasi:http/service@0.3.0 componentize app -o app.wasm"
    ''', {"app.py": RAW_LENGTHS})
    server = spin_up(path, "--python", str(sdk5_python()))
    assert server.get("/right")[::2] == (200, b"12345")
    for path, text in (("/short", "says 10 bytes but the body has 5"), ("/long", "says 3 bytes but the body has more")):
        with pytest.raises((http.client.IncompleteRead, http.client.RemoteDisconnected, ConnectionError)):
            server.get(path)
        server.wait_for_output(f"component 'lengths' sent a response Spin would refuse: response header 'content-length' {text}; the connection was cut")
    time.sleep(0.2)
    assert server.get("/right")[::2] == (200, b"12345")
