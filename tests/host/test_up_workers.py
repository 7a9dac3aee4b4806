"""Worker processes: crash isolation, environment, output, concurrency and queueing."""

import json
import os
import signal
import threading
import time
from pathlib import Path

from apps import ECHO_SDK3, component, manifest, sdk3_python, write_app

CRASHY = """
    import ctypes, os, signal, sys
    from spin_sdk.http import IncomingHandler, Request, Response

    class IncomingHandler(IncomingHandler):
        def handle_request(self, request: Request) -> Response:
            print("handling", request.uri)
            print("to stderr", request.uri, file=sys.stderr)
            if request.uri == "/crash/raise":
                raise ValueError("boom from the handler")
            if request.uri == "/crash/exit":
                sys.exit(3)
            if request.uri == "/crash/os-exit":
                os._exit(7)
            if request.uri == "/crash/kill":
                ctypes.CDLL(None).kill(os.getpid(), signal.SIGKILL)  # os.kill: not in WASI
            return Response(200, {}, str(os.getpid()).encode())
"""

# Each request waits at a barrier until ``expected`` requests are inside handlers at once,
# which can only happen when they run in separate instances. (They meet in the key-value
# store: an instance sees no host folder.)
BARRIER = """
    import os, time
    from spin_sdk import key_value
    from spin_sdk.http import IncomingHandler, Request, Response

    class IncomingHandler(IncomingHandler):
        def handle_request(self, request: Request) -> Response:
            expected = int(request.uri.rsplit("/", 1)[1])
            store = key_value.open_default()
            store.set(f"in-{os.getpid()}", b"here")
            deadline = time.monotonic() + 20
            while len(store.get_keys()) < expected:
                if time.monotonic() > deadline:
                    return Response(504, {}, b"alone")
                time.sleep(0.01)
            return Response(200, {}, str(os.getpid()).encode())
"""

ORDERED = """
    import time
    from spin_sdk.http import IncomingHandler, Request, Response

    class IncomingHandler(IncomingHandler):
        def handle_request(self, request: Request) -> Response:
            print("serving", request.uri.rsplit("/", 1)[1], flush=True)
            time.sleep(0.2)
            return Response(200, {}, b"ok")
"""


def _start_two(tmp_path, spin_up, crashy_source, *flags):
    path = write_app(
        tmp_path,
        manifest(component("crashy", route="/crash/...", module="crashy"), component("echo", route="/echo/...")),
        {"crashy.py": crashy_source, "app.py": ECHO_SDK3},
    )
    return spin_up(path, "--python", str(sdk3_python()), *flags)


def test_handler_failures_give_500_and_the_server_goes_on(tmp_path, spin_up):
    server = _start_two(tmp_path, spin_up, CRASHY)
    expectations = {
        "/crash/raise": "ValueError: boom from the handler",
        "/crash/exit": "sys.exit(3)",
        "/crash/os-exit": "exited with status 7",
        "/crash/kill": "killed by signal 9",
    }
    for path, text in expectations.items():
        status, _, body = server.get(path)
        assert status == 500, (path, body)
        assert text in body.decode(), (path, body)
        server.wait_for_output(text)
        # The same component serves again (a new worker), and so does the other one.
        assert server.get("/crash/fine")[0] == 200
        assert server.get("/echo/x")[0] == 200
    assert "Traceback" in server.get("/crash/raise")[2].decode()


def _component_processes(server, marker):
    """The zygote and instances of the component whose settings name ``marker``: not the host,
    nor the base process the host started."""
    found = []
    for name in os.listdir("/proc"):
        try:
            command = Path(f"/proc/{name}/cmdline").read_bytes()
            parent = int(Path(f"/proc/{name}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError):
            continue
        if marker.encode() in command and b"spin_py_guest" in command and parent != server.process.pid:
            found.append(int(name))
    return found


def test_idle_workers_killed_from_outside_cost_no_request(tmp_path, spin_up):
    server = _start_two(tmp_path, spin_up, CRASHY, "--max-workers", "2")
    pids = {int(server.get("/crash/fine")[2])}
    killed = _component_processes(server, '"crashy"')
    assert killed  # the zygote and the instance forked ahead
    for pid in killed:
        os.kill(pid, signal.SIGKILL)
    time.sleep(0.2)
    for _ in range(4):  # each finds a dead worker first, or a fresh one
        status, _, body = server.get("/crash/fine")
        assert status == 200, body
        assert int(body) not in pids
    assert "killed by signal 9" not in server.output()


def test_component_sees_only_its_manifest_environment(tmp_path, spin_up):
    path = write_app(
        tmp_path,
        manifest(component("echo", route="/...", extra='environment = { FROM_MANIFEST = "m", OVERRIDDEN = "m" }')),
        {"app.py": ECHO_SDK3},
    )
    server = spin_up(
        path, "--python", str(sdk3_python()), "-e", "OVERRIDDEN=cli", "-e", "EXTRA=x=y",
        env={"DEVELOPER_SECRET": "do-not-leak"},
    )
    env = json.loads(server.get("/")[2])["env"]
    assert env.get("FROM_MANIFEST") == "m"
    assert env.get("OVERRIDDEN") == "cli"
    assert env.get("EXTRA") == "x=y"
    assert "DEVELOPER_SECRET" not in env
    assert "PATH" not in env and "HOME" not in env


def test_output_is_prefixed_and_logged_like_spin(tmp_path, spin_up):
    server = _start_two(tmp_path, spin_up, CRASHY)
    assert server.get("/crash/fine")[0] == 200
    server.wait_for_output("[crashy] handling /crash/fine")
    server.wait_for_output("[crashy] to stderr /crash/fine")
    logs = tmp_path / ".spin" / "logs"
    assert "handling /crash/fine" in (logs / "crashy_stdout.txt").read_text()
    assert "to stderr /crash/fine" in (logs / "crashy_stderr.txt").read_text()


def _concurrently(server, paths):
    results = [None] * len(paths)

    def fetch(index, path):
        results[index] = server.get(path)

    threads = [threading.Thread(target=fetch, args=(i, p)) for i, p in enumerate(paths)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_requests_to_one_component_run_concurrently_in_separate_workers(tmp_path, spin_up):
    path = write_app(
        tmp_path, manifest(component("barrier", route="/...", extra='key_value_stores = ["default"]')),
        {"app.py": BARRIER},
    )
    server = spin_up(path, "--python", str(sdk3_python()))
    results = _concurrently(server, ["/wait/3"] * 3)
    assert [status for status, _, _ in results] == [200, 200, 200]
    assert len({body for _, _, body in results}) == 3  # three worker processes


def test_beyond_the_limit_requests_queue_in_arrival_order(tmp_path, spin_up):
    path = write_app(tmp_path, manifest(component("ordered", route="/...")), {"app.py": ORDERED})
    server = spin_up(path, "--python", str(sdk3_python()), "--max-workers", "1")
    results = [None] * 4

    def fetch(index):
        results[index] = server.get(f"/n/{index}")

    threads = []
    for index in range(4):
        thread = threading.Thread(target=fetch, args=(index,))
        thread.start()
        threads.append(thread)
        time.sleep(0.05)  # let the request reach the queue before the next one is sent
    for thread in threads:
        thread.join()
    assert [r[0] for r in results] == [200] * 4
    served = [line.split()[-1] for line in server.output().splitlines() if line.startswith("[ordered] serving")]
    assert served == ["0", "1", "2", "3"]


def test_a_component_that_does_not_load_says_so_at_startup_and_the_rest_serves(tmp_path, spin_up):
    path = write_app(
        tmp_path,
        manifest(component("broken", route="/broken", module="broken"), component("echo", route="/echo/...")),
        {"broken.py": "import not_a_module_anywhere\n", "app.py": ECHO_SDK3},
    )
    server = spin_up(path, "--python", str(sdk3_python()))
    server.wait_for_output("[broken] Component 'broken' failed to load module 'broken'")
    assert "No module named 'not_a_module_anywhere'" in server.output()
    status, _, body = server.get("/broken")
    assert status == 500 and b"not_a_module_anywhere" in body
    assert server.get("/echo/x")[0] == 200
