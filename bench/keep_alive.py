"""Requests per second with keep-alive: the hello handler through `spin-py up`, each of 4
clients on one connection for the whole run, vs the same function in a bare werkzeug
threaded server, which closes every connection (so its clients connect for every request).
A third side, `spin-py up` with clients that send `Connection: close`, tells what keep-alive
itself is worth on the same server. CPU time per request of each side's processes (the
`spin-py up` host, and its base, zygote and the instances they forked) says where the time goes.

    .venv/bin/python bench/keep_alive.py [--seconds 5] [--connections 4] [--rounds 3]

Rounds alternate the order of the sides; figures are medians over rounds.
"""

import argparse
import http.client
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
sys.path.insert(0, str(HERE))

from http_throughput import APP, check, start_bare_server  # noqa: E402
from live import LiveServer  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def load(port: int, seconds: float, connections: int, close: bool) -> tuple[float, int, int]:
    """``(requests per second, requests, connections opened)`` from ``connections`` clients,
    each reusing its connection unless the server (or ``close``) ends it."""
    counts, opened = [0] * connections, [0] * connections
    headers = {"Connection": "close"} if close else {}
    deadline = time.perf_counter() + seconds

    def client(index: int) -> None:
        connection = None
        while time.perf_counter() < deadline:
            if connection is None:
                connection = http.client.HTTPConnection("127.0.0.1", port)
                opened[index] += 1
            connection.request("GET", "/hello", headers=headers)
            response = connection.getresponse()
            check("/hello", response.status, response.read())
            if response.will_close:
                connection.close()
                connection = None
            counts[index] += 1
        if connection is not None:
            connection.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(counts) / (time.perf_counter() - started), sum(counts), sum(opened)


def tree_cpu(pid: int) -> dict[str, float]:
    """CPU seconds used so far by ``pid`` (``host``) and by its descendants (``instances``:
    base processes, zygotes and the instances they forked and reaped)."""
    children: dict[int, list[int]] = {}
    stats: dict[int, list[str]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            text = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = text.rpartition(")")[2].split()
        stats[int(entry)] = fields
        children.setdefault(int(fields[1]), []).append(int(entry))

    def seconds(fields: list[str], reaped: bool) -> float:
        own = int(fields[11]) + int(fields[12])  # utime, stime
        return (own + (int(fields[13]) + int(fields[14]) if reaped else 0)) / TICKS  # cutime, cstime

    host = seconds(stats[pid], reaped=False)
    instances, stack = 0.0, list(children.get(pid, []))
    while stack:
        child = stack.pop()
        instances += seconds(stats[child], reaped=True)
        stack += children.get(child, [])
    return {"host": host, "instances": instances}


def measured(pid: int, run: Callable[[], tuple[float, int, int]]) -> dict[str, float]:
    before = tree_cpu(pid)
    rate, requests, opened = run()
    after = tree_cpu(pid)
    per = {name: (after[name] - before[name]) * 1000 / max(requests, 1) for name in after}
    return {"rate": rate, "connections": opened, "host_ms": per["host"], "instances_ms": per["instances"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()

    with tempfile.TemporaryDirectory() as state:
        spin = LiveServer(APP, "--state-dir", state, "--no-watch", log_path=Path(state) / "spin-py.log").wait_ready()
        bare, bare_port = start_bare_server()
        sides = {
            "spin-py up, keep-alive": (spin.process.pid, spin.port, False),
            "bare werkzeug (closes each)": (bare.pid, bare_port, False),
            "spin-py up, Connection: close": (spin.process.pid, spin.port, True),
        }
        results: dict[str, list[dict[str, float]]] = {name: [] for name in sides}
        try:
            for _pid, port, close in sides.values():  # warm up: instances forked ahead, threads started
                load(port, 1.0, options.connections, close)
            order = list(sides)
            for round_number in range(options.rounds):
                for name in order if round_number % 2 == 0 else reversed(order):
                    pid, port, close = sides[name]
                    results[name].append(measured(pid, lambda p=port, c=close: load(p, options.seconds, options.connections, c)))
        finally:
            spin.stop()
            bare.terminate()
            bare.wait()

    width = max(len(name) for name in results)
    medians = {}
    for name, rounds in results.items():
        med = {key: statistics.median(r[key] for r in rounds) for key in rounds[0]}
        medians[name] = med
        shown = ", ".join(f"{r['rate']:.0f}" for r in rounds)
        print(f"{name:{width}}  {med['rate']:7.0f} req/s  (rounds: {shown})  "
              f"connections {med['connections']:.0f}; CPU per request: process {med['host_ms']:.2f} ms, "
              f"its children {med['instances_ms']:.2f} ms")
    keep, bare_side, closing = (medians[name]["rate"] for name in sides)
    print(f"ratio spin-py up keep-alive / bare werkzeug: {keep / bare_side:.2f} (target >= 1.3)")
    print(f"ratio spin-py up keep-alive / spin-py up Connection: close: {keep / closing:.2f}")


if __name__ == "__main__":
    main()
