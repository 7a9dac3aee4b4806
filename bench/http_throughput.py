"""Requests per second: one hello handler through `spin-py up` against the same
function in a bare werkzeug threaded server, loaded by the same client in one run.

    .venv/bin/python bench/http_throughput.py [--seconds 5] [--connections 8] [--rounds 3]

Each round loads both servers in turn (alternating which goes first); the
figures are medians over rounds, and the ratio is spin-py / bare.
"""

import argparse
import http.client
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
APP = HERE / "hello"
sys.path.insert(0, str(HERE.parent / "tests"))

from live import LiveServer  # noqa: E402


def start_bare_server():
    """The handler module called in-process from a werkzeug threaded server."""
    code = f"""
import importlib.util, sys
# The guest package under the name the worker gives it (spin_py.host.launch), as the shims import it.
guest = {str(HERE.parent / 'spin_py' / 'guest')!r}
spec = importlib.util.spec_from_file_location('spin_py_guest', guest + '/__init__.py', submodule_search_locations=[guest])
module = importlib.util.module_from_spec(spec); sys.modules['spin_py_guest'] = module; spec.loader.exec_module(module)
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


def load(port, seconds, connections):
    """Requests per second from ``connections`` keep-alive clients for ``seconds``."""
    counts = [0] * connections
    deadline = time.perf_counter() + seconds

    def client(index):
        connection = http.client.HTTPConnection("127.0.0.1", port)
        while time.perf_counter() < deadline:
            connection.request("GET", "/hello")
            response = connection.getresponse()
            body = response.read()
            assert response.status == 200 and body == b"Hello, bench!\n", (response.status, body)
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
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()

    import tempfile

    with tempfile.TemporaryDirectory() as state:
        spin = LiveServer(APP, "--state-dir", state, log_path=Path(state) / "spin-py.log").wait_ready()
        bare, bare_port = start_bare_server()
        try:
            load(spin.port, 1, options.connections)  # warm up: workers started, connections made
            load(bare_port, 1, options.connections)
            spin_rps, bare_rps = [], []
            for round_number in range(options.rounds):
                order = [(spin.port, spin_rps), (bare_port, bare_rps)]
                for port, results in order if round_number % 2 == 0 else reversed(order):
                    results.append(load(port, options.seconds, options.connections))
        finally:
            spin.stop()
            bare.terminate()
            bare.wait()

    spin_median, bare_median = statistics.median(spin_rps), statistics.median(bare_rps)
    print(f"spin-py up:            {spin_median:8.0f} req/s  (rounds: {', '.join(f'{r:.0f}' for r in spin_rps)})")
    print(f"bare werkzeug server:  {bare_median:8.0f} req/s  (rounds: {', '.join(f'{r:.0f}' for r in bare_rps)})")
    print(f"ratio spin-py / bare:  {spin_median / bare_median:8.2f}  (target 0.80 or better)")


if __name__ == "__main__":
    main()
