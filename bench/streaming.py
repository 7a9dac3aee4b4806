"""Streaming bodies: a large upload echoed back through spin-python-sdk's `streaming`
example (the raw wasi:http 0.3 export, spin-sdk 5.0.0) under `spin-py up`, with the
peak memory of the host and of the worker.

    .venv/bin/python bench/streaming.py [--megabytes 1024]

The client sends the body (Content-Length, in 256 KiB writes) while it reads the
chunked echo, hashing both; it prints the throughput and each process's peak RSS
(VmHWM from /proc/<pid>/status) before and after. Target: neither process peaks more
than a few MB higher than before, whatever the size.
"""

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
TESTS = HERE.parent / "tests"
sys.path[:0] = [str(TESTS), str(TESTS / "trigger" / "streaming")]

from apps import sdk5_python  # noqa: E402
from live import LiveServer  # noqa: E402
from test_streaming_bodies import InstancePeaks, echo, high_water_mib  # noqa: E402

EXAMPLE = TESTS / "trigger" / "streaming" / "example_streaming"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=int, default=1024)
    options = parser.parse_args()
    size = options.megabytes * 1024 * 1024
    block = os.urandom(256 * 1024)

    with tempfile.TemporaryDirectory() as state:
        app = Path(state) / "streaming"
        shutil.copytree(EXAMPLE, app, ignore=shutil.ignore_patterns("ORIGIN.md"))
        server = LiveServer(app / "spin.toml", "--python", str(sdk5_python()), "--max-workers", "1",
                            "--max-request-body", f"{options.megabytes + 1}M", "--state-dir", state,
                            log_path=Path(state) / "spin-py.log").wait_ready(timeout=120)
        try:
            assert server.request("POST", "/echo", body=b"warm")[2] == b"warm"
            time.sleep(0.5)  # whatever the host started besides settles
            host_before = high_water_mib(server.process.pid)
            started = time.perf_counter()
            with InstancePeaks(server.process.pid) as instance:
                sent, echoed = echo(server.port, size, block, timeout=120)
            elapsed = time.perf_counter() - started
            host_after = high_water_mib(server.process.pid)
        finally:
            server.stop()
    # The instance that served the echo is gone afterwards: its peak was sampled while it ran, and
    # it started as a copy of its zygote.
    before = {"host": host_before, "instance": instance.zygote_rss}
    after = {"host": host_after, "instance": instance.peak}
    pids = before

    same = echoed.size == size and echoed.digest.hexdigest() == sent.hexdigest()
    print(f"echoed {echoed.size / 2**20:.0f} MiB of {options.megabytes} MiB in {elapsed:.1f} s "
          f"({echoed.size / 2**20 / elapsed:.0f} MiB/s), identical: {same}")
    for name in pids:
        print(f"{name:>16}: peak RSS {before[name]:.1f} MiB before, "
              f"{after[name]:.1f} MiB after (+{after[name] - before[name]:.1f} MiB)")
    worst = max(after[name] - before[name] for name in pids)
    print(f"target: every process within a few MB of its peak before ({'PASS' if worst < 16 and same else 'FAIL'}: +{worst:.1f} MiB)")
    sys.exit(0 if same and worst < 16 else 1)


if __name__ == "__main__":
    main()
