"""Static file requests per second through `spin-py up` (a spin-fileserver component answered
by the host), against werkzeug's SharedDataMiddleware serving the same files in a werkzeug
threaded server, loaded by the same client in one run.

    .venv/bin/python bench/static_files.py [--seconds 3] [--connections 4] [--rounds 5]

Each request asks for one of a small site's files in turn (HTML, CSS, JS, an image; 1 to 40 KB)
without Accept-Encoding, on keep-alive connections (both servers close each one after the
response, so each request is a new connection in practice). Both servers log one line per
request to a file. Each round loads both servers in turn, alternating which goes first; the
figures are medians over rounds and the ratio is spin-py / werkzeug (target: 0.8 or more).
"""

import argparse
import http.client
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
sys.path.insert(0, str(HERE))

from live import LiveServer, free_port  # noqa: E402
from loadgen import compare, load, report  # noqa: E402

SITE = {
    "index.html": b"<!doctype html><title>shop</title>" + b"<p>hello</p>\n" * 80,
    "style.css": b"body { margin: 0; color: #222 }\n" * 150,
    "app.js": b"console.log('a line of a bundled script');\n" * 900,
    "logo.png": bytes(range(256)) * 24,
}
PATHS = ["/", "/style.css", "/app.js", "/logo.png"]
EXPECTED = {"/": SITE["index.html"], "/style.css": SITE["style.css"], "/app.js": SITE["app.js"], "/logo.png": SITE["logo.png"]}

MANIFEST = """spin_manifest_version = 2

[application]
name = "static-bench"

[[trigger.http]]
route = "/..."
component = "ui"

[component.ui]
source = { url = "https://github.com/spinframework/spin-fileserver/releases/download/v0.3.0/spin_static_fs.wasm", digest = "sha256:ef88708817e107bf49985c7cefe4dd1f199bf26f6727819183d5c996baa3d148" }
files = [{ source = "static", destination = "/" }]
"""

# werkzeug's own static file middleware in werkzeug's threaded dev server, logging as it does by default.
WERKZEUG_SERVER = """
import sys
from werkzeug.middleware.shared_data import SharedDataMiddleware
from werkzeug.serving import run_simple
from werkzeug.wrappers import Response

def not_found(environ, start_response):
    return Response("Not Found", status=404)(environ, start_response)

app = SharedDataMiddleware(not_found, {"/": sys.argv[2]}, fallback_mimetype="application/octet-stream")
# SharedDataMiddleware serves no index.html for "/": point "/" at it as spin-fileserver does.
def site(environ, start_response):
    if environ["PATH_INFO"] == "/":
        environ["PATH_INFO"] = "/index.html"
    return app(environ, start_response)

run_simple("127.0.0.1", int(sys.argv[1]), site, threaded=True)
"""


def check(path, status, body):
    assert status == 200 and body == EXPECTED[path], (path, status, body[:200])


def wait_listening(port, process, timeout=30):
    deadline = time.monotonic() + timeout
    while True:
        try:
            http.client.HTTPConnection("127.0.0.1", port, timeout=1).connect()
            return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the werkzeug server did not start") from None
            time.sleep(0.05)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        static = folder / "static"
        static.mkdir()
        for name, data in SITE.items():
            (static / name).write_bytes(data)
        (folder / "spin.toml").write_text(MANIFEST)
        spin = LiveServer(folder / "spin.toml", "--no-watch", log_path=folder / "spin-py.log")
        port = free_port()
        with open(folder / "werkzeug.log", "wb") as log:
            werkzeug = subprocess.Popen([sys.executable, "-c", WERKZEUG_SERVER, str(port), str(static)],
                                        stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})
            try:
                spin.wait_ready()
                wait_listening(port, werkzeug)
                results = compare(
                    {name: lambda seconds, server_port=server_port: load(server_port, PATHS, check, seconds, args.connections)
                     for name, server_port in (("spin-py", spin.port), ("werkzeug", port))},
                    args.rounds,
                    args.seconds,
                )
            finally:
                spin.stop()
                werkzeug.terminate()
                werkzeug.wait(timeout=10)
    report(results, target=0.8)

if __name__ == "__main__":
    main()
