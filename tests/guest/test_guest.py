"""The guest side on its own: real workers in real app environments (spin-sdk
from PyPI, or the original API on a plain interpreter), driven over their
channel the way the host drives them."""

import json
import signal
import subprocess
import textwrap
import time

import pytest
from guest_harness import GuestWorker, write
from venvs import find_python, venv_python

from spin_py.host.launch import GUEST_DIR, WIRE_DIR, guest_loader

ALL_BYTES = bytes(range(256)) * 64

# Shared by every style's app: what the handler saw, and a few ways to fail.
COMMON = """
    import json, os, sys

    def reply(request, response_class):
        if request.uri == "/raise":
            raise ValueError("boom from the handler")
        if request.uri == "/exit":
            sys.exit(3)
        if request.uri == "/os-exit":
            os._exit(7)
        if request.method == "POST":
            headers = {"Content-Type": "application/octet-stream", "X-Body-Type": type(request.body).__name__}
            return response_class(201, headers, request.body)
        seen = {
            "method": request.method,
            "uri": request.uri,
            "headers": dict(request.headers),
            "headers_type": type(request.headers).__name__,
            "body": request.body.hex() if isinstance(request.body, bytes) else repr(request.body),
            "request": f"{type(request).__module__}.{type(request).__qualname__}",
            "python": list(sys.version_info[:2]),
            "argv": sys.argv,
        }
        return response_class(200, {"content-type": "application/json"}, json.dumps(seen).encode())
"""

ORIGINAL_APP = """
    from spin_http import Response
    from common import reply

    def handle_request(request):
        return reply(request, Response)
"""

SYNC_SDK_APP = """
    from spin_sdk.http import IncomingHandler, Request, Response
    from common import reply

    class IncomingHandler(IncomingHandler):
        def handle_request(self, request: Request) -> Response:
            return reply(request, Response)
"""

ASYNC_SDK_APP = """
    import asyncio
    from spin_sdk import http
    from spin_sdk.http import Request, Response
    from common import reply

    class HttpHandler(http.Handler):
        async def handle_request(self, request: Request) -> Response:
            await asyncio.sleep(0.001)
            return reply(request, Response)
"""


def _original(version):
    return lambda: find_python(version)


def _sdk(name, version, sdk):
    return lambda: venv_python(name, version, [f"spin-sdk=={sdk}"])


# id: (python, app source, request class, repeated request headers joined?, Python version)
STYLES = {
    "original-py311": (_original("3.11"), ORIGINAL_APP, "spin_http.Request", True, [3, 11]),
    "original-py312": (_original("3.12"), ORIGINAL_APP, "spin_http.Request", True, [3, 12]),
    "original-py313": (_original("3.13"), ORIGINAL_APP, "spin_http.Request", True, [3, 13]),
    "sdk2-py311": (_sdk("sdk2-py311", "3.11", "2.0.0"), SYNC_SDK_APP, "spin_sdk.http.Request", False, [3, 11]),
    "sdk3-py311": (_sdk("sdk3-py311", "3.11", "3.4.1"), SYNC_SDK_APP, "spin_sdk.http.Request", False, [3, 11]),
    "sdk4-py312": (_sdk("sdk4-py312", "3.12", "4.0.0"), ASYNC_SDK_APP, "spin_sdk.http.Request", False, [3, 12]),
    "sdk5-py312": (_sdk("sdk5-py312", "3.12", "5.0.0"), ASYNC_SDK_APP, "spin_sdk.http.Request", False, [3, 12]),
    "sdk5-py313": (_sdk("sdk5-py313", "3.13", "5.0.0"), ASYNC_SDK_APP, "spin_sdk.http.Request", False, [3, 13]),
}


@pytest.fixture(params=list(STYLES))
def style(request):
    python, app, request_class, joined, version = STYLES[request.param]
    return {"python": python(), "app": app, "request": request_class, "joined": joined, "version": version}


@pytest.fixture
def workers():
    started = []

    def start(python, folder, **kwargs):
        worker = GuestWorker(python, folder, **kwargs)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.close()


def sdk3_python():
    return STYLES["sdk3-py311"][0]()


def sdk5_python():
    return STYLES["sdk5-py312"][0]()


def plain_python():
    return find_python("3.12")


def start_style(workers, style, folder, extra=None):
    write(folder, {"app.py": style["app"], "common.py": COMMON, **(extra or {})})
    return workers(style["python"], folder)


def start_app(workers, python, folder, source, extra=None, **kwargs):
    write(folder, {"app.py": source, **(extra or {})})
    return workers(python, folder, **kwargs)


# --- requests and responses, every style ---------------------------------------------------


def test_the_handler_gets_its_sdks_request(tmp_path, workers, style):
    worker = start_style(workers, style, tmp_path).ready()
    headers = [("X-Mixed-Case", "Value"), ("accept", "text/a"), ("Accept", "text/b")]
    status, response_headers, body = worker.response("GET", "/some/path?x=1&y=%20z", headers)
    assert status == 200
    assert response_headers == [["content-type", "application/json"]]
    seen = json.loads(body)
    assert seen["request"] == style["request"]
    assert seen["method"] == "GET"
    assert seen["uri"] == "/some/path?x=1&y=%20z"
    assert seen["headers_type"] == "dict"
    assert seen["headers"]["x-mixed-case"] == "Value"
    assert all(name == name.lower() for name in seen["headers"])
    # The old engine joined a repeated header; spin-sdk's dict(entries) keeps the last value.
    assert seen["headers"]["accept"] == ("text/a, text/b" if style["joined"] else "text/b")
    assert seen["body"] == ""  # bytes, empty: never None
    assert seen["python"] == style["version"]
    assert seen["argv"] == []


def test_binary_bodies_round_trip(tmp_path, workers, style):
    worker = start_style(workers, style, tmp_path).ready()
    status, headers, body = worker.response("POST", "/upload", [("content-type", "application/octet-stream")], ALL_BYTES)
    assert status == 201
    assert body == ALL_BYTES
    # Spin's HeaderName lower-cases what the handler wrote.
    assert headers == [["content-type", "application/octet-stream"], ["x-body-type", "bytes"]]


def test_each_request_is_served_by_a_fresh_instance_of_one_load(tmp_path, workers, style):
    worker = start_style(workers, style, tmp_path).ready()
    for index in range(5):
        status, _, body = worker.response("GET", f"/n/{index}")
        assert status == 200
        assert json.loads(body)["uri"] == f"/n/{index}"
        assert worker.response("POST", "/", body=bytes([index]) * 3)[2] == bytes([index]) * 3


def test_a_handler_that_raises_fails_with_its_traceback_and_the_worker_exits(tmp_path, workers, style):
    worker = start_style(workers, style, tmp_path).ready()
    message, _ = worker.http("GET", "/raise")
    assert message["op"] == "failed"
    error = message["error"]
    assert error.startswith("Traceback (most recent call last):\n")
    assert f'File "{tmp_path / "common.py"}", line 5, in reply' in error
    assert 'raise ValueError("boom from the handler")' in error
    assert error.endswith("ValueError: boom from the handler\n")
    # Only the app's frames: none of spin-py's, nor asyncio's.
    assert str(GUEST_DIR) not in error and "asyncio" not in error
    assert worker.exit_code() == 1


def test_sys_exit_in_a_handler_fails_and_the_worker_exits(tmp_path, workers, style):
    worker = start_style(workers, style, tmp_path).ready()
    message, _ = worker.http("GET", "/exit")
    assert message == {"op": "failed", "turn": 1, "error": "the handler called sys.exit(3)\n"}
    assert worker.exit_code() == 1


def test_os_exit_in_a_handler_ends_the_process(tmp_path, workers, style):
    worker = start_style(workers, style, tmp_path).ready()
    worker.send_http("GET", "/os-exit")
    with pytest.raises(EOFError):
        worker.recv()
    assert worker.exit_code() == 7


def test_a_syntax_error_fails_the_load_with_file_and_line(tmp_path, workers, style):
    broken = COMMON + "\n    def broken(:\n        pass\n"
    worker = start_style(workers, style, tmp_path, {"common.py": broken})
    message = worker.loaded()
    assert message["op"] == "load-failed"
    error = message["error"]
    assert error.startswith("Component 'guest-test' failed to load module 'app':\n")
    assert f'File "{tmp_path / "app.py"}", line ' in error  # the import in app.py that led there
    line = (tmp_path / "common.py").read_text().splitlines().index("def broken(:") + 1
    assert f'File "{tmp_path / "common.py"}", line {line}\n' in error
    assert "def broken(:" in error
    assert "SyntaxError: " in error
    assert str(GUEST_DIR) not in error and "importlib" not in error
    assert worker.exit_code() == 1


def test_the_channel_closing_ends_the_instance_quietly(tmp_path, workers, style):
    worker = start_style(workers, style, tmp_path).new_instance()
    worker.channel.close()
    assert worker.exit_code() == 0
    assert worker.log() == ""


# --- loading ---------------------------------------------------------------------------------


def test_a_missing_package_names_the_environment(tmp_path, workers):
    worker = start_app(workers, sdk3_python(), tmp_path, "import not_installed_anywhere\n")
    error = worker.loaded()["error"]
    assert f'File "{tmp_path / "app.py"}", line 1, in <module>' in error
    assert "ModuleNotFoundError: No module named 'not_installed_anywhere'" in error
    assert f"is 'not_installed_anywhere' installed in the app's Python environment, {sdk3_python()}?" in error


def test_a_missing_handler_module_says_where_it_was_looked_for(tmp_path, workers):
    (tmp_path / "lib").mkdir()
    worker = workers(plain_python(), tmp_path, module="nowhere", paths=[tmp_path / "lib"])
    error = worker.loaded()["error"]
    assert "No module named 'nowhere'" in error
    assert f"looked for it in: {tmp_path / 'lib'}, {tmp_path}" in error  # sys.path order


def test_the_shims_then_paths_then_the_workdir_lead_sys_path(tmp_path, workers):
    """As componentize-py -p folders do, the paths come before the app folder."""
    write(tmp_path / "lib", {"shared.py": "WHERE = 'lib'\n"})
    source = """
        import json, sys, shared
        from spin_http import Response
        def handle_request(request):
            return Response(200, {}, json.dumps([shared.WHERE, sys.path[:3]]).encode())
    """
    worker = start_app(workers, plain_python(), tmp_path, source, {"shared.py": "WHERE = 'workdir'\n"}, paths=[tmp_path / "lib"])
    worker = worker.ready()
    where, path = json.loads(worker.response("GET", "/")[2])
    assert where == "lib"
    assert path == [str(GUEST_DIR / "shims"), str(tmp_path / "lib"), str(tmp_path)]


def test_a_module_without_a_handler_fails_the_load(tmp_path, workers):
    worker = start_app(workers, plain_python(), tmp_path, "def handler(request):\n    pass\n")
    error = worker.loaded()["error"]
    assert "has no HTTP handler" in error
    assert "HttpHandler" in error and "IncomingHandler" in error and "handle_request" in error
    assert "Traceback" not in error


def test_sys_exit_while_loading_fails_the_load(tmp_path, workers):
    worker = start_app(workers, plain_python(), tmp_path, "import sys\nsys.exit(4)\n")
    assert "the module called sys.exit(4) while it was imported" in worker.loaded()["error"]
    assert worker.exit_code() == 1


def test_ready_lists_the_app_files_the_module_imported(tmp_path, workers, style):
    worker = start_style(workers, style, tmp_path)
    message = worker.loaded()
    assert sorted(message["files"]) == sorted(str(tmp_path.resolve() / name) for name in ("app.py", "common.py"))


# --- responses Spin would refuse -------------------------------------------------------------


@pytest.mark.parametrize(
    "response, text",
    [
        ('Response(200, {}, "text")', "the Response body is a str: Spin needs bytes or None"),
        ('Response(200, {"content-length": 4}, b"text")', "the Response header str 'content-length': int 4 is not str"),
        ('Response("200", {}, None)', "the Response status str '200' is not an HTTP status code"),
        ("Response(200, None, None)", "the Response headers are NoneType None: Spin needs a dict"),
        ('"just text"', "the handler returned str 'just text', not a spin_http.Response"),
    ],
)
def test_a_response_spin_would_refuse_fails_with_the_reason(tmp_path, workers, response, text):
    source = f"from spin_http import Response\ndef handle_request(request):\n    return {response}\n"
    worker = start_app(workers, plain_python(), tmp_path, source).ready()
    message, _ = worker.http("GET", "/")
    assert message["op"] == "failed"
    assert text in message["error"]


def test_a_response_without_a_body_is_empty(tmp_path, workers):
    source = "from spin_http import Response\ndef handle_request(request):\n    return Response(204, {}, None)\n"
    worker = start_app(workers, plain_python(), tmp_path, source).ready()
    assert worker.response("GET", "/") == (204, [], b"")


def test_an_async_incoming_handler_is_refused_as_spin_sdk_3_would(tmp_path, workers):
    source = """
        from spin_sdk.http import IncomingHandler, Response
        class IncomingHandler(IncomingHandler):
            async def handle_request(self, request):
                return Response(200, {}, b"never")
    """
    worker = start_app(workers, sdk3_python(), tmp_path, source).ready()
    message, _ = worker.http("GET", "/")
    assert message["op"] == "failed"
    assert "must be a plain `def`" in message["error"]


def test_a_plain_def_http_handler_is_refused_as_spin_sdk_5_would(tmp_path, workers):
    source = """
        from spin_sdk.http import Handler, Response
        class HttpHandler(Handler):
            def handle_request(self, request):
                return Response(200, {}, b"never")
    """
    worker = start_app(workers, sdk5_python(), tmp_path, source).ready()
    message, _ = worker.http("GET", "/")
    assert message["op"] == "failed"
    assert "HttpHandler.handle_request must be `async def`" in message["error"]


def test_an_incoming_handler_with_neither_handle_request_nor_handle_is_reported(tmp_path, workers):
    # The raw wasi:http exports (0.3's HttpHandler.handle, 0.2's handle(request, response_out)) run:
    # tests/trigger/streaming.
    source = """
        from spin_sdk.wit import exports
        class IncomingHandler(exports.IncomingHandler):
            pass
    """
    worker = start_app(workers, sdk3_python(), tmp_path, source)
    error = worker.loaded()["error"]
    assert "class IncomingHandler has neither a handle_request method nor its own handle method" in error
    assert "the raw wasi:http 0.2 `handle(request, response_out)`" in error


# --- spin-sdk 4 and 5 under CPython ----------------------------------------------------------

ASYNCIO_APP = """
    import asyncio, json
    import componentize_py_async_support, componentize_py_runtime, componentize_py_types
    from spin_sdk.http import Handler, Request, Response

    async def at_import():
        await asyncio.sleep(0.001)
        return "ran"

    # The SDK's import installs componentize-py's loop; asyncio.run must still work afterwards.
    AT_IMPORT = asyncio.run(at_import())
    LOCK = asyncio.Lock()
    DONE = []

    async def later(text):
        await asyncio.sleep(0.05)
        DONE.append(text)
        print(f"{text}: {DONE}", flush=True)

    async def broken():
        raise RuntimeError("spawned and broken")

    class HttpHandler(Handler):
        async def handle_request(self, request: Request) -> Response:
            if request.uri == "/spawn":
                componentize_py_async_support.spawn(later("spawned"))
                componentize_py_async_support.spawn(broken())
                return Response(202, {}, b"")
            async with LOCK:  # module-level asyncio objects work across requests
                results = await asyncio.gather(asyncio.sleep(0.01, "a"), asyncio.sleep(0.001, "b"))
            seen = {
                "at_import": AT_IMPORT,
                "gathered": results,
                "loop": type(asyncio.get_running_loop()).__module__,
                "types": componentize_py_types.__file__,
                "ok": repr(componentize_py_types.Ok(1)),
                "done": DONE,
            }
            try:
                componentize_py_runtime.stream_read(0, 0, 1)
            except NotImplementedError as error:
                seen["runtime"] = str(error)
            return Response(200, {"content-type": "application/json"}, json.dumps(seen).encode())
"""


@pytest.mark.parametrize("sdk", ["sdk4-py312", "sdk5-py312", "sdk5-py313"])
def test_spin_sdk_async_handlers_run_on_a_real_event_loop(tmp_path, workers, sdk):
    worker = start_app(workers, STYLES[sdk][0](), tmp_path, ASYNCIO_APP).ready()
    for _ in range(2):
        status, _, body = worker.response("GET", "/")
        assert status == 200, body
        seen = json.loads(body)
        assert seen["at_import"] == "ran"
        assert seen["gathered"] == ["a", "b"]
        assert seen["loop"].startswith("asyncio.")  # not componentize_py_async_support's _Loop
        assert seen["types"] == str(GUEST_DIR / "shims" / "componentize_py_types.py")
        assert seen["ok"] == "Ok(value=1)"
        assert "exist only inside a WebAssembly component" in seen["runtime"]
        assert seen["done"] == []

    # Spawned work goes on after the response, within its own instance: the next request
    # starts from the state after import, as under Spin.
    assert worker.response("GET", "/spawn") == (202, [], b"")
    assert json.loads(worker.response("GET", "/")[2])["done"] == []
    log = worker.log()
    assert "spawned: ['spawned']" in log
    assert "A task the handler spawned failed after the response was sent" in log
    assert "RuntimeError: spawned and broken" in log


# --- host calls ------------------------------------------------------------------------------

HOST_CALL = """
    def ask(uri):
        value = host.call("kv", "get", {"key": "k", "uri": uri})
        try:
            host.call("kv", "get", {"key": "missing"})
        except host.HostError as error:
            return f"{value} | {error.kind}: {error.message}".encode()
"""

HOST_CALL_APPS = {
    "original": (
        plain_python,
        """
        from spin_py_guest import host
        from spin_http import Response
        from ask import ask

        def handle_request(request):
            return Response(200, {}, ask(request.uri))
        """,
    ),
    "sdk5": (
        sdk5_python,
        """
        from spin_py_guest import host
        from spin_sdk.http import Handler, Response
        from ask import ask

        class HttpHandler(Handler):
            async def handle_request(self, request):
                return Response(200, {}, ask(request.uri))
        """,
    ),
}


@pytest.mark.parametrize("app", list(HOST_CALL_APPS))
def test_host_calls_return_values_and_raise_host_errors(tmp_path, workers, app):
    python, source = HOST_CALL_APPS[app]
    extra = {"ask.py": "from spin_py_guest import host\n" + textwrap.dedent(HOST_CALL)}
    worker = start_app(workers, python(), tmp_path, source, extra).ready()
    worker.send_http("GET", "/q?x=1")
    call, _ = worker.recv()
    # The channel is the caller's identity: the message names no component.
    assert call == {"op": "call", "turn": 1, "capability": "kv", "function": "get", "args": {"key": "k", "uri": "/q?x=1"}}
    worker.answer({"op": "return", "value": "the value"})
    call, _ = worker.recv()
    assert call["args"] == {"key": "missing"}
    worker.answer({"op": "error", "kind": "NoSuchStore", "message": "no store named 'x'"})
    message, body = worker.recv()
    assert message["op"] == "response", message
    assert message["done"] is True  # nothing spawned: the response ends the turn
    assert body == b"the value | NoSuchStore: no store named 'x'"


# --- the worker process ----------------------------------------------------------------------


def test_ctrl_c_in_the_terminal_leaves_the_worker_to_the_host(tmp_path, workers):
    source = "from spin_http import Response\ndef handle_request(request):\n    return Response(200, {}, b'still here')\n"
    worker = start_app(workers, plain_python(), tmp_path, source).ready()
    worker.process.send_signal(signal.SIGINT)
    time.sleep(0.2)
    assert worker.response("GET", "/")[2] == b"still here"
    assert "KeyboardInterrupt" not in worker.log()


STDLIB_CHECK = "import importlib, json, pkgutil, sys\nbefore = set(sys.modules)  # what the interpreter itself loaded at startup\n" \
    + guest_loader() + f"""
d = {str(GUEST_DIR)!r}
sys.path.insert(0, d + '/shims')
ours = {{'spin_py_guest', 'spin_py_wire'}}
for info in pkgutil.iter_modules([d]):
    importlib.import_module('spin_py_guest.' + info.name)
for info in pkgutil.iter_modules([{str(WIRE_DIR)!r}]):
    importlib.import_module('spin_py_wire.' + info.name)
for info in pkgutil.iter_modules([d + '/shims']):
    importlib.import_module(info.name)
    ours.add(info.name)
loaded = set(sys.modules) - before
print(json.dumps({{
    "loaded": len(loaded),
    "foreign": sorted(n for n in loaded if n.split('.')[0] not in sys.stdlib_module_names | ours),
}}))
"""


@pytest.mark.parametrize("version", ["3.11", "3.12", "3.13"])
def test_importing_the_guest_pulls_in_the_standard_library_only(version):
    result = subprocess.run(
        [find_python(version), "-I", "-c", STDLIB_CHECK], capture_output=True, text=True, check=True, timeout=60
    )
    report = json.loads(result.stdout)
    assert report["loaded"] > 10  # the check saw the guest's modules load
    assert report["foreign"] == []


def test_a_worker_loads_nothing_but_the_standard_library_and_the_app(tmp_path, workers):
    source = """
        import sys
        from spin_http import Response
        def handle_request(request):
            names = {name.split(".")[0] for name in sys.modules}
            foreign = sorted(names - set(sys.stdlib_module_names) - {"__main__", "spin_py_guest", "spin_py_wire", "spin_http", "app"})
            return Response(200, {}, ",".join(foreign).encode())
    """
    worker = start_app(workers, plain_python(), tmp_path, source).ready()
    assert worker.response("GET", "/")[2] == b""
