"""Hot reload latency: edit a handler 20 times; after each write, poll until a
response carries the new text. Reports the time from the write to the first
new response (p50, p95), the same for stopping and starting the whole server,
and how many times the embeddings model was loaded in the reload run (the
component calls generate_embeddings on every request, so a reload that
reloaded models would show here).

    .venv/bin/python bench/reload_latency.py [--edits 20] [--ai-engine models|deterministic]
"""

import argparse
import http.client
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from live import LiveServer  # noqa: E402

HANDLER = """from spin_http import Response
from spin_llm import generate_embeddings


def handle_request(request):
    vector = generate_embeddings("all-minilm-l6-v2", ["a reload benchmark"]).embeddings[0]
    return Response(200, {{"content-type": "text/plain"}}, b"version {version} %d" % len(vector))
"""


def fetch(port):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request("GET", "/")
        return connection.getresponse().read()
    finally:
        connection.close()


def wait_for(port, expected, timeout=30):
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        try:
            if fetch(port).startswith(expected):
                return
        except OSError:
            pass  # the server is not listening yet (restart case)
        time.sleep(0.005)
    raise TimeoutError(f"never saw {expected!r}")


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edits", type=int, default=20)
    parser.add_argument("--ai-engine", default="models", choices=["models", "deterministic"])
    options = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        app = Path(folder) / "app"
        shutil.copytree(HERE / "reload", app)
        (app / "app.py").write_text(HANDLER.format(version=0))
        flags = ("--ai-engine", options.ai_engine)

        server = LiveServer(app, *flags, log_path=Path(folder) / "reload.log").wait_ready()
        reloads = []
        try:
            wait_for(server.port, b"version 0")
            for version in range(1, options.edits + 1):
                started = time.perf_counter()
                (app / "app.py").write_text(HANDLER.format(version=version))
                wait_for(server.port, b"version %d" % version)
                reloads.append(time.perf_counter() - started)
            loads = server.output().count("Loaded all-minilm-l6-v2")
        finally:
            server.stop()

        restarts = []
        for version in range(options.edits + 1, options.edits + 1 + max(3, options.edits // 4)):
            started = time.perf_counter()
            (app / "app.py").write_text(HANDLER.format(version=version))
            server = LiveServer(app, *flags, "--no-watch", log_path=Path(folder) / f"restart-{version}.log")
            try:
                server.wait_ready()
                wait_for(server.port, b"version %d" % version)
                restarts.append(time.perf_counter() - started)
            finally:
                server.stop()

    ms = lambda seconds: f"{seconds * 1000:7.0f} ms"  # noqa: E731
    print(f"reload  (write -> new response), {len(reloads)} edits: p50 {ms(statistics.median(reloads))}  p95 {ms(percentile(reloads, 0.95))}")
    print(f"restart (write -> new response), {len(restarts)} runs:  p50 {ms(statistics.median(restarts))}  p95 {ms(percentile(restarts, 0.95))}")
    print(f"restart / reload (p50): {statistics.median(restarts) / statistics.median(reloads):.1f}x")
    if options.ai_engine == "models":
        print(f"embeddings model loads during the {len(reloads)} reloads: {loads} (target 1)")


if __name__ == "__main__":
    main()
