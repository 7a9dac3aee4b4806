"""Requests per second of a handler doing one key-value `get`, against the same
handler reading the same row with Python's sqlite3 directly, both served by one
`spin-py up` and loaded by the same client in one run.

    .venv/bin/python bench/key_value.py [--seconds 5] [--connections 4] [--rounds 3]

The `get` crosses the worker's channel to the host, which checks the
component's key_value_stores and reads Spin's table; the direct handler keeps
its own sqlite3 connection to that same file. Each round loads both routes in
turn (alternating which goes first); figures are medians over rounds, and the
ratio is key-value / direct (target: 0.8 or more).
"""

import argparse
import http.client
import statistics
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from live import LiveServer  # noqa: E402

VALUE = "a value of some length, " * 8

APP = '''
import os, sqlite3
from spin_http import Response
from spin_key_value import kv_open_default

DB = None

def handle_request(request):
    global DB
    if request.uri.startswith("/kv"):
        value = kv_open_default().get("row")
    else:
        if DB is None:
            DB = sqlite3.connect(os.environ["KV_FILE"])
        value = DB.execute("SELECT value FROM spin_key_value WHERE store=?1 AND key=?2", ("default", "row")).fetchone()[0]
    return Response(200, {"content-type": "text/plain"}, value)
'''

MANIFEST = '''
spin_manifest_version = 2

[application]
name = "kv-bench"

[[trigger.http]]
route = "/kv"
component = "kv"

[[trigger.http]]
route = "/direct"
component = "direct"

[component.kv]
source = "app.wasm"
key_value_stores = ["default"]
[component.kv.build]
command = "componentize-py -w spin-http componentize app -o app.wasm"

[component.direct]
source = "app.wasm"
environment = {{ KV_FILE = "{db}" }}
[component.direct.build]
command = "componentize-py -w spin-http componentize app -o app.wasm"
'''


def load(port, path, seconds, connections):
    """Requests per second from ``connections`` keep-alive clients for ``seconds``."""
    counts = [0] * connections
    deadline = time.perf_counter() + seconds

    def client(index):
        connection = http.client.HTTPConnection("127.0.0.1", port)
        while time.perf_counter() < deadline:
            connection.request("GET", path)
            response = connection.getresponse()
            body = response.read()
            assert response.status == 200 and body == VALUE.encode(), (response.status, body[:200])
            counts[index] += 1
        connection.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(counts) / (time.perf_counter() - started)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        db = folder / ".spin" / "sqlite_key_value.db"
        (folder / "app.py").write_text(APP)
        (folder / "spin.toml").write_text(textwrap.dedent(MANIFEST).format(db=db))
        server = LiveServer(folder / "spin.toml", "--python", sys.executable, "--key-value", f"row={VALUE}",
                            "--max-workers", str(args.connections), "--no-watch", log_path=folder / "spin-py.log")
        try:
            server.wait_ready()
            for path in ("/kv", "/direct"):  # warm up: every worker started
                load(server.port, path, 1, args.connections)
            kv, direct = [], []
            for round_ in range(args.rounds):
                order = [("/kv", kv), ("/direct", direct)]
                for path, results in order if round_ % 2 == 0 else reversed(order):
                    results.append(load(server.port, path, args.seconds, args.connections))
        finally:
            server.stop()
    kv_rps, direct_rps = statistics.median(kv), statistics.median(direct)
    print(f"key-value get: {kv_rps:8.0f} req/s  (rounds: {', '.join(f'{r:.0f}' for r in kv)})")
    print(f"direct sqlite3: {direct_rps:7.0f} req/s  (rounds: {', '.join(f'{r:.0f}' for r in direct)})")
    print(f"ratio: {kv_rps / direct_rps:.2f} (target >= 0.8)")


if __name__ == "__main__":
    main()
