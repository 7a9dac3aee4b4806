"""Requests per second of a handler making one outbound GET to a local server through
spin_http.http_send (the host's outbound HTTP capability), against the same handler
making that GET with the same client library (urllib3) directly in the worker, both
served by one `spin-py up` and loaded by the same client in one run.

    .venv/bin/python bench/outbound_http.py [--seconds 5] [--connections 4] [--rounds 3]

The capability's GET crosses the worker's channel to the host, which checks
allowed_outbound_hosts and sends it with its pooled urllib3 client; the direct
handler keeps its own urllib3 pool (its socket checked by the worker's audit hook).
Each round loads both routes in turn (alternating which goes first); figures are
medians over rounds; the ratio is capability / direct (target: 0.8 or more).
"""

import argparse
import sys
import tempfile
import textwrap
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
sys.path.insert(0, str(HERE))

from live import LiveServer  # noqa: E402
from loadgen import compare, load, report  # noqa: E402

VALUE = "a value of some length, " * 8

APP = '''
import encodings.idna, os, urllib3  # socket resolves names through the idna codec
from spin_http import Request, Response, http_send

POOL = urllib3.PoolManager()

def handle_request(request):
    url = os.environ["ORIGIN"] + "/value"
    if request.uri.startswith("/capability"):
        body = http_send(Request("GET", url, {}, None)).body
    else:
        body = POOL.request("GET", url).data
    return Response(200, {"content-type": "text/plain"}, body)
'''

MANIFEST = '''
spin_manifest_version = 2

[application]
name = "outbound-bench"

[[trigger.http]]
route = "/capability"
component = "capability"

[[trigger.http]]
route = "/direct"
component = "direct"

[component.capability]
source = "app.wasm"
allowed_outbound_hosts = ["{origin}"]
environment = {{ ORIGIN = "{origin}" }}
[component.capability.build]
command = "componentize-py -w spin-http componentize app -o app.wasm"

[component.direct]
source = "app.wasm"
allowed_outbound_hosts = ["{origin}"]
environment = {{ ORIGIN = "{origin}" }}
[component.direct.build]
command = "componentize-py -w spin-http componentize app -o app.wasm"
'''


def check(path, status, body):
    assert status == 200 and body == VALUE.encode(), (path, status, body[:200])


class Origin(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, for both clients
    disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms delayed-ACK stall

    def do_GET(self):
        body = VALUE.encode()
        self.send_response(200)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    origin = ThreadingHTTPServer(("127.0.0.1", 0), Origin)
    threading.Thread(target=origin.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{origin.server_address[1]}"
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        (folder / "app.py").write_text(APP)
        (folder / "spin.toml").write_text(textwrap.dedent(MANIFEST).format(origin=url))
        server = LiveServer(folder / "spin.toml", "--python", sys.executable, "--max-workers", str(args.connections),
                            "--no-watch", log_path=folder / "spin-py.log")
        try:
            server.wait_ready()
            results = compare(
                {path: lambda seconds, path=path: load(server.port, [path], check, seconds, args.connections)
                 for path in ("/capability", "/direct")},
                args.rounds,
                args.seconds,
            )
        finally:
            server.stop()
            origin.shutdown()
    report({"http_send (host)": results["/capability"], "urllib3 in worker": results["/direct"]}, target=0.8)

if __name__ == "__main__":
    main()
