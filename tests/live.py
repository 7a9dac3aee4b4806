"""A real `spin-py up` in a subprocess, on a free loopback port, with its output in a log file."""

import contextlib
import http.client
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

# "Serving URL" (Spin's HTTP banner), or spin-py's line for an app without an HTTP trigger
# (spin_py/dev_server.py, NO_HTTP_TRIGGER), which ends with the address of spin-py's own endpoints.
SERVING = re.compile(r"^(?:Serving |Ready: .* on )(http://[\d.]+:(\d+))$", re.M)


class LiveServer:
    def __init__(self, manifest, *args, log_path, env=None):
        self.log_path = Path(log_path)
        self.log = open(self.log_path, "wb")  # noqa: SIM115 (the server writes it until stop())
        self.process = subprocess.Popen(
            [sys.executable, "-m", "spin_py", "up", "-f", str(manifest), "--listen", "127.0.0.1:0", "--no-build-check", *args],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
        )
        self.url = None
        self.port = None

    def output(self):
        return self.log_path.read_text(errors="replace")

    def wait_ready(self, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            match = SERVING.search(self.output())
            if match:
                self.url, self.port = match.group(1), int(match.group(2))
                return self
            if self.process.poll() is not None:
                raise RuntimeError(f"spin-py up exited with {self.process.returncode}:\n{self.output()}")
            time.sleep(0.05)
        raise TimeoutError(f"spin-py up did not start in {timeout}s:\n{self.output()}")

    def wait_for_output(self, text, timeout=10):
        deadline = time.monotonic() + timeout
        while text not in self.output():
            if time.monotonic() > deadline:
                raise TimeoutError(f"{text!r} never appeared in:\n{self.output()}")
            time.sleep(0.05)

    def request(self, method, path, body=None, headers=None, timeout=60):
        """Returns (status, headers as a lower-case dict, body bytes)."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
        finally:
            connection.close()

    def get(self, path, **kwargs):
        return self.request("GET", path, **kwargs)

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


def run_cli(*args, cwd=None, timeout=60):
    """Run `spin-py ARGS` to completion: returns the CompletedProcess (text)."""
    return subprocess.run(
        [sys.executable, "-m", "spin_py", *args], cwd=cwd, capture_output=True, text=True, timeout=timeout
    )


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def running_server(command, port, log_path, timeout=120):
    """Run a server command until the ``with`` ends; yields its URL once ``port`` accepts connections."""
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + timeout
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"{command[:4]} exited with {process.returncode}: {Path(log_path).read_text()}")
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"{command[:4]} did not listen on {port}") from None
                    time.sleep(0.1)
            yield f"http://127.0.0.1:{port}"
        finally:
            process.terminate()
            process.wait(timeout=20)
