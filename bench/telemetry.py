"""What telemetry costs: hello-world requests per second through `spin-py up` with
telemetry off (the default), with OTLP export on (every request's spans, its log lines and
the request counter sent over http/protobuf to a receiver on loopback), and through the
bare werkzeug server (bench/http_throughput.py's), loaded by the same client in one run.
Both `spin-py up` sides run with --no-inspector, so the only observer is telemetry's.

    .venv/bin/python bench/telemetry.py [--seconds 5] [--connections 8] [--rounds 3]

Each round loads the three servers in turn (the order alternating between rounds); the
figures are medians over rounds. Targets: export on / off >= 0.85, off / bare >= 0.8.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
APP = HERE / "hello"
sys.path.insert(0, str(HERE.parent / "tests"))
sys.path.insert(0, str(HERE))

from http_throughput import check, start_bare_server  # noqa: E402
from live import LiveServer  # noqa: E402
from loadgen import compare, load  # noqa: E402


class Collector:
    """An OTLP/HTTP endpoint that takes every export (200) and counts it, doing no more
    work than a collector's front door: the host's cost is what is measured."""

    def __init__(self) -> None:
        self.exports: dict[str, int] = {}
        self.bytes = 0
        lock = threading.Lock()
        collector = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                size = len(self.rfile.read(int(self.headers.get("content-length", 0))))
                with lock:
                    collector.exports[self.path] = collector.exports.get(self.path, 0) + 1
                    collector.bytes += size
                self.send_response(200)
                self.send_header("content-type", "application/x-protobuf")
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def host_cpu(pid: int) -> float:
    """CPU seconds (user + system) the process ``pid`` has used: /proc/<pid>/stat's utime and stime."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()

    collector = Collector()
    with tempfile.TemporaryDirectory() as off_state, tempfile.TemporaryDirectory() as on_state:
        off = LiveServer(APP, "--state-dir", off_state, "--no-inspector", log_path=Path(off_state) / "spin-py.log")
        on = LiveServer(APP, "--state-dir", on_state, "--no-inspector", log_path=Path(on_state) / "spin-py.log",
                        env={"OTEL_EXPORTER_OTLP_ENDPOINT": collector.url})
        bare, bare_port = start_bare_server()
        try:
            off.wait_ready()
            on.wait_ready()
            sides = {"telemetry off": off.port, "OTLP export on": on.port, "bare werkzeug server": bare_port}
            # The host process's CPU per request: what telemetry costs, apart from the machine's noise
            # (the instances' CPU is the same on both sides and not counted).
            pids = {"telemetry off": off.process.pid, "OTLP export on": on.process.pid}
            cpu = {name: [0.0, 0.0] for name in pids}  # CPU seconds, requests

            def measured(name: str, port: int, seconds: float) -> float:
                before = host_cpu(pids[name]) if name in pids else 0.0
                rate = load(port, ["/hello"], check, seconds, options.connections)
                if name in pids:
                    cpu[name][0] += host_cpu(pids[name]) - before
                    cpu[name][1] += rate * seconds
                return rate

            results = compare(
                {name: lambda seconds, name=name, port=port: measured(name, port, seconds) for name, port in sides.items()},
                options.rounds,
                options.seconds,
            )
        finally:
            on.stop()  # sends what is queued
            off.stop()
            bare.terminate()
            bare.wait()
            collector.close()

    assert collector.exports.get("/v1/traces"), f"no spans were exported: {collector.exports}"
    medians = {name: statistics.median(rounds) for name, rounds in results.items()}
    width = max(len(name) for name in results)
    for name, rounds in results.items():
        print(f"{name:{width}}  {medians[name]:8.0f} req/s  (rounds: {', '.join(f'{r:.0f}' for r in rounds)})")
    print(f"exports received: {collector.exports}, {collector.bytes} bytes")
    per_request = {name: 1000 * used / max(count, 1) for name, (used, count) in cpu.items()}
    for name, milliseconds in per_request.items():
        print(f"host CPU per request, {name}: {milliseconds:.3f} ms")
    print(f"host CPU per request, OTLP export on / off: {per_request['OTLP export on'] / per_request['telemetry off']:.2f}")
    print(f"ratio OTLP export on / telemetry off: {medians['OTLP export on'] / medians['telemetry off']:.2f} (target >= 0.85)")
    print(f"ratio telemetry off / bare werkzeug server: {medians['telemetry off'] / medians['bare werkzeug server']:.2f} (target >= 0.8)")
    print(f"ratio OTLP export on / bare werkzeug server: {medians['OTLP export on'] / medians['bare werkzeug server']:.2f}")


if __name__ == "__main__":
    main()
