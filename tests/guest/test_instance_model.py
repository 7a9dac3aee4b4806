"""Spin's instance model through `spin-py up`, for every API generation: module-level code
runs once per load, every request starts from exactly the post-import state (sequential
and concurrent), and nothing a request does survives it; threads, processes, fork and
lazy imports fail as in WebAssembly; the component's files are at their guest paths and
nothing else is there. (tests/guest/test_wasm_world.py holds the same rules against
componentize-py under wasmtime.)"""

import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from apps import component, manifest, sdk3_python, sdk5_python, write_app

# The probes every style runs, at module level (once) and per request.
PROBES = """
import json, os, random, subprocess, threading

COUNT = 0
AT_IMPORT = random.random()
SEEN = []


def probe(path):
    global COUNT
    COUNT += 1
    SEEN.append(path)
    answers = {"count": COUNT, "seen": list(SEEN), "at_import": AT_IMPORT}
    for name, attempt in [
        ("thread", lambda: threading.Thread(target=print).start()),
        ("subprocess", lambda: subprocess.run(["true"])),
        ("fork", lambda: os.fork()),
        ("system", lambda: os.system("true")),
        ("lazy_import", lambda: __import__("fractions")),
        ("read_file", lambda: open("/data/hello.txt").read()),
        ("read_single", lambda: open("/single.txt").read()),
        ("read_glob", lambda: open("/static/site.css").read()),
        ("excluded", lambda: open("/data/secret.key").read()),
        ("list_data", lambda: sorted(os.listdir("/data"))),
        ("write_mount", lambda: open("/data/new.txt", "w").write("x")),
        ("host_file", lambda: open(HOST_FILE).read()),
        ("app_source", lambda: open(os.path.join(APP_DIR, "app.py")).read()),
        ("proc", lambda: os.listdir("/proc")),
        ("other_environ", lambda: open(f"/proc/{os.getppid()}/environ", "rb").read()),
        ("first_process_memory", lambda: open("/proc/1/mem", "rb").read(1)),
        ("cwd", lambda: os.getcwd()),
        ("environ", lambda: dict(os.environ)),
    ]:
        try:
            answers[name] = f"ok: {attempt()!r}"
        except BaseException as error:
            answers[name] = f"{type(error).__name__}: {error}"
    return json.dumps(answers).encode()
"""

STYLES = {
    "original": (lambda: None, """
        from spin_http import Response
        from probes import probe

        def handle_request(request):
            return Response(200, {"content-type": "application/json"}, probe(request.uri))
    """),
    "sdk3": (sdk3_python, """
        from spin_sdk.http import IncomingHandler, Request, Response
        from probes import probe

        class IncomingHandler(IncomingHandler):
            def handle_request(self, request: Request) -> Response:
                return Response(200, {"content-type": "application/json"}, probe(request.uri))
    """),
    "sdk5": (sdk5_python, """
        from spin_sdk.http import Handler, Request, Response
        from probes import probe

        class HttpHandler(Handler):
            async def handle_request(self, request: Request) -> Response:
                return Response(200, {"content-type": "application/json"}, probe(request.uri))
    """),
}

FILES = """files = [
    { source = "assets", destination = "/data" },
    { source = "single.txt", destination = "/single.txt" },
    "static/*.css",
]
exclude_files = ["assets/*.key"]
environment = { GREETING = "hello" }
"""


@pytest.fixture(params=list(STYLES))
def server(request, tmp_path_factory, spin_up):
    python, source = STYLES[request.param]
    folder = tmp_path_factory.mktemp(request.param)
    host_file = tmp_path_factory.mktemp("outside") / "host.txt"
    host_file.write_text("a file outside the app")
    probes = PROBES.replace("HOST_FILE", repr(str(host_file))).replace("APP_DIR", repr(str(folder)))
    path = write_app(folder, manifest(component("probe", route="/...", extra=FILES)), {
        "app.py": source, "probes.py": probes, "assets/hello.txt": "hello from the mount\n",
        "assets/secret.key": "excluded\n", "single.txt": "one file\n", "static/site.css": "body {}\n",
        "static/notes.txt": "not matched\n",
    })
    interpreter = python()
    return spin_up(path, *(["--python", str(interpreter)] if interpreter else []))


def answers(server, path="/"):
    status, _headers, body = server.get(path)
    assert status == 200, body
    return json.loads(body)


def test_every_request_starts_from_the_state_after_import(server):
    first = answers(server, "/a")
    for index in range(5):
        seen = answers(server, f"/b{index}")
        assert seen["count"] == 1 and seen["seen"] == [f"/b{index}"]
        assert seen["at_import"] == first["at_import"]  # module-level code ran once for every request


def test_concurrent_requests_each_start_from_the_state_after_import(server):
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda index: answers(server, f"/c{index}"), range(24)))
    assert {seen["count"] for seen in results} == {1}
    assert len({seen["at_import"] for seen in results}) == 1


def test_what_webassembly_does_not_have_fails_as_there(server):
    seen = answers(server)
    assert seen["thread"] == "RuntimeError: can't start new thread"
    assert seen["subprocess"].startswith("OSError: [Errno ") and seen["subprocess"].endswith(
        "wasi does not support processes.")
    assert seen["fork"] == "AttributeError: module 'os' has no attribute 'fork'"
    assert seen["system"] == "AttributeError: module 'os' has no attribute 'system'"
    assert seen["lazy_import"] == "ModuleNotFoundError: No module named 'fractions'"
    assert seen["environ"] == "ok: {'GREETING': 'hello'}"


def test_the_components_files_are_at_their_guest_paths_and_nothing_else(server):
    seen = answers(server)
    assert seen["read_file"] == "ok: 'hello from the mount\\n'"
    assert seen["read_single"] == "ok: 'one file\\n'"
    assert seen["read_glob"] == "ok: 'body {}\\n'"
    assert seen["excluded"].startswith("FileNotFoundError")
    assert seen["list_data"] == "ok: ['hello.txt']"
    assert seen["write_mount"].startswith("PermissionError: [Errno 1] Operation not permitted")
    assert seen["host_file"].startswith("FileNotFoundError")
    assert seen["app_source"].startswith("FileNotFoundError")
    assert seen["proc"].startswith("FileNotFoundError")
    # Neither the host's nor a sibling's environment or memory: there is no /proc to read them in.
    assert seen["other_environ"].startswith("FileNotFoundError")
    assert seen["first_process_memory"].startswith("FileNotFoundError")
    assert seen["cwd"] == "ok: '/'"



SPAWNS_AN_INFER = """
    import componentize_py_async_support
    from spin_sdk import llm
    from spin_sdk.http import Handler, Request, Response

    async def afterwards(prompt):
        result = llm.infer("llama2-chat", prompt)
        print(f"after the response: {result.text!r}", flush=True)

    class HttpHandler(Handler):
        async def handle_request(self, request: Request) -> Response:
            componentize_py_async_support.spawn(afterwards("tell me later"))
            return Response(202, {}, b"accepted")
"""


def test_a_task_spawned_after_the_response_calls_the_llm_in_its_own_instance(tmp_path, spin_up):
    path = write_app(tmp_path, manifest(component("later", route="/...", extra='ai_models = ["llama2-chat"]')),
                     {"app.py": SPAWNS_AN_INFER})
    server = spin_up(path, "--python", str(sdk5_python()), "--ai-engine", "deterministic")
    assert server.get("/")[:1] == (202,)
    server.wait_for_output("[later] after the response: ")
    assert "tell me later" in server.output()
