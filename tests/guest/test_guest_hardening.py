"""A worker is hardened before any app code runs: other processes of the same
user (sibling workers) cannot read it, the host's environment never reaches it,
and the app's configuration files cannot be written through Python's file APIs."""

import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from guest_harness import GuestWorker, write
from venvs import find_python

NOBODY = 65534

PEEK = """
    import ctypes, json, os
    from spin_http import Response

    libc = ctypes.CDLL(None, use_errno=True)

    def handle_request(request):
        seen = {"dumpable": libc.prctl(3, 0, 0, 0, 0), "environ": os.environ.get("SECRET")}
        if request.uri.startswith("/peek/"):
            pid = int(request.uri.rsplit("/", 1)[1])
            try:
                with open(f"/proc/{pid}/environ", "rb") as environ:
                    seen["sibling_environ"] = environ.read().decode()
            except OSError as error:
                seen["sibling_environ"] = type(error).__name__
            pidfd = libc.syscall(434, pid, 0)  # pidfd_open
            stolen = [fd for fd in range(3, 16) if libc.syscall(438, pidfd, fd, 0) >= 0]  # pidfd_getfd
            seen["stolen"] = stolen
        return Response(200, {}, json.dumps(seen).encode())
"""


@pytest.fixture
def workers():
    started = []

    def start(*args, **kwargs):
        worker = GuestWorker(*args, **kwargs)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.close()


@pytest.fixture
def shared_folder():
    """A folder another user can read (pytest's tmp_path is private to root)."""
    folder = Path(tempfile.mkdtemp(prefix="spin-py-hardening-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def _as_another_user():
    """Run the workers as an unprivileged user when we are root: root may read any process."""
    if os.geteuid() != 0:
        return {}, find_python("3.12")
    python = shutil.which("python3", path="/usr/bin:/usr/local/bin")
    if python is None:
        pytest.skip("no interpreter outside /root that an unprivileged user can run")
    return {"user": NOBODY, "group": NOBODY}, python


def test_a_sibling_worker_cannot_read_a_worker_or_take_its_channel(shared_folder, workers):
    popen_args, python = _as_another_user()
    apps = {}
    for name in ("reader", "target"):
        folder = shared_folder / name
        write(folder, {"app.py": PEEK})
        folder.chmod(0o777)  # the worker writes its output files here
        apps[name] = folder
    reader = workers(python, apps["reader"], **popen_args).ready()
    target = workers(python, apps["target"], environment={"SECRET": "component secret"}, **popen_args).ready()
    status, _, body = target.response("GET", "/")
    assert status == 200, body
    assert json.loads(body) == {"dumpable": 0, "environ": "component secret"}
    seen = json.loads(reader.response("GET", f"/peek/{target.process.pid}")[2])
    assert seen["dumpable"] == 0
    assert seen["sibling_environ"] == "PermissionError"
    assert seen["stolen"] == []


def test_the_hosts_environment_never_reaches_a_worker(tmp_path, workers, monkeypatch):
    monkeypatch.setenv("SECRET", "the developer's")
    worker = workers(find_python("3.12"), write(tmp_path, {"app.py": PEEK}), environment={"OTHER": "x"}).ready()
    assert json.loads(worker.response("GET", "/")[2])["environ"] is None


WRITES = """
    import json, os, shutil
    from pathlib import Path
    from spin_http import Response

    def attempts(manifest, config):
        folder = manifest.parent
        (folder / "linked.toml").unlink(missing_ok=True)
        os.link(manifest, folder / "linked.toml")
        (folder / "symlinked.toml").unlink(missing_ok=True)
        os.symlink(manifest, folder / "symlinked.toml")
        (folder / "new.toml").write_text("x")
        return {
            "open w": lambda: open(manifest, "w"),
            "open a": lambda: open(manifest, "a"),
            "open r+": lambda: open(manifest, "r+"),
            "write_text": lambda: manifest.write_text("x"),
            "os.open": lambda: os.open(manifest, os.O_WRONLY),
            "os.replace onto": lambda: os.replace(folder / "new.toml", manifest),
            "os.rename away": lambda: os.rename(manifest, folder / "moved.toml"),
            "os.remove": lambda: os.remove(manifest),
            "unlink": lambda: manifest.unlink(),
            "truncate": lambda: os.truncate(manifest, 0),
            "rmtree": lambda: shutil.rmtree(folder),
            "hard link": lambda: open(folder / "linked.toml", "w"),
            "symlink": lambda: open(folder / "symlinked.toml", "w"),
            "runtime config": lambda: open(config, "w"),
            "read": lambda: open(manifest).read(),
            "other file": lambda: open(folder / "other.txt", "w").close(),
        }

    def handle_request(request):
        manifest, config = (Path(p) for p in request.uri.split("?", 1)[1].split("|"))
        outcome = {}
        for name, attempt in attempts(manifest, config).items():
            try:
                attempt()
                outcome[name] = "done"
            except PermissionError as error:
                outcome[name] = str(error)
        return Response(200, {}, json.dumps(outcome).encode())
"""


def test_a_component_cannot_write_the_manifest_or_the_runtime_config(tmp_path, workers):
    app = tmp_path / "app"
    write(app, {"app.py": WRITES})
    manifest = tmp_path / "spin.toml"
    manifest.write_text("spin_manifest_version = 2\n")
    config = tmp_path / "runtime-config.toml"
    config.write_text("[llm_compute]\n")
    worker = workers(find_python("3.12"), app, protected=[manifest, config]).ready()
    outcome = json.loads(worker.response("GET", f"/?{manifest}|{config}")[2])
    allowed = {"read", "other file"}
    assert {name for name, result in outcome.items() if result == "done"} == allowed
    for name, result in outcome.items():
        if name not in allowed:
            assert result.startswith("spin-py: a component may not "), (name, result)
            assert "it is the app's configuration" in result
    assert f"write {config}" in outcome["runtime config"]
    assert manifest.read_text() == "spin_manifest_version = 2\n"
    assert config.read_text() == "[llm_compute]\n"
