"""The world a Python component sees under Spin, asked of the real thing.

spin-py runs a component natively; under Spin it is componentize-py's CPython
(3.12.1, built for `wasi`) inside wasmtime. This module builds, offline, a
small component with componentize-py 0.17.2 and runs it with wasmtime 50 from
PyPI, so tests can ask that runtime how a snippet of Python behaves and ask
spin-py the same, and compare.

The component's world (``WORLD``) includes ``wasi:cli/imports@0.2.0`` and
exports ``wasi:cli/run@0.2.0``, resolved against the WIT that spin-sdk ships
under ``spin_sdk/wit/deps`` (the release in ``SPIN_SDK`` carries ``cli@0.2.0``).
Its module's top level is the probe set's ``init`` code: componentize-py runs
it once at build time (Wizer pre-initialization), as it runs an app's imports.
``run()`` then evaluates each probe and prints one JSON line per probe.

A probe is a snippet of Python: an expression (its value is the answer) or
statements (the answer is the value they leave in ``result``, else None). It
sees the names the ``init`` code defined. Its answer is one string:

    ok: <repr of the value>
    <ExceptionType>: <str(exception)>            for any exception
    <ExceptionType>: <str(exception)> (ENAME)    when it carries an errno

The errno number is kept as the runtime shows it (WASI's numbers differ from
Linux's: ENOTSUP is 58 in wasi-libc and 95 on Linux), and its name, looked up
in the runtime's own ``errno`` module, follows in parentheses. Compare answers
from two runtimes with ``comparable()``: it drops the number and keeps the
name, so ``OSError: [Errno 58] ... (ENOTSUP)`` under WebAssembly and
``OSError: [Errno 95] ... (ENOTSUP)`` natively are the same answer (a name
spelt two ways, as EOPNOTSUPP and ENOTSUP, is made one).

Spin-py's tests compare ``comparable(spin_py)`` with ``comparable(oracle)``,
never the raw strings, and never expect a WASI errno number natively.

Mounts are read-only, as Spin mounts a component's ``files``
(spin crates/factor-wasi/src/lib.rs, ``MountFilesContext::preopened_dir``:
``(DirPerms::READ, FilePerms::READ)`` unless transient writes are allowed);
wasmtime-py 50 says it as ``preopen_dir(..., fs_mutable=False)``, under which creating,
writing, appending and making a folder are all EPERM, as with those permissions.

Running this file with the oracle venv's Python (``python wasm_oracle.py
REQUEST.json``) is the wasmtime side; everything else runs in the test process.
"""

import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

COMPONENTIZE_PY = "componentize-py==0.17.2"
WASMTIME = "wasmtime==50.0.1"
SPIN_SDK = "spin-sdk==4.0.0"  # its spin_sdk/wit/deps has wasi cli@0.2.0 beside later versions
ORACLE_VENV = ("wasm-oracle-py312", "3.12", [COMPONENTIZE_PY, WASMTIME, SPIN_SDK])

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache" / "wasm-oracle"

# A world named apart from the module: componentize-py refuses an app module
# named as its world ("App name `...` conflicts with world name").
WORLD_NAME = "probe-world"
MODULE_NAME = "probe_app"
WORLD = f"""\
package spin-py:oracle;

world {WORLD_NAME} {{
  include wasi:cli/imports@0.2.0;
  export wasi:cli/run@0.2.0;
}}
"""

# The modules probes use, imported at pre-initialization as an app's imports are.
# ssl is tried as an app would; where it cannot be imported, ``ssl`` names the error.
DEFAULT_INIT = """\
import errno, os, signal, socket, subprocess, sys, threading, time
try:
    import ssl
except ImportError as error:
    ssl = error
"""

LINE_PREFIX = "spin-py-probe "  # marks the harness's lines among anything a probe prints

# Shared by the component and the spin-py app: evaluates the probes and describes each
# outcome. json and errno are imported at init on both sides, so they are in both snapshots.
HARNESS = '''
import errno as _errno
import json as _json


def _describe_error(error):
    text = f"{type(error).__name__}: {error}"
    number = getattr(error, "errno", None)
    name = _errno.errorcode.get(number) if isinstance(number, int) else None
    return f"{text} ({name})" if name else text


def _answer(name, source):
    namespace = {key: value for key, value in globals().items() if not key.startswith("_")}
    namespace["__builtins__"] = __builtins__
    try:
        try:
            code = compile(source, f"<probe {name}>", "eval")
        except SyntaxError:
            exec(compile(source, f"<probe {name}>", "exec"), namespace)
            value = namespace.get("result")
        else:
            value = eval(code, namespace)
        return "ok: " + repr(value)
    except BaseException as error:
        return _describe_error(error)


def _probe_lines():
    return [_LINE_PREFIX + _json.dumps({"probe": name, "answer": _answer(name, source)})
            for name, source in _PROBES.items()]
'''

ORACLE_ENTRY = """
from wit_world import exports as _exports


class Run(_exports.Run):
    def run(self) -> None:
        print("\\n".join(_probe_lines()), flush=True)
"""

# spin-sdk 4's handler style (spin-python-sdk's examples on main), as spin-py runs it.
SPIN_PY_ENTRY = """
from spin_sdk import http as _http


class HttpHandler(_http.Handler):
    async def handle_request(self, request):
        body = "\\n".join(_probe_lines()).encode()
        return _http.Response(200, {"content-type": "text/plain"}, body)
"""


class OracleUnavailable(RuntimeError):
    """The oracle's tools could not be installed here (no PyPI, no wheel for this platform)."""


def probe_module(probes: dict[str, str], init: str, entry: str) -> str:
    """The source of a module whose top level is ``init`` and whose entry point runs ``probes``."""
    return "\n".join([
        textwrap.dedent(init),
        f"_PROBES = {probes!r}",
        f"_LINE_PREFIX = {LINE_PREFIX!r}",
        HARNESS,
        entry,
    ])


def parse_answers(output: str, probes: dict[str, str]) -> dict[str, str]:
    """The harness's lines in ``output`` as {probe: answer}; every probe must have one."""
    answers = {}
    for line in output.splitlines():
        if line.startswith(LINE_PREFIX):
            record = json.loads(line[len(LINE_PREFIX):])
            answers[record["probe"]] = record["answer"]
    missing = [name for name in probes if name not in answers]
    if missing:
        raise RuntimeError(f"no answer for probes {missing} in:\n{output}")
    return answers


_ERRNO_NUMBER = re.compile(r"\[Errno \d+\] ")
# Names one number has on one platform and another on the other (Linux's errorcode
# gives one name per number, wasi-libc's another).
_ERRNO_ALIASES = {"EOPNOTSUPP": "ENOTSUP", "EWOULDBLOCK": "EAGAIN", "EDEADLOCK": "EDEADLK"}
_ERRNO_NAME = re.compile(r" \((E[A-Z0-9]+)\)$")


def comparable(answer: str) -> str:
    """An exception's ``answer`` without its errno number, with the errno name in one
    spelling; an ``ok:`` answer as it is (a value is compared whole)."""
    if answer.startswith("ok: "):
        return answer
    answer = _ERRNO_NUMBER.sub("[Errno] ", answer, count=1)
    return _ERRNO_NAME.sub(lambda match: f" ({_ERRNO_ALIASES.get(match.group(1), match.group(1))})", answer)


def oracle_python() -> Path:
    """The Python of the cached venv holding componentize-py, wasmtime and spin-sdk."""
    from venvs import venv_python

    try:
        return venv_python(*ORACLE_VENV)
    except (subprocess.CalledProcessError, RuntimeError) as error:
        raise OracleUnavailable(f"cannot install {', '.join(ORACLE_VENV[2])} for Python {ORACLE_VENV[1]}: {error}") from error


def _wit_deps(python: Path) -> Path:
    found = subprocess.run(
        [str(python), "-c", "import spin_sdk, os; print(os.path.dirname(spin_sdk.__file__))"],
        capture_output=True, text=True, check=True,
    )
    return Path(found.stdout.strip()) / "wit" / "deps"


KEPT_BUILDS = 8  # each is about 70 MB (the component and wasmtime's compiled form)


def component_key(probes: dict[str, str], init: str = DEFAULT_INIT) -> str:
    """What a built component is cached by: its module's source, the world and the tools' releases."""
    source = probe_module(probes, init, ORACLE_ENTRY)
    return hashlib.sha256("\0".join([source, WORLD, *ORACLE_VENV[2]]).encode()).hexdigest()[:20]


def _prune_builds() -> None:
    """Drop all but the most recently used builds (an edited probe set leaves its old build behind)."""
    builds = sorted((path for path in CACHE.iterdir() if path.is_dir() and not path.name.startswith("build-")),
                    key=lambda path: path.stat().st_mtime, reverse=True)
    for stale in builds[KEPT_BUILDS:]:
        shutil.rmtree(stale, ignore_errors=True)
        (CACHE / f"{stale.name}.lock").unlink(missing_ok=True)


def build_component(probes: dict[str, str], init: str = DEFAULT_INIT) -> Path:
    """The component for ``probes``, built once per source and kept under .cache/wasm-oracle."""
    python = oracle_python()
    source = probe_module(probes, init, ORACLE_ENTRY)
    key = component_key(probes, init)
    folder = CACHE / key
    component = folder / "probe.wasm"
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / f"{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if component.exists():
            os.utime(folder)
            return component
        work = Path(tempfile.mkdtemp(prefix="build-", dir=CACHE))
        try:
            (work / "wit").mkdir()
            (work / "wit" / "world.wit").write_text(WORLD)
            (work / "wit" / "deps").symlink_to(_wit_deps(python))
            (work / f"{MODULE_NAME}.py").write_text(source)
            componentize = python.parent / "componentize-py"
            built = subprocess.run(
                [str(componentize), "-d", "wit", "-w", WORLD_NAME, "componentize", MODULE_NAME, "-o", "probe.wasm"],
                cwd=work, capture_output=True, text=True, timeout=600,
            )
            if built.returncode != 0:
                raise RuntimeError(f"componentize-py failed ({built.returncode}):\n{built.stdout}\n{built.stderr}")
            (work / "probe.wasm").replace(work / "built.wasm")
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            (work / "built.wasm").replace(component)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    _prune_builds()
    return component


def run_probe(
    probes: dict[str, str],
    preopens: dict[str, str] = {},  # noqa: B006 (read only)
    env: dict[str, str] = {},  # noqa: B006 (read only)
    init: str = DEFAULT_INIT,
    timeout: float = 300,
) -> dict[str, str]:
    """Each probe's answer under componentize-py's CPython in wasmtime.

    ``preopens`` maps a guest path to a host folder, mounted read-only as Spin mounts
    ``files``; ``env`` is the whole environment the component sees.
    """
    component = build_component(probes, init)
    with tempfile.TemporaryDirectory(prefix="wasm-oracle-run-") as scratch:
        request = {
            "component": str(component),
            "compiled": str(component.with_suffix(".cwasm")),
            "preopens": {guest: str(Path(host).resolve()) for guest, host in preopens.items()},
            "env": env,
            "stdout": str(Path(scratch) / "stdout.txt"),
            "stderr": str(Path(scratch) / "stderr.txt"),
        }
        request_path = Path(scratch) / "request.json"
        request_path.write_text(json.dumps(request))
        ran = subprocess.run(
            [str(oracle_python()), __file__, str(request_path)], capture_output=True, text=True, timeout=timeout
        )
        stdout = Path(request["stdout"]).read_text() if Path(request["stdout"]).exists() else ""
        stderr = Path(request["stderr"]).read_text() if Path(request["stderr"]).exists() else ""
        if ran.returncode != 0:
            raise RuntimeError(f"the component failed to run:\n{ran.stdout}{ran.stderr}\n{stdout}\n{stderr}")
        return parse_answers(stdout, probes)


def spin_py_app(folder: Path, probes: dict[str, str], preopens: dict[str, str] = {},  # noqa: B006
                env: dict[str, str] = {}, init: str = DEFAULT_INIT) -> Path:  # noqa: B006
    """Write a spin-sdk 4 app in ``folder`` whose handler answers ``probes``; returns its manifest.

    Host folders of ``preopens`` become the component's ``files`` mounts (relative to
    ``folder``, as a manifest writes them) and ``env`` its ``environment``.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "app.py").write_text(probe_module(probes, init, SPIN_PY_ENTRY))
    files = ", ".join(
        f'{{ source = {json.dumps(os.path.relpath(Path(host).resolve(), folder.resolve()))}, '
        f"destination = {json.dumps(guest)} }}"
        for guest, host in preopens.items()
    )
    environment = ", ".join(f"{json.dumps(key)} = {json.dumps(value)}" for key, value in env.items())
    manifest = folder / "spin.toml"
    manifest.write_text(textwrap.dedent(f"""\
        spin_manifest_version = 2

        [application]
        name = "wasm-world-probe"

        [[trigger.http]]
        route = "/..."
        component = "probe"

        [component.probe]
        source = "app.wasm"
        files = [{files}]
        environment = {{ {environment} }}
        [component.probe.build]
        command = "componentize-py -w spin:up/http-trigger@4.0.0 componentize app -o app.wasm"
        """))
    return manifest


def run_probe_spin_py(
    spin_up,
    folder: Path,
    probes: dict[str, str],
    preopens: dict[str, str] = {},  # noqa: B006 (read only)
    env: dict[str, str] = {},  # noqa: B006 (read only)
    init: str = DEFAULT_INIT,
) -> dict[str, str]:
    """Each probe's answer under `spin-py up` (started with the ``spin_up`` fixture), one request."""
    from apps import sdk4_python

    manifest = spin_py_app(folder, probes, preopens, env, init)
    server = spin_up(manifest, "--python", str(sdk4_python()))
    status, _, body = server.get("/")
    if status != 200:
        raise RuntimeError(f"spin-py answered {status}: {body.decode(errors='replace')}\n{server.output()}")
    return parse_answers(body.decode(), probes)


def _run_component(request: dict) -> None:
    """Run in the oracle venv: instantiate the component and call wasi:cli/run's run."""
    from wasmtime import Engine, Store, WasiConfig
    from wasmtime.component import Component, Linker

    engine = Engine()
    compiled = Path(request["compiled"])
    component = None
    if compiled.exists():
        try:
            component = Component.deserialize_file(engine, str(compiled))
        except Exception:  # compiled by another wasmtime or for another CPU: compile again
            component = None
    if component is None:
        component = Component.from_file(engine, request["component"])
        partial = compiled.with_suffix(f".{os.getpid()}.partial")
        partial.write_bytes(component.serialize())
        partial.replace(compiled)
    linker = Linker(engine)
    linker.add_wasip2()
    store = Store(engine)
    wasi = WasiConfig()
    wasi.env = list(request["env"].items())
    for guest, host in request["preopens"].items():
        wasi.preopen_dir(host, guest, fs_mutable=False)
    wasi.stdout_file = request["stdout"]
    wasi.stderr_file = request["stderr"]
    store.set_wasi(wasi)
    instance = linker.instantiate(store, component)
    interface = instance.get_export_index(store, "wasi:cli/run@0.2.0")
    run = instance.get_func(store, instance.get_export_index(store, "run", interface))
    outcome = run(store)
    if getattr(outcome, "tag", "ok") != "ok":
        sys.exit(f"wasi:cli/run returned {outcome!r}")


if __name__ == "__main__":
    _run_component(json.loads(Path(sys.argv[1]).read_text()))
