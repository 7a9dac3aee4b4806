"""`spin-py up` prepares the app's Python environment, as `spin build` prepares a Spin app:
real `spin-py new`, real venvs, real pip installs from PyPI, real requests."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from apps import component, manifest, write_app
from guest_harness import GuestWorker
from live import LiveServer, run_cli
from venvs import find_python, venv_python

from spin_py.host.pythons import probe

# The servers here never see the test runner's activated environment unless a test gives it one.
NO_ACTIVE_VENV = {"VIRTUAL_ENV": ""}

# An original-API handler (spin_http is spin-py's own stand-in: no package needed) that says
# which environment runs it.
WHERE_APP = """
    import sys
    from spin_http import Response

    def handle_request(request):
        return Response(200, {"content-type": "text/plain"}, sys.prefix.encode())
"""

SDK3_VERSION_APP = """
    from importlib.metadata import version
    from spin_sdk.http import IncomingHandler, Request, Response

    VERSION = version("spin-sdk")  # read while the app is imported: an instance sees no site-packages

    class IncomingHandler(IncomingHandler):
        def handle_request(self, request: Request) -> Response:
            return Response(200, {"content-type": "text/plain"}, VERSION.encode())
"""

SDK5_APP = """
    import sys
    from spin_sdk.http import Handler, Request, Response

    class HttpHandler(Handler):
        async def handle_request(self, request: Request) -> Response:
            return Response(200, {"content-type": "text/plain"}, f"{sys.version_info[0]}.{sys.version_info[1]}".encode())
"""


@pytest.fixture
def up(tmp_path):
    """``up(app_folder, *flags, env=None)``: `spin-py up` started in the app's folder, as a user runs it."""
    servers = []

    def start(folder, *args, env=None):
        log = tmp_path / f"up-{len(servers)}.log"
        here = os.getcwd()
        os.chdir(folder)  # the child inherits it: `cd a && spin-py up`
        try:
            server = LiveServer(".", *args, log_path=log, env={**NO_ACTIVE_VENV, **(env or {})})
        finally:
            os.chdir(here)
        servers.append(server)
        return server.wait_ready(timeout=180)  # a first install downloads from PyPI

    yield start
    for server in servers:
        server.stop()


def one_component_app(folder, source, requirements=None, module="app"):
    files = {f"{module}.py": source}
    if requirements is not None:
        files["requirements.txt"] = requirements
    write_app(folder, manifest(component("hello", module=module, route="/...")), files)
    return Path(folder)


def make_venv(folder, version="3.11"):
    """A bare virtual environment (no pip: nothing is installed into it here)."""
    subprocess.run([find_python(version), "-m", "venv", "--without-pip", str(folder)], check=True, timeout=120)
    return Path(folder)


def poll(server, method, path, wanted, timeout=120, body=None):
    deadline = time.monotonic() + timeout
    while True:
        status, _, answer = server.request(method, path, body=body)
        if (status, answer) == wanted or (wanted[1] is None and status == wanted[0]):
            return answer
        assert time.monotonic() < deadline, f"still {status} {answer!r}, wanted {wanted}\n{server.output()}"
        time.sleep(0.2)


@pytest.mark.parametrize("template, method, path, flags", [
    ("http-py", "GET", "/", ()),
    ("llm-py", "POST", "/", ("--ai-engine", "deterministic")),  # its / answers a POSTed prompt
    ("embeddings-py", "GET", "/search?q=hello", ("--ai-engine", "deterministic")),  # its / is /search
])  # fmt: skip
def test_a_new_app_serves_with_no_other_command(tmp_path, up, template, method, path, flags):
    created = run_cli("new", template, "a", "--accept-defaults", cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    app = tmp_path / "a"
    body = b"hello" if method == "POST" else None
    server = up(app, *flags)
    status, _, answer = server.request(method, path, body=body)
    assert status == 200, (answer, server.output())
    output = server.output()
    assert "Using the app's Python: .venv/bin/python (3." in output
    assert "[pip] Successfully installed" in output and "spin-sdk-3.4.1" in output
    assert (app / ".venv" / ".requirements-installed").read_text() == (app / "requirements.txt").read_text()
    server.stop()
    # The next `up` finds everything installed.
    again = up(app, *flags)
    assert again.request(method, path, body=body)[0] == 200
    assert "Installing" not in again.output() and "[pip]" not in again.output()
    assert "Using the app's Python: .venv/bin/python (3." in again.output()


def test_the_apps_venv_folder_is_used(tmp_path, up):
    app = one_component_app(tmp_path / "a", WHERE_APP)
    venv = make_venv(app / "venv")
    server = up(app)
    status, _, body = server.get("/")
    assert (status, body) == (200, str(venv).encode())
    assert "Using the app's Python: venv/bin/python (3.11." in server.output()


def test_the_activated_virtual_env_is_used_unless_it_is_spin_pys_own(tmp_path, up):
    app = one_component_app(tmp_path / "a", WHERE_APP)
    active = make_venv(tmp_path / "elsewhere")
    server = up(app, env={"VIRTUAL_ENV": str(active)})
    assert server.get("/")[2] == str(active).encode()
    assert f"Using the activated virtual environment's Python ($VIRTUAL_ENV): {active}/bin/python (3.11." in server.output()
    server.stop()
    # spin-py's own environment activated: that is how spin-py got on PATH, not the app's choice.
    own = up(app, env={"VIRTUAL_ENV": sys.prefix})
    assert own.get("/")[2] == sys.prefix.encode()
    assert "Using spin-py's own Python:" in own.output()


def test_a_bad_requirement_is_one_line_and_the_server_answers_until_it_is_fixed(tmp_path, up):
    app = one_component_app(tmp_path / "a", SDK3_VERSION_APP, "spin-sdk==0.0.999\n")
    server = up(app)
    line = "requirements.txt: could not install spin-sdk==0.0.999: No matching distribution found for spin-sdk==0.0.999"
    status, _, body = server.get("/")
    assert (status, body.decode()) == (500, line + "\n"), server.output()
    output = server.output()
    assert line in output.splitlines()
    assert "ERROR:" not in output and "Traceback" not in output
    (app / "requirements.txt").write_text("spin-sdk==3.4.1\n")
    poll(server, "GET", "/", (200, b"3.4.1"))
    server.wait_for_output("Reloaded component 'hello' (requirements.txt changed) in ")


def test_editing_requirements_while_serving_reinstalls_and_reloads(tmp_path, up):
    app = one_component_app(tmp_path / "a", SDK3_VERSION_APP, "spin-sdk==3.4.1\n")
    server = up(app)
    assert server.get("/")[2] == b"3.4.1"
    (app / "requirements.txt").write_text("spin-sdk==3.3.1\n")
    poll(server, "GET", "/", (200, b"3.3.1"))
    server.wait_for_output("Reloaded component 'hello' (requirements.txt changed) in ")
    assert "[pip] Successfully installed spin-sdk-3.3.1" in server.output()
    # A bad edit while serving: one line, and the workers go on with what is installed.
    (app / "requirements.txt").write_text("spin-sdk==0.0.999\n")
    server.wait_for_output("requirements.txt: could not install spin-sdk==0.0.999")
    status, _, body = server.get("/")
    assert (status, body) == (200, b"3.3.1")


def test_no_install_installs_nothing(tmp_path, up):
    app = one_component_app(tmp_path / "a", WHERE_APP, "spin-sdk==3.4.1\n")
    server = up(app, "--no-install")
    assert server.get("/")[2] == sys.prefix.encode()
    assert "--no-install: requirements.txt is not installed" in server.output()
    (app / "requirements.txt").write_text("spin-sdk==3.3.1\n")
    time.sleep(1.5)  # a watched file would have been picked up by now
    assert not (app / ".venv").exists()
    assert "Installing" not in server.output() and "[pip]" not in server.output()


def test_spin_sdk_5_gets_a_venv_with_a_python_it_runs_on(tmp_path, up):
    app = one_component_app(tmp_path / "a", SDK5_APP, "spin-sdk==5.0.0\n")
    server = up(app)  # spin-py itself runs on 3.11 here
    status, _, body = server.get("/")
    assert (status, body) == (200, b"3.12"), server.output()
    assert "a new virtual environment from " in server.output()


def test_spin_sdk_4_in_a_311_venv_names_the_python_it_needs(tmp_path, up):
    app = one_component_app(tmp_path / "a", SDK3_VERSION_APP, "spin-sdk==4.0.0\n")
    make_venv(app / "venv")
    server = up(app)
    line = "spin-sdk 4.0.0 needs Python 3.12 or newer; the app runs on Python 3."
    status, _, body = server.get("/")
    assert status == 500 and body.decode().startswith(line) and body.decode().endswith("(venv/bin/python)\n")
    assert "Installing" not in server.output()


def test_spin_sdk_4_with_no_python_312_on_the_machine_says_so(tmp_path, up):
    app = one_component_app(tmp_path / "a", SDK3_VERSION_APP, "spin-sdk==4.0.0\n")
    empty = tmp_path / "no-pyenv"
    empty.mkdir()
    server = up(app, env={"PYENV_ROOT": str(empty), "PATH": "/usr/bin:/bin"})
    line = f"spin-sdk 4.0.0 needs Python 3.12 or newer, and none was found (looked in {empty}/versions and on PATH)"
    status, _, body = server.get("/")
    assert (status, body.decode()) == (500, line + "\n")
    assert line in server.output().splitlines()


def test_an_installed_spin_sdk_4_on_311_is_named_by_the_host_and_by_the_worker(tmp_path, up):
    python = venv_python("sdk4-py311", "3.11", ["spin-sdk==4.0.0"])
    version = probe(python).version_text
    app = one_component_app(tmp_path / "a", SDK3_VERSION_APP)
    server = up(app, "--python", str(python))
    line = f"spin-sdk 4.0.0 needs Python 3.12 or newer; the app runs on Python {version} ({python})"
    status, _, body = server.get("/")
    assert (status, body.decode()) == (500, line + "\n")
    # The worker says the same where the host cannot tell (it imports the SDK itself).
    worker = GuestWorker(python, app)
    try:
        message = worker.loaded()
    finally:
        worker.close()
    assert message["op"] == "load-failed"
    assert message["error"] == (
        "Component 'guest-test' failed to load module 'app':\n"
        f"{line}\n"
    )
