"""`spin-py up` never leaves a process of the app behind: not on SIGTERM, not
on Ctrl-C (SIGINT), not when the host itself is killed, even with a handler
stuck in a loop and one whose native code tried to fork (which the instance's
world refuses)."""

import os
import signal
import threading
import time

import pytest
from apps import component, manifest, write_app

STUCK = """
    import ctypes, time
    from spin_http import Response

    def handle_request(request):
        if request.uri == "/fork":
            pid = ctypes.CDLL(None).fork()  # native code, past Python's missing os.fork
            if pid == 0:
                time.sleep(3600)
            print(f"native fork gave {pid}", flush=True)
            time.sleep(3600)
        if request.uri == "/loop":
            print("loop started", flush=True)
            while True:
                pass
        return Response(200, {}, b"ok")
"""


def app_processes(marker):
    """Live processes whose command line mentions ``marker`` (the app's folder)."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/cmdline", "rb") as cmdline:
                command = cmdline.read()
            with open(f"/proc/{name}/stat") as stat:
                state = stat.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if marker.encode() in command and state != "Z":
            found.append(int(name))
    return found


def wait_until(condition, timeout):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@pytest.mark.parametrize("stop", ["SIGTERM", "SIGINT", "SIGKILL"])
def test_no_process_of_the_app_outlives_the_host(tmp_path, spin_up, stop):
    path = write_app(tmp_path, manifest(component("stuck", route="/...")), {"app.py": STUCK})
    server = spin_up(path)
    for uri in ("/loop", "/fork"):
        threading.Thread(target=lambda uri=uri: _ignore_errors(server.get, uri, timeout=30), daemon=True).start()
    marker = str(tmp_path)
    assert wait_until(lambda: "loop started" in server.output() and "native fork gave" in server.output(), 60)
    assert "native fork gave -1" in server.output()  # the kernel refused it: no process to outlive anyone
    # The host, the component's base and zygote, two busy instances, and the spare.
    assert len(app_processes(marker)) >= 5
    started = time.monotonic()
    server.process.send_signal(getattr(signal, stop))
    assert wait_until(lambda: server.process.poll() is not None, 5), "the host did not exit"
    if stop != "SIGKILL":
        assert time.monotonic() - started < 2.5
        assert server.process.returncode == 0
    assert wait_until(lambda: app_processes(marker) == [], 5), app_processes(marker)


def _ignore_errors(function, *args, **kwargs):
    try:
        function(*args, **kwargs)
    except OSError:
        pass
