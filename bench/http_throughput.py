"""Requests per second: one hello handler through `spin-py up` against the same
function in a bare werkzeug threaded server, loaded by the same client in one run.

    .venv/bin/python bench/http_throughput.py [--seconds 5] [--connections 8] [--rounds 3]

Each round loads both servers in turn (alternating which goes first); the
figures are medians over rounds, and the ratio is spin-py / bare.
"""

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
APP = HERE / "hello"
sys.path.insert(0, str(HERE.parent / "tests"))
sys.path.insert(0, str(HERE))

from live import LiveServer  # noqa: E402
from loadgen import compare, load, report  # noqa: E402


def start_bare_server():
    """The handler module called in-process from a werkzeug threaded server."""
    code = f"""
import importlib.util, sys
# The wire and guest packages under the names the worker gives them (spin_py.host.launch), as the shims import them.
guest = {str(HERE.parent / 'spin_py' / 'guest')!r}
for name, folder in (('spin_py_wire', {str(HERE.parent / 'spin_py' / 'wire')!r}), ('spin_py_guest', guest)):
    spec = importlib.util.spec_from_file_location(name, folder + '/__init__.py', submodule_search_locations=[folder])
    module = importlib.util.module_from_spec(spec); sys.modules[name] = module; spec.loader.exec_module(module)
sys.path[:0] = [{str(APP)!r}, guest + '/shims']
from werkzeug.serving import make_server, WSGIRequestHandler
from werkzeug.wrappers import Request, Response
import spin_http, app

class Handler(WSGIRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_request(self, *a, **k):
        pass

def wsgi(environ, start_response):
    request = Request(environ)
    answer = app.handle_request(spin_http.Request(request.method, request.full_path,
                                list(request.headers.items()), request.get_data()))
    return Response(answer.body, answer.status, answer.headers)(environ, start_response)

server = make_server("127.0.0.1", 0, wsgi, threaded=True, request_handler=Handler)
print(server.server_port, flush=True)
server.serve_forever()
"""
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    return process, int(process.stdout.readline())


def check(path, status, body):
    assert status == 200 and body == b"Hello, bench!\n", (status, body)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()

    import tempfile

    with tempfile.TemporaryDirectory() as state:
        spin = LiveServer(APP, "--state-dir", state, log_path=Path(state) / "spin-py.log").wait_ready()
        bare, bare_port = start_bare_server()
        try:
            results = compare(
                {name: lambda seconds, port=port: load(port, ["/hello"], check, seconds, options.connections)
                 for name, port in (("spin-py up", spin.port), ("bare werkzeug server", bare_port))},
                options.rounds,
                options.seconds,
            )
        finally:
            spin.stop()
            bare.terminate()
            bare.wait()

    report(results, target=0.8)

if __name__ == "__main__":
    main()
