"""What recording costs: hello-world requests per second through `spin-py up` with the dev
inspector on (every request and host call recorded, and a page listening to the live feed)
against the same app with `--no-inspector`, loaded by the same client in one run.

    .venv/bin/python bench/inspector.py [--seconds 5] [--connections 8] [--rounds 3]

Each round loads both servers in turn (alternating which goes first); the figures are
medians over rounds, and the ratio is inspector on / off. Beside throughput, which a shared
machine makes noisy, it reports the host process's own CPU time per request on each side
(user + system, from /proc): recording happens in the host, so that is where it shows.
"""

import argparse
import os
import re
import statistics
import tempfile
import threading
import urllib.request
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
APP = HERE / "hello"

import sys  # noqa: E402

sys.path.insert(0, str(HERE.parent / "tests"))
sys.path.insert(0, str(HERE))

from live import LiveServer  # noqa: E402
from loadgen import compare, load, report  # noqa: E402


def check(path: str, status: int, body: bytes) -> None:
    assert status == 200 and body == b"Hello, bench!\n", (status, body)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far (/proc/PID/stat, fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measured(server: LiveServer, connections: int, costs: list[float]) -> Callable[[float], float]:
    """A side for ``compare``: requests per second, noting the host's CPU ms per request in ``costs``."""
    def run(seconds: float) -> float:
        before = cpu_seconds(server.process.pid)
        rate = load(server.port, ["/hello"], check, seconds, connections)
        costs.append((cpu_seconds(server.process.pid) - before) * 1000 / max(1.0, rate * seconds))
        return rate

    return run


def listen(url: str, stop: threading.Event, seen: list[int]) -> None:
    """A page's live feed, read to the end: what the inspector sends while requests run."""
    with urllib.request.urlopen(url + "api/events?since=0", timeout=60) as stream:
        while not stop.is_set():
            line = stream.readline()
            if not line:
                return
            if line.startswith(b"event: "):
                seen[0] += 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-page", action="store_true", help="record with no page listening to the live feed")
    options = parser.parse_args()

    with tempfile.TemporaryDirectory() as on_state, tempfile.TemporaryDirectory() as off_state:
        on = LiveServer(APP, "--state-dir", on_state, log_path=Path(on_state) / "spin-py.log").wait_ready()
        off = LiveServer(APP, "--state-dir", off_state, "--no-inspector", log_path=Path(off_state) / "spin-py.log").wait_ready()
        stop, seen = threading.Event(), [0]
        try:
            on.wait_for_output("Inspector: ")
            found = re.search(r"^Inspector: (http://\S+/)$", on.output(), re.M)
            assert found and "Inspector: " not in off.output(), (on.output(), off.output())
            if not options.no_page:
                threading.Thread(target=listen, args=(found.group(1), stop, seen), daemon=True).start()
            costs: dict[str, list[float]] = {"inspector on": [], "--no-inspector": []}
            results = compare(
                {name: measured(server, options.connections, costs[name])
                 for name, server in (("inspector on", on), ("--no-inspector", off))},
                options.rounds,
                options.seconds,
            )
        finally:
            stop.set()
            on.stop()
            off.stop()
    print(f"(the listening page got {seen[0]} events)")
    for name, values in costs.items():
        rounds = values[1:]  # the first is the warm-up
        print(f"host CPU per request, {name}: {statistics.median(rounds):.3f} ms (rounds: {', '.join(f'{v:.3f}' for v in rounds)})")
    on_cost, off_cost = (statistics.median(values[1:]) for values in costs.values())
    print(f"host CPU ratio inspector on / --no-inspector: {on_cost / off_cost:.2f}")
    report(results, target=0.95)


if __name__ == "__main__":
    main()
