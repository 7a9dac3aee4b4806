"""Real servers for tests, installed from Debian when missing: ``redis_server``
gives the URL of a fresh redis-server (no persistence) on a free port."""

import fcntl
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from live import free_port

ROOT = Path(__file__).resolve().parent.parent


def ensure_debian_package(command, package):
    """The path of ``command``, installing ``package`` with apt-get when it is missing."""
    found = shutil.which(command)
    if found:
        return found
    lock_path = ROOT / ".cache" / "apt.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not shutil.which(command):
            subprocess.run(["apt-get", "update"], check=True, capture_output=True)
            subprocess.run(["apt-get", "install", "-y", package], check=True, capture_output=True,
                           env={"DEBIAN_FRONTEND": "noninteractive", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"})
    found = shutil.which(command)
    if not found:
        raise RuntimeError(f"installing the Debian package {package} gave no {command}")
    return found


def _wait_listening(port, process, log, timeout=20):
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"redis-server exited with {process.returncode}: {log.read_text()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"redis-server did not listen on {port}: {log.read_text()}") from None
            time.sleep(0.05)


@pytest.fixture
def redis_server(tmp_path):
    """``redis://127.0.0.1:<port>``: a redis-server of its own in tmp_path, stopped afterwards."""
    binary = ensure_debian_package("redis-server", "redis-server")
    port = free_port()
    folder = tmp_path / "redis"
    folder.mkdir()
    log = folder / "redis.log"
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(folder),
         "--save", "", "--appendonly", "no", "--logfile", str(log)],
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
    )
    try:
        _wait_listening(port, process, log)
        yield f"redis://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
