"""The world a component sees, as componentize-py's CPython sees it under wasmtime
(the oracle, tests/wasm_oracle.py), and the same probes under `spin-py up`.

The first tests check the oracle itself and record its answers: they are what
spin-py's guest is held to. The differential tests then ask spin-py each probe
and compare with ``comparable()`` (errno numbers differ between WASI and Linux;
their names must not).

Set SPIN_PY_SKIP_WASM_ORACLE=1 to skip every test here at once.
"""

import os
from pathlib import Path

import pytest
import wasm_oracle
from live import LiveServer

if os.environ.get("SPIN_PY_SKIP_WASM_ORACLE"):
    pytest.skip("SPIN_PY_SKIP_WASM_ORACLE is set", allow_module_level=True)

MOUNT = "/data"
ENV = {"GREETING": "hello", "EMPTY": ""}

PROBES = {
    "thread": "threading.Thread(target=lambda: None).start()",
    "subprocess": "subprocess.run(['true'])",
    "fork": "os.fork()",
    "system": "os.system('true')",
    "signal": "signal.signal(signal.SIGTERM, lambda *args: None)",
    "etc_passwd": "open('/etc/passwd').read()",
    "proc": "os.listdir('/proc')",
    "cwd": "os.getcwd()",
    "environ": "dict(sorted(os.environ.items()))",
    "lazy_import": "import fractions",
    "read_mount": f"open('{MOUNT}/hello.txt').read()",
    "list_mount": f"sorted(os.listdir('{MOUNT}'))",
    "read_nested": f"open('{MOUNT}/sub/deeper.txt').read()",
    "relative_read": "open('data/hello.txt').read()",
    "write_mount": f"open('{MOUNT}/new.txt', 'w').write('x')",
    "append_mount": f"open('{MOUNT}/hello.txt', 'a').write('x')",
    "mkdir_mount": f"os.mkdir('{MOUNT}/made')",
    "escape_mount": f"open('{MOUNT}/../etc/passwd').read()",
    "root": "os.listdir('/')",
    "tmp": "os.path.exists('/tmp')",
    "platform": "sys.platform",
    "version": "sys.version_info[:3]",
    "implementation": "(sys.implementation.name, os.name)",
    "argv": "sys.argv",
    "getpid": "os.getpid()",
    "kill": "os.kill(1, 0)",  # signal 0: asks whether pid 1 exists, sends nothing
    "sleep": "time.sleep(0.01)",
    "socket": "socket.socket()",
    "ssl_at_init": "ssl",
    "ssl": "import ssl",
    "executable": "sys.executable",
    "cpu_count": "os.cpu_count()",
}

# componentize-py 0.17.2 + wasmtime 50, recorded by test_the_oracle_answers. ``ssl_at_init``
# is what the init's ``import ssl`` gave (there is no _ssl in its CPython).
ORACLE = {
    "thread": "RuntimeError: can't start new thread",
    "subprocess": "OSError: [Errno 58] wasi does not support processes. (ENOTSUP)",
    "fork": "AttributeError: module 'os' has no attribute 'fork'",
    "system": "AttributeError: module 'os' has no attribute 'system'",
    "signal": "ok: <Handlers.SIG_DFL: 0>",
    "etc_passwd": "FileNotFoundError: [Errno 44] No such file or directory: '/etc/passwd' (ENOENT)",
    "proc": "FileNotFoundError: [Errno 44] No such file or directory: '/proc' (ENOENT)",
    "cwd": "ok: '/'",
    "environ": "ok: {'EMPTY': '', 'GREETING': 'hello'}",
    "lazy_import": "ModuleNotFoundError: No module named 'fractions'",
    "read_mount": "ok: 'hello from the mount'",
    "list_mount": "ok: ['hello.txt', 'sub']",
    "read_nested": "ok: 'deeper'",
    "relative_read": "ok: 'hello from the mount'",
    "write_mount": "PermissionError: [Errno 63] Operation not permitted: '/data/new.txt' (EPERM)",
    "append_mount": "PermissionError: [Errno 63] Operation not permitted: '/data/hello.txt' (EPERM)",
    "mkdir_mount": "PermissionError: [Errno 63] Operation not permitted: '/data/made' (EPERM)",
    "escape_mount": "PermissionError: [Errno 63] Operation not permitted: '/data/../etc/passwd' (EPERM)",
    "root": "FileNotFoundError: [Errno 44] No such file or directory: '/' (ENOENT)",
    "tmp": "ok: False",
    "platform": "ok: 'wasi'",
    "version": "ok: (3, 12, 1)",
    "implementation": "ok: ('cpython', 'posix')",
    "argv": "ok: []",
    "getpid": "ok: 42",
    "kill": "AttributeError: module 'os' has no attribute 'kill'",
    "sleep": "ok: None",
    "socket": "PermissionError: [Errno 2] Permission denied (EACCES)",
    "ssl_at_init": "ok: ModuleNotFoundError(\"No module named '_ssl'\")",
    "ssl": "ModuleNotFoundError: No module named 'ssl'",
    "executable": "ok: ''",
    "cpu_count": "ok: 1",
}

# Answers that come from wasmtime-py's WasiConfig rather than from Spin: Spin grants its own
# network permissions (allowed_outbound_hosts), wasmtime-py grants none, so creating a socket
# is refused here before Spin's rules could apply.
NOT_SPINS = {"socket": "wasmtime-py denies sockets outright; Spin checks addresses against allowed_outbound_hosts"}


def _mount_folder(app: Path) -> Path:
    data = app / "assets"
    (data / "sub").mkdir(parents=True, exist_ok=True)
    (data / "hello.txt").write_text("hello from the mount")
    (data / "sub" / "deeper.txt").write_text("deeper")
    return data


@pytest.fixture(scope="module")
def app_folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("wasm-world")


@pytest.fixture(scope="module")
def oracle_answers(app_folder: Path) -> dict[str, str]:
    try:
        return wasm_oracle.run_probe(PROBES, {MOUNT: str(_mount_folder(app_folder))}, ENV)
    except wasm_oracle.OracleUnavailable as error:
        pytest.skip(f"the WebAssembly oracle cannot be built here: {error}")


@pytest.fixture(scope="module")
def spin_py_answers(app_folder: Path) -> dict[str, str] | Exception:
    """spin-py's answers, or why there are none (each differential test then fails alone)."""
    servers = []

    def start(manifest, *args):
        server = LiveServer(manifest, *args, log_path=app_folder / "spin-py.log")
        servers.append(server)
        return server.wait_ready(timeout=120)

    try:
        return wasm_oracle.run_probe_spin_py(start, app_folder, PROBES, {MOUNT: str(_mount_folder(app_folder))}, ENV)
    except Exception as error:  # reported by each test that needs it
        return error
    finally:
        for server in servers:
            server.stop()


def test_the_oracle_answers(oracle_answers: dict[str, str]) -> None:
    assert oracle_answers == ORACLE


def test_module_level_code_runs_once_at_build_time_and_each_run_starts_from_it(tmp_path: Path) -> None:
    init = wasm_oracle.DEFAULT_INIT + "import random\nDRAWN = random.random()\nCOUNT = [0]\n"
    probes = {"drawn": "DRAWN", "count": "COUNT.append(1) or len(COUNT)"}
    try:
        first = wasm_oracle.run_probe(probes, init=init)
    except wasm_oracle.OracleUnavailable as error:
        pytest.skip(f"the WebAssembly oracle cannot be built here: {error}")
    second = wasm_oracle.run_probe(probes, init=init)
    assert first == second
    assert first["count"] == "ok: 2"
    assert first["drawn"].startswith("ok: 0.")


def test_a_component_is_built_once_per_probe_source() -> None:
    try:
        component = wasm_oracle.build_component({"answer": "6 * 7"})
    except wasm_oracle.OracleUnavailable as error:
        pytest.skip(f"the WebAssembly oracle cannot be built here: {error}")
    built_at = component.stat().st_mtime_ns
    assert wasm_oracle.run_probe({"answer": "6 * 7"}) == {"answer": "ok: 42"}
    assert wasm_oracle.build_component({"answer": "6 * 7"}) == component
    assert component.stat().st_mtime_ns == built_at
    assert wasm_oracle.component_key({"answer": "6 * 8"}) != wasm_oracle.component_key({"answer": "6 * 7"})
    assert wasm_oracle.component_key({"answer": "6 * 7"}, init="import json\n") != component.parent.name


def test_errno_numbers_are_compared_by_name() -> None:
    wasi = "OSError: [Errno 58] wasi does not support processes. (ENOTSUP)"
    linux = "OSError: [Errno 95] wasi does not support processes. (EOPNOTSUPP)"
    assert wasm_oracle.comparable(wasi) == wasm_oracle.comparable(linux)
    assert wasm_oracle.comparable(wasi) != wasm_oracle.comparable(linux.replace("EOPNOTSUPP", "EPERM"))
    assert wasm_oracle.comparable("ok: '[Errno 58] x (ENOTSUP)'") == "ok: '[Errno 58] x (ENOTSUP)'"


# Where spin-py answers otherwise on purpose (the README's "Where it differs from Spin" says each).
DIFFERENCES = {
    "platform": "the interpreter stays the host's: sys.platform is not faked as 'wasi'",
    "getpid": "an instance is a real process with its own id (WASI's is always 42)",
    "ssl": "the app's Python has _ssl, componentize-py's has none",
    "ssl_at_init": "the app's Python has _ssl, componentize-py's has none",
    "escape_mount": "a '..' out of a mount resolves in the instance's own root (not found) where WASI refuses it",
    "root": "the oracle preopens only /data; Spin preopens the component's files at /, as spin-py shows them",
}


@pytest.mark.parametrize(
    "probe",
    [
        pytest.param(name, marks=[pytest.mark.xfail(strict=True, reason=DIFFERENCES[name])] if name in DIFFERENCES else [])
        for name in PROBES
        if name not in NOT_SPINS
    ],
)
def test_spin_py_answers_as_the_oracle(probe: str, oracle_answers: dict[str, str], spin_py_answers) -> None:
    if isinstance(spin_py_answers, Exception):
        raise spin_py_answers
    assert wasm_oracle.comparable(spin_py_answers[probe]) == wasm_oracle.comparable(oracle_answers[probe])
