"""Real servers for tests, installed from Debian when missing, each on a free
loopback port with its files in a folder of its own, stopped afterwards:

- ``redis_server`` (per test) and ``redis_service`` (per module): ``redis://127.0.0.1:<port>``
- ``postgres_service``: a PostgreSQL cluster; user ``postgres``, password ``password``, database ``spin_dev``
- ``mariadb_service``: a MariaDB server; user ``root`` without a password, database ``spin_dev``
- ``mosquitto_service``: an MQTT broker taking anonymous clients

Each yields a ``Service`` (host, port, url, and the folder of its files).
"""

import contextlib
import fcntl
import glob
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from live import free_port

ROOT = Path(__file__).resolve().parent.parent


_apt_updated = False


def ensure_debian_package(command, package):
    """The path of ``command``, installing ``package`` with apt-get when it is missing."""
    found = shutil.which(command)
    if found:
        return found
    lock_path = ROOT / ".cache" / "apt.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    global _apt_updated
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not shutil.which(command):
            if not _apt_updated:  # once per test session
                subprocess.run(["apt-get", "update"], check=True, capture_output=True)
                _apt_updated = True
            subprocess.run(["apt-get", "install", "-y", package], check=True, capture_output=True,
                           env={"DEBIAN_FRONTEND": "noninteractive", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"})
    found = shutil.which(command)
    if not found:
        raise RuntimeError(f"installing the Debian package {package} gave no {command}")
    return found


@dataclass(frozen=True)
class Service:
    host: str
    port: int
    url: str
    folder: Path


@contextlib.contextmanager
def _running(command, port, log, name, user=None, timeout=60):
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, user=user)
    try:
        _wait_listening(port, process, log, name, timeout)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_listening(port, process, log, name="redis-server", timeout=20):
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode}: {_tail(log)}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{name} did not listen on {port}: {_tail(log)}") from None
            time.sleep(0.05)


def _tail(log):
    return Path(log).read_text(errors="replace")[-3000:] if Path(log).exists() else "(no log)"


@contextlib.contextmanager
def running_redis(folder):
    binary = ensure_debian_package("redis-server", "redis-server")
    port = free_port()
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / "redis.log"
    command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(folder),
               "--save", "", "--appendonly", "no", "--logfile", str(log)]
    with _running(command, port, log, "redis-server"):
        yield Service("127.0.0.1", port, f"redis://127.0.0.1:{port}", folder)


@pytest.fixture
def redis_server(tmp_path):
    """``redis://127.0.0.1:<port>``: a redis-server of its own in tmp_path, stopped afterwards."""
    with running_redis(tmp_path / "redis") as service:
        yield service.url


@pytest.fixture(scope="module")
def redis_service(tmp_path_factory):
    with running_redis(tmp_path_factory.mktemp("redis")) as service:
        yield service


def _postgres_bin(name):
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        ensure_debian_package("pg_ctlcluster", "postgresql")
        found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        raise RuntimeError(f"installing the Debian package postgresql gave no {name}")
    return found[-1]


@contextlib.contextmanager
def running_postgres():
    """PostgreSQL refuses to run as root, so the cluster runs as the package's
    `postgres` user, in a folder of its own under the system temp dir (pytest's
    tmp_path is private to root), removed afterwards."""
    initdb, postgres = _postgres_bin("initdb"), _postgres_bin("postgres")
    folder = Path(tempfile.mkdtemp(prefix="spin-py-postgres-"))
    try:
        shutil.chown(folder, "postgres", "postgres")
        password = folder / "pwfile"
        password.write_text("password\n")
        shutil.chown(password, "postgres", "postgres")
        subprocess.run(
            [initdb, "-D", str(folder / "data"), "-U", "postgres", "--pwfile", str(password),
             "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"],
            check=True, capture_output=True, user="postgres",
        )
        port = free_port()
        log = folder / "postgres.log"
        command = [postgres, "-D", str(folder / "data"), "-p", str(port), "-k", str(folder),
                   "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "logging_collector=off",
                   "-c", f"log_directory={folder}", "-c", "max_connections=50"]
        log.touch()
        shutil.chown(log, "postgres", "postgres")
        command = ["sh", "-c", 'exec "$@" >>' + str(log) + " 2>&1", "postgres", *command]
        with _running(command, port, log, "postgres", user="postgres"):
            _wait_postgres_ready(port, log)
            subprocess.run([_postgres_bin("psql"), "-h", str(folder), "-p", str(port), "-U", "postgres",
                            "-c", "CREATE DATABASE spin_dev"], check=True, capture_output=True, user="postgres")
            yield Service("127.0.0.1", port, f"postgres://postgres:password@127.0.0.1:{port}/spin_dev", folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _wait_postgres_ready(port, log, timeout=30):
    deadline = time.monotonic() + timeout
    while subprocess.run([_postgres_bin("pg_isready"), "-h", "127.0.0.1", "-p", str(port)],
                         capture_output=True).returncode != 0:
        if time.monotonic() > deadline:
            raise TimeoutError(f"postgres was not ready: {_tail(log)}")
        time.sleep(0.1)


@pytest.fixture(scope="module")
def postgres_service():
    with running_postgres() as service:
        yield service


@contextlib.contextmanager
def running_mariadb(folder):
    """mariadbd as root (``--user=root``), its data in ``folder``; root has no password."""
    server = ensure_debian_package("mariadbd", "mariadb-server")
    install = shutil.which("mariadb-install-db")
    data = folder / "data"
    subprocess.run(
        [install, "--no-defaults", f"--datadir={data}", "--user=root", "--auth-root-authentication-method=normal",
         "--skip-test-db", "--skip-name-resolve"],
        check=True, capture_output=True,
    )
    port = free_port()
    log = folder / "mariadb.log"
    socket_path = folder / "mariadb.sock"
    command = [server, "--no-defaults", f"--datadir={data}", f"--port={port}", "--bind-address=127.0.0.1",
               f"--socket={socket_path}", "--user=root", f"--log-error={log}", f"--pid-file={folder / 'mariadb.pid'}",
               "--skip-name-resolve", "--innodb-buffer-pool-size=16M", "--skip-log-bin", "--innodb-flush-log-at-trx-commit=0"]
    with _running(command, port, log, "mariadbd"):
        client = shutil.which("mariadb") or shutil.which("mysql")
        subprocess.run([client, "--no-defaults", f"--socket={socket_path}", "-uroot", "-e",
                        "CREATE DATABASE spin_dev; CREATE USER IF NOT EXISTS 'root'@'127.0.0.1'; "
                        "GRANT ALL ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;"],
                       check=True, capture_output=True, text=True)
        yield Service("127.0.0.1", port, f"mysql://root:@127.0.0.1:{port}/spin_dev", folder)


@pytest.fixture(scope="module")
def mariadb_service(tmp_path_factory):
    with running_mariadb(tmp_path_factory.mktemp("mariadb")) as service:
        yield service


@contextlib.contextmanager
def running_mosquitto(folder):
    binary = ensure_debian_package("mosquitto", "mosquitto")
    port = free_port()
    log = folder / "mosquitto.log"
    config = folder / "mosquitto.conf"
    config.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\nuser root\n"
        f"log_dest file {log}\n"
    )
    with _running([binary, "-c", str(config)], port, log, "mosquitto"):
        yield Service("127.0.0.1", port, f"mqtt://127.0.0.1:{port}", folder)


@pytest.fixture(scope="module")
def mosquitto_service(tmp_path_factory):
    with running_mosquitto(tmp_path_factory.mktemp("mosquitto")) as service:
        yield service
