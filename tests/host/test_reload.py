"""Hot reload against a running server: real edits on disk, then requests."""

import textwrap
import threading
import time

from apps import ECHO_SDK3, component, manifest, sdk3_python, write_app

VERSIONED = """
    import time
    from spin_sdk.http import IncomingHandler, Request, Response

    class IncomingHandler(IncomingHandler):
        def handle_request(self, request: Request) -> Response:
            if request.uri == "/v/slow":
                time.sleep(1.5)
            return Response(200, {{}}, b"{text}")
"""


def versioned(text):
    return textwrap.dedent(VERSIONED.format(text=text)).lstrip()


def poll_until(server, path, expected, timeout=15):
    deadline = time.monotonic() + timeout
    while True:
        status, _, body = server.get(path)
        if (status, body) == expected:
            return
        assert time.monotonic() < deadline, f"still {status} {body!r}, wanted {expected}\n{server.output()}"
        time.sleep(0.05)


def two_components(tmp_path, spin_up):
    path = write_app(
        tmp_path,
        manifest(component("versioned", route="/v/...", module="versioned"), component("echo", route="/echo/...")),
        {"versioned.py": versioned("one"), "app.py": ECHO_SDK3},
    )
    return path, spin_up(path, "--python", str(sdk3_python()))


def test_an_edit_is_served_on_the_next_request_and_announced(tmp_path, spin_up) -> None:
    _path, server = two_components(tmp_path, spin_up)
    assert server.get("/v/x")[2] == b"one"
    (tmp_path / "versioned.py").write_text(versioned("two"))
    poll_until(server, "/v/x", (200, b"two"))
    server.wait_for_output("Reloaded component 'versioned' (versioned.py changed) in ")
    # The other component does not import versioned.py: its workers stay.
    assert server.get("/echo/x")[0] == 200
    assert "Reloaded component 'echo'" not in server.output()


def test_a_broken_edit_gives_500_with_the_error_until_fixed(tmp_path, spin_up) -> None:
    _, server = two_components(tmp_path, spin_up)
    (tmp_path / "versioned.py").write_text("def broken(:\n    pass\n")
    server.wait_for_output("versioned.py changed: Component 'versioned' failed to load module 'versioned'")
    status, _, body = server.get("/v/x")
    assert status == 500
    assert b"versioned.py" in body and b"line 1" in body and b"SyntaxError" in body
    assert server.get("/echo/x")[0] == 200
    (tmp_path / "versioned.py").write_text(versioned("fixed"))
    poll_until(server, "/v/x", (200, b"fixed"))


def test_a_burst_of_saves_is_one_reload(tmp_path, spin_up) -> None:
    _, server = two_components(tmp_path, spin_up)
    for index in range(10):
        (tmp_path / "versioned.py").write_text(versioned(f"save-{index}"))
    poll_until(server, "/v/x", (200, b"save-9"))
    time.sleep(0.5)
    assert server.output().count("Reloaded component 'versioned'") == 1


def test_a_request_in_flight_finishes_on_the_old_code(tmp_path, spin_up) -> None:
    _, server = two_components(tmp_path, spin_up)
    slow = []
    thread = threading.Thread(target=lambda: slow.append(server.get("/v/slow")))
    thread.start()
    time.sleep(0.5)  # the slow request is inside the handler
    (tmp_path / "versioned.py").write_text(versioned("new"))
    server.wait_for_output("Reloaded component 'versioned'")
    assert server.get("/v/x")[2] == b"new"  # a request started after the announcement
    thread.join()
    assert slow[0][:1] == (200,) and slow[0][2] == b"one"


def test_manifest_edits_apply_without_restart_and_bad_ones_are_refused(tmp_path, spin_up) -> None:
    path, server = two_components(tmp_path, spin_up)
    original = path.read_text()

    path.write_text(original + component("added", route="/added", module="app"))
    deadline = time.monotonic() + 15
    while server.get("/added")[0] != 200:
        assert time.monotonic() < deadline, server.output()
        time.sleep(0.05)
    server.wait_for_output("(added: added)")
    assert "changed:" not in server.output()  # unchanged components keep their workers

    path.write_text(original + "\n[component.broken\n")
    server.wait_for_output("Still serving the last good manifest: ")
    assert "spin.toml:" in server.output().split("Still serving the last good manifest: ")[1].splitlines()[0]
    assert server.get("/added")[0] == 200
    assert server.get("/v/x")[2] == b"one"

    path.write_text(original)
    deadline = time.monotonic() + 15
    while server.get("/added")[0] != 404:
        assert time.monotonic() < deadline, server.output()
        time.sleep(0.05)


ASKS = """
    from spin_sdk import llm
    from spin_sdk.http import IncomingHandler, Request, Response
    from spin_sdk.wit.types import Err

    class IncomingHandler(IncomingHandler):
        def handle_request(self, request: Request) -> Response:
            try:
                return Response(200, {}, llm.infer("llama2-chat", "hi").text.encode())
            except Err as error:
                return Response(403, {}, error.value.value.encode())
"""


def test_removing_ai_models_access_applies_to_the_next_call(tmp_path, spin_up) -> None:
    with_access = manifest(component("asker", route="/...", extra='ai_models = ["llama2-chat"]'))
    path = write_app(tmp_path, with_access, {"app.py": ASKS})
    server = spin_up(path, "--python", str(sdk3_python()), "--ai-engine", "deterministic")
    assert server.get("/")[:1] == (200,)
    path.write_text(with_access.replace('ai_models = ["llama2-chat"]', ""))
    server.wait_for_output("Reloaded spin.toml")
    assert "changed: asker" not in server.output()  # a permission change keeps the workers
    status, _, body = server.get("/")
    assert status == 403 and body.startswith(b"The component does not have access to use 'llama2-chat'.")


def test_runtime_config_edits_are_checked_and_applied(tmp_path, spin_up) -> None:
    config = tmp_path / "runtime.toml"
    config.write_text("[llm_compute]\ntype = \"spin\"\n")
    path = write_app(tmp_path, manifest(component("asker", route="/...", extra='ai_models = ["llama2-chat"]')), {"app.py": ASKS})
    server = spin_up(path, "--python", str(sdk3_python()), "--runtime-config-file", str(config))
    config.write_text('[llm_compute]\ntype = "gpu"\n')
    server.wait_for_output('Still serving the last good manifest: ')
    assert 'runtime.toml: llm_compute.type: expected "spin" or "remote_http"' in server.output()
    config.write_text('[llm_compute]\ntype = "remote_http"\nurl = "http://127.0.0.1:9"\nauth_token = "t"\n')
    server.wait_for_output("[llm_compute] changed")
    status, _, body = server.get("/")  # the app answers 403 with the error's text
    assert status == 403 and b"http://127.0.0.1:9/infer request error" in body
