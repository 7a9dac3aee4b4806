"""`spin build` in the loop: each component's build command runs in the background as Spin
runs it (through sh, in its workdir, the app's environment first on PATH), and its outcome
is one line; serving never waits for it.

The passing and failing builds are real componentize-py builds (componentize-py and spin-sdk
from PyPI, in a cached virtualenv; it builds offline), through `spin-py up`. The missing-tool
and cancellation tests run the same server in-process, where the checker says when it is idle.
"""

import os
import re
import stat
import textwrap
import time
from pathlib import Path

import pytest
from apps import write_app
from venvs import venv_python

from spin_py.testing import start_app

BUILDER = ("componentize-py312", "3.12", ["spin-sdk==4.0.0", "componentize-py==0.23.0"])

HANDLER = """
    {imports}
    from spin_sdk import http
    from spin_sdk.http import Request, Response


    class HttpHandler(http.Handler):
        async def handle_request(self, request: Request) -> Response:
            return Response(200, {{"content-type": "text/plain"}}, b"{answer}")
"""

MANIFEST = """
    spin_manifest_version = 2

    [application]
    name = "built"

    [[trigger.http]]
    route = "/..."
    component = "hello"

    [component.hello]
    source = "app.wasm"
    [component.hello.build]
    command = {command}
    {extra}
"""


@pytest.fixture(scope="session")
def builder_python():
    """A Python 3.12 virtualenv with spin-sdk 4 and componentize-py, made once and cached."""
    return venv_python(*BUILDER)


def app(folder, command, imports="", answer="hello", extra=""):
    return write_app(
        folder,
        MANIFEST.format(command=_toml(command), extra=extra),
        {"app.py": HANDLER.format(imports=imports, answer=answer)},
    )


def _toml(text):
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def test_a_build_that_passes_says_so(tmp_path, spin_up, builder_python):
    # The public AI example's command: the module is `app`, and the substitution is the shell's to run.
    command = ("componentize-py -w http-trigger componentize -p . "
               "-p $(python3 -c 'import site; print(site.getsitepackages()[0])') app -o app.wasm")
    # Spin's widest watch: the build's own app.wasm must still not count as an edit.
    folder = tmp_path / "app"  # apart from the server's log
    manifest = app(folder, command, extra='watch = ["**/*"]')
    server = spin_up(manifest, "--build-check", "--python", str(builder_python))
    assert server.get("/")[2] == b"hello"
    server.wait_for_output("Build check for component 'hello': passed in", timeout=150)
    assert re.search(r"^Build check for component 'hello': passed in \d+\.\d s$", server.output(), re.M)
    assert (folder / "app.wasm").stat().st_size > 1_000_000  # what `spin build` writes
    (folder / "app.py").write_text((folder / "app.py").read_text().replace('b"hello"', 'b"again"'))
    server.wait_for_output("Reloaded component 'hello'", timeout=30)
    reloads = re.findall(r"^Reloaded component 'hello' \((.*) changed\)", server.output(), re.M)
    assert reloads == ["app.py"], server.output()
    assert server.get("/")[2] == b"again"


def test_a_build_that_fails_names_its_cause_while_the_app_serves(tmp_path, spin_up, builder_python):
    # ctypes imports here; componentize-py's CPython for WebAssembly has no _ctypes.
    manifest = app(tmp_path, "componentize-py -w http-trigger componentize app -o app.wasm", imports="import ctypes")
    server = spin_up(manifest, "--build-check", "--python", str(builder_python))
    assert server.get("/")[:3:2] == (200, b"hello")
    assert "Build check" not in server.output()  # served before the build ended
    server.wait_for_output("Build check for component 'hello': failed", timeout=150)
    line = re.search(r"^Build check for component 'hello': failed.*$", server.output(), re.M).group(0)
    assert re.fullmatch(
        r"Build check for component 'hello': failed in \d+\.\d s: ModuleNotFoundError: No module named '_ctypes' "
        r"\(full output: .*hello_build\.txt\)", line), line
    log = (tmp_path / ".spin" / "logs" / "hello_build.txt").read_text()
    assert 'File "/0/app.py", line 1' in log and "import ctypes" in log
    assert server.get("/")[:3:2] == (200, b"hello")


# --- in-process: the checker says when it is idle ------------------------------------------------


def _tool(folder, name, script):
    """An executable ``name`` in ``folder`` (for PATH), running ``script`` with sh."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("#!/bin/sh\n" + textwrap.dedent(script))
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


ORIGINAL = """
    from spin_http import Response

    def handle_request(request):
        return Response(200, {"content-type": "text/plain"}, b"original")
"""


def _two_component_app(folder):
    return write_app(folder, """
        spin_manifest_version = 2

        [application]
        name = "tools"

        [[trigger.http]]
        route = "/old"
        component = "old"

        [[trigger.http]]
        route = "/new"
        component = "new"

        [component.old]
        source = "old.wasm"
        [component.old.build]
        command = "spin py2wasm app -o old.wasm"

        [component.new]
        source = "new.wasm"
        [component.new.build]
        command = "componentize-py componentize app -o new.wasm"
        watch = ["*.py"]
    """, {"app.py": ORIGINAL})


def _wait_for(condition, timeout=20):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def _edit(path, app):
    """Change ``path`` and wait until the checker has checked every component again."""
    before = {key: outcome.finished for key, outcome in app.server.build_check.outcomes().items()}
    path.write_text(path.read_text() + "\n# edit\n")
    _wait_for(lambda: all(app.server.build_check.outcomes()[key].finished > done for key, done in before.items()))
    assert app.server.build_check.wait_idle(30)


def test_a_missing_tool_is_said_once_until_it_is_there(tmp_path, monkeypatch, capsys):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}/usr/bin:/bin")
    monkeypatch.setenv("SPIN_DATA_DIR", str(tmp_path / "spin-data"))
    app = start_app(_two_component_app(tmp_path / "app"), watch=True, build_check=True)
    try:
        assert app.get("/old").body == b"original"  # serving does not need the build
        assert app.server.build_check.wait_idle(30)
        outcomes = app.server.build_check.outcomes()
        assert {key: outcome.state for key, outcome in outcomes.items()} == {"old": "missing", "new": "missing"}
        assert outcomes["old"].text == ("`spin py2wasm` needs Spin and its py2wasm plugin, and `spin` is not on PATH: "
                                        "install Spin (https://spinframework.dev/install), then `spin plugins install py2wasm`")
        assert outcomes["new"].text.startswith("componentize-py is not on PATH: `pip install componentize-py` into the "
                                               "app's virtual environment")
        for _ in range(2):
            _edit(tmp_path / "app" / "app.py", app)
        said = capsys.readouterr().err
        assert said.count("Build check for component 'old': `spin py2wasm` needs Spin") == 1, said
        assert said.count("Build check for component 'new': componentize-py is not on PATH") == 1, said

        # Spin without the plugin: a new lack, said once; then componentize-py appears, and the check runs.
        _tool(bin_dir, "spin", "exit 1\n")
        _tool(bin_dir, "componentize-py", 'echo "Component built successfully" >&2\n')
        _edit(tmp_path / "app" / "app.py", app)
        said = capsys.readouterr().err
        plugins = tmp_path / "spin-data" / "plugins"
        assert (f"Build check for component 'old': `spin py2wasm` needs Spin's py2wasm plugin, which is not "
                f"installed ({plugins} has no py2wasm): `spin plugins install py2wasm` installs it") in said, said
        assert re.search(r"^Build check for component 'new': passed in \d+\.\d s$", said, re.M), said
        assert app.server.build_check.outcomes()["new"].state == "passed"
    finally:
        app.stop()


def _group_alive(pgid):
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_superseded_build_is_cancelled(tmp_path, monkeypatch, capsys):
    bin_dir = tmp_path / "bin"
    _tool(bin_dir, "componentize-py", "exit 0\n")
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    folder = tmp_path / "app"
    manifest = write_app(folder, """
        spin_manifest_version = 2

        [application]
        name = "slow"

        [[trigger.http]]
        route = "/..."
        component = "slow"

        [component.slow]
        source = "app.wasm"
        [component.slow.build]
        command = "echo $$ >> builds.txt && sleep 60 && componentize-py componentize app -o app.wasm"
        watch = ["*.py"]
    """, {"app.py": ORIGINAL})
    builds = folder / "builds.txt"
    started = lambda: [int(line) for line in builds.read_text().split()] if builds.exists() else []  # noqa: E731
    app = start_app(manifest, watch=True, build_check=True)
    try:
        _wait_for(lambda: len(started()) == 1)
        first = started()[0]
        assert _group_alive(first)  # sh and its sleep, in the build's own process group
        (folder / "app.py").write_text((folder / "app.py").read_text() + "\n# edit\n")
        _wait_for(lambda: len(started()) == 2)
        _wait_for(lambda: not _group_alive(first), timeout=5)  # killed, sleep included
        second = started()[1]
        assert _group_alive(second) and app.server.build_check.building() == "slow"
        assert app.server.build_check.outcomes() == {}  # a cancelled build has no outcome
        assert app.get("/").body == b"original"
    finally:
        app.stop()
    _wait_for(lambda: not _group_alive(second), timeout=5)  # stopping the server stops its build
    assert "Build check" not in capsys.readouterr().err


def test_what_a_build_writes_is_not_an_edit(tmp_path):
    folder = tmp_path / "app"
    manifest = write_app(folder, """
        spin_manifest_version = 2

        [application]
        name = "gen"

        [[trigger.http]]
        route = "/..."
        component = "gen"

        [component.gen]
        source = "dist/gen.wasm"
        [component.gen.build]
        command = "componentize-py -d wit -w x bindings . && componentize-py componentize app -o ../out.wasm"
        workdir = "py"
        watch = ["**/*"]
    """, {"py/app.py": ORIGINAL, "py/bindings.py": "X = 1\n"})
    app = start_app(manifest, build_check=True)
    try:
        assert app.get("/").body == b"original"  # serving: the checker has started
        check, key = app.server.build_check, ("component", "gen")
        bindings = folder / "py" / "bindings.py"
        outputs = {folder / "dist" / "gen.wasm", folder / "out.wasm", folder / "py" / "__pycache__"}
        assert check.outputs_dropped({key: outputs}) == {}
        assert check.outputs_dropped({key: {bindings}}) == {key: {bindings}}  # first seen: an edit
        bindings.write_text("X = 1\n")  # generated again, the same bytes
        assert check.outputs_dropped({key: {bindings}}) == {}
        bindings.write_text("X = 2\n")
        assert check.outputs_dropped({key: {bindings}}) == {key: {bindings}}
        # spin.toml saved unchanged still counts: the manifest is not the build's to write.
        spin_toml = folder / "spin.toml"
        assert check.outputs_dropped({("manifest",): {spin_toml}}) == {("manifest",): {spin_toml}}
        assert check.outputs_dropped({("manifest",): {spin_toml}}) == {("manifest",): {spin_toml}}
    finally:
        app.stop()


def test_the_line_a_failed_build_ends_in(tmp_path):
    """componentize-py 0.23.0's own output for an app importing numpy 2.5.5 (spin-sdk 4.0.0), captured:
    its error is under numpy's multi-line ImportError and above a Rust backtrace."""
    from spin_py.host.build_check import _error_lines, _tail

    output = _tail(Path(__file__).parent / "data" / "componentize_py_numpy_build.txt")
    assert "Stack backtrace" not in output and "pymain_run_file" not in output
    assert _error_lines(output, 1) == "ModuleNotFoundError: No module named 'numpy._core._multiarray_umath'"
    log = tmp_path / "build.txt"
    log.write_text("sh: 1: uv: not found\n")
    assert _error_lines(_tail(log), 127) == "sh: 1: uv: not found"
    log.write_text("")
    assert _error_lines(_tail(log), -9) == "killed by signal 9"
