"""Soak: `spin-py up` under 200 concurrent connections of good and bad clients,
next to handlers that crash, hang, stall and write stray or huge frames, clients
that stop reading, and large file downloads; then latency at 50 connections.
Loopback only; every loop is bounded in time.

    .venv/bin/python bench/soak.py [--seconds 60] [--max-workers 8] [--hang-timeout 10]

The app runs in spin-sdk 4's Python (the `stall` component is a wasi:http 0.3 handler;
the others use the original API). `steady` answers well-formed requests only;
`chaos` answers them too, and also raises, calls os._exit, sleeps forever, writes
a frame of another turn and bytes that are no frame into its channel before its
response, or writes a frame announcing a 1000 MiB body; `bulk` streams 24 MiB; `stall`
streams one piece and then nothing; `files` is Spin's file server with a 128 MiB
file. The 200 connections are:
  140 well-formed (90 to steady, 50 to chaos), each checks its answer's body;
   20 slowloris (a header byte a second, never finishing);
   10 oversized bodies (Content-Length over the limit; chunked past the limit);
   15 malformed bodies (bad chunk sizes, a huge chunk size then close, cut short, bad Content-Length);
   15 chaos (raise, os._exit, hang, extra frames, huge frames);
and beside them: --max-workers clients that read the head of bulk's response and
then nothing (cut at the I/O limit, 30 s: they outlive --seconds), 4 stalled
streams in a loop (cut by --request-timeout, 5 s here), 4 downloads of the
large file in a loop (identity, gzip, br, deflate), and 2 clients of `runaway`, whose
SQLite query never ends (the request's time limit must end the call).

Prints well-formed requests served and lost, answers by kind, host RSS at the
start, its peak and the end, workers per component at the end, and p99 latency of
well-formed requests at 50 connections. Targets: no well-formed request lost,
RSS end within 100 MB of start, workers at end <= --max-workers + 1 per
component, clients that stopped reading cut and bulk serving again after the
I/O limit, runaway host calls ended by --request-timeout, p99 < 1 s at 50
connections, no process of the app left once the host has had SIGTERM. Exit
status 1 when a target is missed.
"""

import argparse
import collections
import random
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
sys.path.insert(0, str(HERE.parent / "tests" / "trigger"))

from apps import sdk4_python, write_app  # noqa: E402
from live import LiveServer  # noqa: E402
from trigger_clients import response_end  # noqa: E402

MAX_SECONDS = 600
REQUEST_LIMIT = "8M"  # --max-request-body for the soak: oversized clients cross it quickly
REQUEST_LIMIT_BYTES = 8 * 1024 * 1024
REQUEST_TIMEOUT = 5  # --request-timeout: how long a handler may take to respond, or between pieces
IO_LIMIT = 30  # spin_py/trigger/http_server.py IO_TIMEOUT
BULK_BYTES = 24 * 1024 * 1024
FILE_BYTES = 128 * 1024 * 1024

MANIFEST = """
spin_manifest_version = 2

[application]
name = "soak"

[[trigger.http]]
route = "/steady/..."
component = "steady"

[[trigger.http]]
route = "/chaos/..."
component = "chaos"

[component.steady]
source = "steady.wasm"
[component.steady.build]
command = "spin py2wasm steady -o steady.wasm"

[component.chaos]
source = "chaos.wasm"
[component.chaos.build]
command = "spin py2wasm chaos -o chaos.wasm"

[[trigger.http]]
route = "/runaway/..."
component = "runaway"

[component.runaway]
source = "runaway.wasm"
sqlite_databases = ["default"]
[component.runaway.build]
command = "spin py2wasm runaway -o runaway.wasm"

[[trigger.http]]
route = "/bulk/..."
component = "bulk"

[component.bulk]
source = "bulk.wasm"
[component.bulk.build]
command = "spin py2wasm bulk -o bulk.wasm"

[[trigger.http]]
route = "/stall/..."
component = "stall"

[component.stall]
source = "stall.wasm"
[component.stall.build]
command = "componentize-py -w wasi:http/service@0.3.0-rc-2026-03-15 componentize stall -o stall.wasm"

[[trigger.http]]
route = "/files/..."
component = "files"

[component.files]
source = { url = "https://github.com/spinframework/spin-fileserver/releases/download/v0.3.0/spin_static_fs.wasm", digest = "sha256:ef88708817e107bf49985c7cefe4dd1f199bf26f6727819183d5c996baa3d148" }
files = [{ source = "static", destination = "/" }]
"""

BULK = """
from spin_http import Response

BODY = b"b" * %d

def handle_request(request):
    if request.uri.endswith("/small"):
        return Response(200, {"content-type": "text/plain"}, b"small")
    return Response(200, {"content-type": "application/octet-stream"}, BODY)
""" % BULK_BYTES  # noqa: UP031 (the handler's source is full of braces)

STALL = """
import asyncio

import componentize_py_async_support
from componentize_py_types import Ok
from spin_sdk import wit
from spin_sdk.wit import exports
from spin_sdk.wit.imports.wasi_http_types_0_3_0_rc_2026_03_15 import Fields, Response


async def first_piece_then_nothing(tx):
    with tx:
        await tx.write_all(b"first piece\\n")
        await asyncio.sleep(10 ** 6)


class HttpHandler(exports.HttpHandler):
    async def handle(self, request):
        tx, rx = wit.byte_stream()
        componentize_py_async_support.spawn(first_piece_then_nothing(tx))
        trailers = wit.result_option_wasi_http_types_0_3_0_rc_2026_03_15_fields_wasi_http_types_0_3_0_rc_2026_03_15_error_code_future(lambda: Ok(None))[1]
        return Response.new(Fields.from_list([("content-type", b"text/plain")]), rx, trailers)[0]
"""

RUNAWAY = """
from spin_http import Response
from spin_sqlite import sqlite_open_default

ENDLESS = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"


def handle_request(request):
    sqlite_open_default().execute(ENDLESS, [])
    return Response(200, {}, b"the endless query ended by itself")
"""

STEADY = """
from spin_http import Response

def handle_request(request):
    nonce = request.uri.partition("n=")[2]
    return Response(200, {"content-type": "text/plain"}, f"ok {nonce}".encode())
"""

CHAOS = """
import json, os, stat, struct, time
from spin_http import Response


def _channel_fds():
    for fd in range(3, 256):
        try:
            if stat.S_ISSOCK(os.fstat(fd).st_mode):
                yield fd
        except OSError:
            pass


def _huge_frame():
    frame = json.dumps({"op": "body", "turn": 1}).encode()
    for fd in _channel_fds():
        try:
            os.write(fd, struct.pack(">II", len(frame), 1000 << 20) + frame + b"z" * 65536)
        except OSError:
            pass


def _stray_frames():
    forged = json.dumps({"op": "response", "status": 200, "headers": [], "turn": 0}).encode()
    for fd in _channel_fds():
        try:
            os.write(fd, struct.pack(">II", len(forged), 6) + forged + b"forged")
            os.write(fd, b"\\x00\\x00\\x00\\x05garbage-after-a-header")
        except OSError:
            pass


def handle_request(request):
    path, _, query = request.uri.partition("?")
    if path == "/chaos/raise":
        raise RuntimeError("soak: raised on purpose")
    if path == "/chaos/exit":
        os._exit(3)
    if path == "/chaos/hang":
        time.sleep(10 ** 6)
    if path == "/chaos/frame":
        _huge_frame()
        time.sleep(60)
    if path == "/chaos/extra":
        _stray_frames()  # a frame of another turn and bytes that are no frame, before the response
        return Response(200, {}, b"extra")
    return Response(200, {"content-type": "text/plain"}, f"ok {query.partition('n=')[2]}".encode())
"""


def exchange(port, data, timeout, *, half_close=False, trickle=None):
    """Send, read to the end of the response (the server's close, or a whole response on a
    connection it keeps open); returns (status or None, body). ``trickle`` is
    (pieces, pause): send them one by one, stop early when the server answers."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        if trickle:
            pieces, pause = trickle
            sock.sendall(data)
            for piece in pieces:
                try:
                    sock.sendall(piece)
                except OSError:  # the server answered and closed: read what it said
                    break
                if pause:
                    time.sleep(pause)
        else:
            sock.sendall(data)
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        raw = bytearray()
        while response_end(raw) is None:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            raw += chunk
    head, _, body = bytes(raw).partition(b"\r\n\r\n")
    try:
        return int(head.split(b" ", 2)[1]), body
    except (IndexError, ValueError):
        return None, bytes(raw)


class Tally:
    def __init__(self):
        self.lock = threading.Lock()
        self.counts = collections.Counter()
        self.latencies = []
        self.samples = {}

    def sample(self, kind, body):
        """Keep the first answer of a kind, to show what a lost request got."""
        with self.lock:
            self.samples.setdefault(kind, body[:300].decode("utf-8", "replace").strip())

    def add(self, kind, latency=None):
        with self.lock:
            self.counts[kind] += 1
            if latency is not None:
                self.latencies.append(latency)


def well_formed(port, component, deadline, tally, timeout):
    """One connection at a time, a request each; the answer must echo its nonce."""
    rng = random.Random()
    while time.monotonic() < deadline:
        nonce = f"{rng.getrandbits(48):x}"
        request = f"GET /{component}/ok?n={nonce} HTTP/1.1\r\nHost: soak\r\n\r\n".encode()
        started = time.perf_counter()
        try:
            status, body = exchange(port, request, timeout)
        except TimeoutError:
            tally.add(f"{component} well-formed: LOST (no answer in {timeout:.0f} s)")
            continue
        except OSError as error:
            tally.add(f"{component} well-formed: LOST ({type(error).__name__})")
            time.sleep(0.05)
            continue
        latency = time.perf_counter() - started
        if status == 200 and body == f"ok {nonce}".encode():
            tally.add(f"{component} well-formed: served", latency)
        else:
            tally.add(f"{component} well-formed: LOST (status {status}, body {body[:30]!r})")
            tally.sample(f"{component} well-formed, status {status}", body)


def slowloris(port, deadline, tally):
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
                sock.sendall(b"GET /steady/ok HTTP/1.1\r\nHost: soak\r\nX-Slow: ")
                while time.monotonic() < deadline:
                    sock.sendall(b"a")
                    time.sleep(1)
            tally.add("slowloris: held to the end of the run")
        except OSError:
            tally.add("slowloris: connection closed by the server")
            time.sleep(0.5)


def oversized(port, deadline, tally, index):
    while time.monotonic() < deadline:
        try:
            if index % 2:
                status, _ = exchange(
                    port, b"POST /steady/ok HTTP/1.1\r\nHost: soak\r\nContent-Length: 214748364800\r\n\r\n", 30
                )
                kind = "Content-Length over the limit"
            else:
                piece = b"100000\r\n" + b"z" * 0x100000 + b"\r\n"  # 1 MiB chunks, up to limit + 2 MiB
                pieces = [piece] * (REQUEST_LIMIT_BYTES // 0x100000 + 2)
                status, _ = exchange(
                    port,
                    b"POST /steady/ok HTTP/1.1\r\nHost: soak\r\nTransfer-Encoding: chunked\r\n\r\n",
                    30,
                    trickle=(pieces, 0),
                )
                kind = "chunked past the limit"
        except OSError as error:
            tally.add(f"oversized ({type(error).__name__})")
            continue
        tally.add(f"oversized, {kind}: {status}")


MALFORMED = [
    ("bad chunk size", b"POST /steady/ok HTTP/1.1\r\nHost: soak\r\nTransfer-Encoding: chunked\r\n\r\nZZZ\r\nabc\r\n0\r\n\r\n", False),
    ("huge chunk size, then close", b"POST /steady/ok HTTP/1.1\r\nHost: soak\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFF\r\nabc", None),
    ("chunked cut short", b"POST /steady/ok HTTP/1.1\r\nHost: soak\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nabc", True),
    ("Content-Length: abc", b"POST /steady/ok HTTP/1.1\r\nHost: soak\r\nContent-Length: abc\r\n\r\nabc", False),
    ("Content-Length: -5", b"POST /steady/ok HTTP/1.1\r\nHost: soak\r\nContent-Length: -5\r\n\r\n", False),
]


def malformed(port, deadline, tally, index):
    n = index
    while time.monotonic() < deadline:
        name, data, half_close = MALFORMED[n % len(MALFORMED)]
        n += 1
        try:
            if half_close is None:  # send and go away without reading
                with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
                    sock.sendall(data)
                tally.add(f"malformed, {name}: sent and closed")
                time.sleep(0.2)
                continue
            status, _ = exchange(port, data, 30, half_close=half_close)
        except OSError as error:
            tally.add(f"malformed, {name}: {type(error).__name__}")
            continue
        tally.add(f"malformed, {name}: {status}")


def chaos(port, deadline, tally, index, hang_timeout):
    kind = ("raise", "exit", "hang", "extra", "frame", "exit", "extra", "frame")[index % 8]
    while time.monotonic() < deadline:
        timeout = hang_timeout if kind == "hang" else 30
        try:
            status, _ = exchange(port, f"GET /chaos/{kind} HTTP/1.1\r\nHost: soak\r\n\r\n".encode(), timeout)
        except TimeoutError:
            tally.add(f"chaos {kind}: no answer in {timeout:.0f} s")
            continue
        except OSError as error:
            tally.add(f"chaos {kind}: {type(error).__name__}")
            continue
        tally.add(f"chaos {kind}: {status}")
        time.sleep(0.2)


def non_reader(port, started, tally, cut):
    """Read the head of bulk's 24 MiB response, then nothing until past the I/O limit; then
    drain: the server should have cut the connection (fewer bytes than the whole)."""
    try:
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)  # before connecting: a small window
            sock.settimeout(10)
            sock.connect(("127.0.0.1", port))
            sock.sendall(b"GET /bulk/big HTTP/1.1\r\nHost: soak\r\n\r\n")
            received = len(sock.recv(4096))
            time.sleep(max(0.0, started + IO_LIMIT + 8 - time.monotonic()))
            sock.settimeout(10)
            while chunk := sock.recv(1 << 20):
                received += len(chunk)
    except OSError as error:
        tally.add(f"non-reading client: {type(error).__name__}")
        cut.append(True)
        return
    was_cut = received < BULK_BYTES
    cut.append(was_cut)
    tally.add(f"non-reading client: {'cut by the server' if was_cut else 'got it all'}")


def bulk_probe(port, started, tally, freed):
    """Once the non-reading clients' I/O limit has passed, bulk must answer again at once."""
    time.sleep(max(0.0, started + IO_LIMIT + 6 - time.monotonic()))
    try:
        status, body = exchange(port, b"GET /bulk/small HTTP/1.1\r\nHost: soak\r\n\r\n", 5)
    except OSError as error:
        status, body = None, repr(error).encode()
    freed.append(status == 200 and body == b"small")
    tally.add(f"bulk after the I/O limit: {status}")


def stalled(port, deadline, tally):
    """Read the first piece of a stream whose handler then sends nothing: the server should cut
    it --request-timeout after that piece."""
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=REQUEST_TIMEOUT + 30) as sock:
                sock.sendall(b"GET /stall/ HTTP/1.1\r\nHost: soak\r\n\r\n")
                received = sock.recv(65536)
                while b"first piece" not in received and (chunk := sock.recv(65536)):
                    received += chunk
                first = time.monotonic()
                while chunk := sock.recv(65536):
                    received += chunk
        except OSError as error:
            tally.add(f"stalled stream: {type(error).__name__}")
            continue
        seconds = time.monotonic() - first
        ended = received.endswith(b"0\r\n\r\n")
        within = "within" if abs(seconds - REQUEST_TIMEOUT) < 1 else "NOT within"
        tally.add(f"stalled stream: {'ended (!)' if ended else 'cut'} {within} 1 s of {REQUEST_TIMEOUT} s after its first piece")


def downloads(port, deadline, tally, index):
    encodings = (None, "gzip", "br", "deflate")
    n = index
    while time.monotonic() < deadline:
        encoding = encodings[n % len(encodings)]
        n += 1
        extra = f"Accept-Encoding: {encoding}\r\n" if encoding else ""
        request = f"GET /files/big.bin HTTP/1.1\r\nHost: soak\r\n{extra}\r\n".encode()
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
                sock.sendall(request)
                received = 0
                head = b""
                while chunk := sock.recv(1 << 20):
                    if not head:
                        head = chunk[:12]
                    received += len(chunk)
        except OSError as error:
            tally.add(f"large file ({encoding or 'identity'}): {type(error).__name__}")
            continue
        whole = encoding is not None or received > FILE_BYTES
        tally.add(f"large file ({encoding or 'identity'}): {head[9:12].decode(errors='replace')}"
                  f"{'' if whole else ' SHORT'}")


def runaway(port, deadline, tally):
    """A handler whose SQLite query never ends: the request's time limit must end the call."""
    while time.monotonic() < deadline:
        started = time.monotonic()
        try:
            status, _ = exchange(port, b"GET /runaway/ HTTP/1.1\r\nHost: x\r\n\r\n", REQUEST_TIMEOUT + 20)
        except OSError:
            tally.add("runaway host call: connection failed")
            continue
        ended = status == 500 and time.monotonic() - started < REQUEST_TIMEOUT + 5
        tally.add("runaway host call: ended by --request-timeout" if ended else "runaway host call: NOT ENDED in time")


def app_processes(marker):
    """Live processes whose command line names ``marker`` (the app's folder)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker.encode() in (entry / "cmdline").read_bytes() and \
                        (entry / "stat").read_text().rpartition(")")[2].split()[0] != "Z":
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def rss_mb(pid, field="VmRSS"):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def workers_by_component(host_pid):
    """Live instances of each component: the processes its zygotes forked (the host starts a base
    process per component, which forks a zygote per load of the code)."""
    children = collections.defaultdict(list)
    commands = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rpartition(")")[2].split()
            commands[int(entry.name)] = (entry / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if fields[0] != "Z":
            children[int(fields[1])].append(int(entry.name))
    counts = collections.Counter()
    for base in children[host_pid]:
        component = next((c for c in COMPONENTS if f'"component": "{c}"' in commands.get(base, "")), "other")
        for zygote in children[base]:
            counts[component] += len(children[zygote])
    return counts


COMPONENTS = ("steady", "chaos", "bulk", "stall", "runaway")


def run_threads(targets):
    threads = [threading.Thread(target=target, args=args, daemon=True) for target, args in targets]
    for thread in threads:
        thread.start()
    return threads


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60, help=f"length of the 200-connection phase (at most {MAX_SECONDS})")
    parser.add_argument("--latency-seconds", type=float, default=10, help="length of the 50-connection phase")
    parser.add_argument("--max-workers", type=int, default=8)
    parser.add_argument("--hang-timeout", type=float, default=10, help="how long a client waits on a hanging handler")
    options = parser.parse_args()
    seconds = min(max(options.seconds, 1), MAX_SECONDS)
    latency_seconds = min(max(options.latency_seconds, 1), MAX_SECONDS)

    with tempfile.TemporaryDirectory() as folder:
        app = write_app(Path(folder) / "app", MANIFEST, {"steady.py": STEADY, "chaos.py": CHAOS, "bulk.py": BULK,
                                                         "stall.py": STALL, "runaway.py": RUNAWAY})
        (app.parent / "static").mkdir()
        with open(app.parent / "static" / "big.bin", "wb") as file:  # half random, half repetitive
            file.write(random.randbytes(FILE_BYTES // 2) + b"spin-py soak " * (FILE_BYTES // 2 // 13 + 1))
        server = LiveServer(
            app, "--no-watch", "--max-workers", str(options.max_workers), "--max-request-body", REQUEST_LIMIT,
            "--request-timeout", str(REQUEST_TIMEOUT), "--python", str(sdk4_python()),
            "--state-dir", str(Path(folder) / "state"), log_path=Path(folder) / "spin-py.log",
        ).wait_ready()
        try:
            checks = soak(server, seconds, latency_seconds, options)
        finally:
            log_tail = server.output().splitlines()[-5:]
            server.stop()  # SIGTERM
        deadline = time.monotonic() + 5
        while app_processes(folder) and time.monotonic() < deadline:
            time.sleep(0.1)
        left = app_processes(folder)
        checks.append(("no process of the app left after SIGTERM", not left))
    print("\nlast lines of the host's terminal:")
    for line in log_tail:
        print("  " + line[:200])
    print(f"processes of the app left after SIGTERM: {len(left)}")
    print("\ntargets:")
    for name, ok in checks:
        print(f"  {'PASS' if ok else 'FAIL'}  {name}")
    sys.exit(0 if all(ok for _, ok in checks) else 1)


def soak(server, seconds, latency_seconds, options):
    port, pid = server.port, server.process.pid
    warm = Tally()
    well_formed(port, "steady", time.monotonic() + 1, warm, 10)
    well_formed(port, "chaos", time.monotonic() + 1, warm, 10)
    rss_start = rss_mb(pid)

    tally = Tally()
    deadline = time.monotonic() + seconds
    targets = [(well_formed, (port, "steady", deadline, tally, 30)) for _ in range(90)]
    targets += [(well_formed, (port, "chaos", deadline, tally, 30)) for _ in range(50)]
    targets += [(slowloris, (port, deadline, tally)) for _ in range(20)]
    targets += [(oversized, (port, deadline, tally, i)) for i in range(10)]
    targets += [(malformed, (port, deadline, tally, i)) for i in range(15)]
    targets += [(chaos, (port, deadline, tally, i, options.hang_timeout)) for i in range(15)]
    started = time.monotonic()
    cut, freed = [], []
    targets += [(non_reader, (port, started, tally, cut)) for _ in range(options.max_workers)]
    targets += [(bulk_probe, (port, started, tally, freed))]
    targets += [(stalled, (port, deadline, tally)) for _ in range(4)]
    targets += [(downloads, (port, deadline, tally, i)) for i in range(4)]
    targets += [(runaway, (port, deadline, tally)) for _ in range(2)]
    print(f"soak: {len(targets)} connections for {seconds:.0f} s on port {port} "
          f"(the non-reading clients for {IO_LIMIT + 8} s) ...", flush=True)
    threads = run_threads(targets)
    for thread in threads:
        thread.join(timeout=max(0.0, max(deadline, started + IO_LIMIT + 15) + 40 - time.monotonic()))
    stuck = sum(thread.is_alive() for thread in threads)
    elapsed = time.monotonic() - started

    print(f"latency: 50 well-formed connections for {latency_seconds:.0f} s ...", flush=True)
    latency = Tally()
    latency_deadline = time.monotonic() + latency_seconds
    for thread in run_threads([(well_formed, (port, "steady", latency_deadline, latency, 30)) for _ in range(50)]):
        thread.join(timeout=latency_seconds + 40)

    time.sleep(2)  # let retired workers exit and freed memory settle
    rss_end = rss_mb(pid)
    rss_peak = rss_mb(pid, "VmHWM")
    workers = workers_by_component(pid)
    alive = server.process.poll() is None

    served = sum(n for kind, n in tally.counts.items() if kind.endswith("well-formed: served"))
    lost = sum(n for kind, n in tally.counts.items() if "well-formed: LOST" in kind)
    lost += sum(n for kind, n in latency.counts.items() if "LOST" in kind)
    ordered = sorted(latency.latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] if ordered else float("nan")
    p50 = ordered[len(ordered) // 2] if ordered else float("nan")

    print(f"\nsoak phase: {elapsed:.1f} s, {len(targets)} connections; client threads still stuck at the end: {stuck}")
    print(f"well-formed requests served: {served} ({served / elapsed:.0f}/s), lost: {lost}")
    print("answers by kind:")
    for kind, count in sorted(tally.counts.items()):
        print(f"  {count:7d}  {kind}")
    for kind, text in sorted({**tally.samples, **latency.samples}.items()):
        print(f"  first lost answer, {kind}: {text!r}")
    print(f"latency phase: {sum(latency.counts.values())} requests at 50 connections, "
          f"p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms")
    for kind, count in sorted(latency.counts.items()):
        if "LOST" in kind:
            print(f"  {count:7d}  {kind}")
    print(f"host RSS: {rss_start:.0f} MB at the start, {rss_end:.0f} MB at the end ({rss_end - rss_start:+.0f} MB), "
          f"peak {rss_peak:.0f} MB")
    print(f"workers at the end: {dict(workers) or 0} (max-workers {options.max_workers}); host alive: {alive}")

    checks = [
        ("no well-formed request lost", lost == 0 and stuck == 0),
        ("host RSS at the end within 100 MB of the start", rss_end - rss_start <= 100),
        (f"workers at the end <= {options.max_workers + 1} per component",
         all(workers[c] <= options.max_workers + 1 for c in COMPONENTS)),
        ("clients that stopped reading were cut at the I/O limit", bool(cut) and all(cut)),
        ("bulk served again once the I/O limit had passed", freed == [True]),
        ("p99 < 1 s at 50 connections", p99 < 1.0),
        ("host still serving", alive),
        ("runaway host calls ended by the request's time limit",
         tally.counts["runaway host call: ended by --request-timeout"] > 0
         and not tally.counts["runaway host call: NOT ENDED in time"]),
    ]
    return checks


if __name__ == "__main__":
    main()
