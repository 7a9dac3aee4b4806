"""Reload latency with `spin build` running in the background vs with --no-build-check: edit a
spin-sdk 4 handler, and time from the write to the first response carrying the new text.

With the check on, every edit supersedes a real componentize-py build (the previous edit's, started
once the edits were quiet for half a second, running at nice 10) and starts another: this measures
what the background build costs a reload. Rounds alternate which side goes first; the ratio is of
medians (on / off).

    .venv/bin/python bench/build_check.py [--edits 10] [--rounds 3] [--pause 1.5]
"""

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from live import LiveServer  # noqa: E402
from reload_latency import wait_for  # noqa: E402
from venvs import venv_python  # noqa: E402

BUILDER = ("componentize-py312", "3.12", ["spin-sdk==4.0.0", "componentize-py==0.23.0"])  # as tests/host/test_build_check.py

MANIFEST = """spin_manifest_version = 2

[application]
name = "bench-build-check"

[[trigger.http]]
route = "/..."
component = "hello"

[component.hello]
source = "app.wasm"
[component.hello.build]
command = "componentize-py -w http-trigger componentize app -o app.wasm"
"""

HANDLER = """from spin_sdk import http
from spin_sdk.http import Request, Response


class HttpHandler(http.Handler):
    async def handle_request(self, request: Request) -> Response:
        return Response(200, {{"content-type": "text/plain"}}, b"version {version}")
"""


def side(python, check, edits, pause):
    """Reload latencies (ms) of ``edits`` edits, each ``pause`` seconds after the previous reload."""
    with tempfile.TemporaryDirectory() as folder:
        app = Path(folder) / "app"
        app.mkdir()
        (app / "spin.toml").write_text(MANIFEST)
        (app / "app.py").write_text(HANDLER.format(version=0))
        flag = "--build-check" if check else "--no-build-check"
        server = LiveServer(app, "--python", str(python), flag, log_path=Path(folder) / "spin-py.log").wait_ready()
        times = []
        try:
            wait_for(server.port, b"version 0")
            for version in range(1, edits + 1):
                time.sleep(pause)  # the next build is running by now (check on)
                started = time.perf_counter()
                (app / "app.py").write_text(HANDLER.format(version=version))
                wait_for(server.port, b"version %d" % version)
                times.append((time.perf_counter() - started) * 1000)
            builds = server.output().count("Build check for component")
            if check and not (app / ".spin" / "logs" / "hello_build.txt").exists():
                raise RuntimeError(f"no build ever started:\n{server.output()}")
        finally:
            server.stop()
        return times, builds


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edits", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pause", type=float, default=1.5, help="seconds between a reload and the next edit")
    options = parser.parse_args()
    python = venv_python(*BUILDER)
    results = {True: [], False: []}
    finished = 0
    for round_ in range(options.rounds):
        for check in ((True, False) if round_ % 2 == 0 else (False, True)):
            times, builds = side(python, check, options.edits, options.pause)
            results[check] += times
            finished += builds if check else 0
    on, off = statistics.median(results[True]), statistics.median(results[False])
    print(f"reload, write to first new response, median of {len(results[True])} edits each:")
    print(f"  build check on (a componentize-py build running at each edit): {on:.0f} ms "
          f"(p95 {sorted(results[True])[int(0.95 * (len(results[True]) - 1))]:.0f})")
    print(f"  --no-build-check: {off:.0f} ms (p95 {sorted(results[False])[int(0.95 * (len(results[False]) - 1))]:.0f})")
    print(f"  ratio on/off: {on / off:.2f}; builds that ran to an outcome: {finished}")


if __name__ == "__main__":
    main()
