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
import sys
import tempfile
import textwrap
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
sys.path.insert(0, str(HERE))

from live import LiveServer  # noqa: E402
from loadgen import compare, load, report  # noqa: E402

VALUE = "a value of some length, " * 8

# Each request is a fresh instance: the direct side opens the file (mounted read-only, as
# `files` are) for every request, as a Spin component would.
APP = '''
import os, sqlite3
from spin_http import Response
from spin_key_value import kv_open_default

def handle_request(request):
    if request.uri.startswith("/kv"):
        value = kv_open_default().get("row")
    else:
        db = sqlite3.connect(f"file:{os.environ['KV_FILE']}?mode=ro&immutable=1", uri=True)
        value = db.execute("SELECT value FROM spin_key_value WHERE store=?1 AND key=?2", ("default", "row")).fetchone()[0]
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
files = [{{ source = ".spin", destination = "/state" }}]
environment = {{ KV_FILE = "/state/sqlite_key_value.db" }}
[component.direct.build]
command = "componentize-py -w spin-http componentize app -o app.wasm"
'''


def check(path, status, body):
    assert status == 200 and body == VALUE.encode(), (path, status, body[:200])


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
        db.parent.mkdir()  # mounted into the direct component: it must be there when the manifest loads
        (folder / "spin.toml").write_text(textwrap.dedent(MANIFEST).format())
        server = LiveServer(folder / "spin.toml", "--python", sys.executable, "--key-value", f"row={VALUE}",
                            "--max-workers", str(args.connections), "--no-watch", log_path=folder / "spin-py.log")
        try:
            server.wait_ready()
            results = compare(
                {path: lambda seconds, path=path: load(server.port, [path], check, seconds, args.connections)
                 for path in ("/kv", "/direct")},
                args.rounds,
                args.seconds,
            )
        finally:
            server.stop()
    report({"key-value get": results["/kv"], "direct sqlite3": results["/direct"]}, target=0.8)

if __name__ == "__main__":
    main()
