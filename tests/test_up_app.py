"""The app as a whole: manifests v1 and v2, routes and Spin's headers, startup
output, and one-line errors for a user's mistakes."""

import json
import os

from apps import ECHO_SDK3, component, manifest, sdk3_python, write_app
from live import run_cli

V1_MANIFEST = """
spin_manifest_version = "1"
name = "old-style"
version = "1.0.0"
trigger = { type = "http", base = "/api" }

[[component]]
id = "echo_component"
source = "app.wasm"
allowed_http_hosts = ["example.com"]
[component.trigger]
route = "/echo/..."
[component.build]
command = "componentize-py -w spin-http componentize app -o app.wasm"
"""


def test_routes_and_spin_headers(tmp_path, spin_up) -> None:
    path = write_app(
        tmp_path,
        manifest(
            component("exact", route="/hello"),
            component("wild", route="/hello/..."),
            component("named", route="/users/:id/posts/:post"),
            component("private", extra=""),
        ).replace('[component.private]', '[[trigger.http]]\nroute = { private = true }\ncomponent = "private"\n\n[component.private]'),
        {"app.py": ECHO_SDK3},
    )
    server = spin_up(path, "--python", str(sdk3_python()))

    headers = json.loads(server.get("/hello")[2])["headers"]
    assert headers["spin-matched-route"] == "/hello"
    assert headers["spin-component-route"] == "/hello"

    status, _, body = server.get("/hello/a/b?q=1")
    assert status == 200
    headers = json.loads(body)["headers"]
    assert headers["spin-full-url"] == f"http://127.0.0.1:{server.port}/hello/a/b?q=1"
    assert headers["spin-path-info"] == "/a/b"
    assert headers["spin-matched-route"] == "/hello/..."
    assert headers["spin-raw-component-route"] == "/hello/..."
    assert headers["spin-component-route"] == "/hello"
    assert headers["spin-base-path"] == "/"
    assert headers["spin-client-addr"].startswith("127.0.0.1:")

    headers = json.loads(server.get("/users/42/posts/7")[2])["headers"]
    assert headers["spin-path-match-id"] == "42"
    assert headers["spin-path-match-post"] == "7"

    assert server.get("/nothing-here")[0] == 404
    assert server.get("/")[0] == 404
    assert server.get("/.well-known/spin/health")[2] == b"OK"


def test_banner_lists_routes_like_spin(tmp_path, spin_up) -> None:
    path = write_app(
        tmp_path, manifest(component("exact", route="/hello"), component("wild", route="/files/...")),
        {"app.py": ECHO_SDK3},
    )
    server = spin_up(path, "--python", str(sdk3_python()))
    output = server.output()
    assert f"Serving http://127.0.0.1:{server.port}\nAvailable Routes:\n" in output
    assert f"  exact: http://127.0.0.1:{server.port}/hello\n" in output
    assert f"  wild: http://127.0.0.1:{server.port}/files (wildcard)\n" in output
    server.get("/hello")
    server.wait_for_output("GET /hello -> exact 200")


def test_v1_manifest_is_normalized(tmp_path, spin_up) -> None:
    path = write_app(tmp_path, V1_MANIFEST, {"app.py": ECHO_SDK3})
    server = spin_up(path, "--python", str(sdk3_python()))
    assert "echo-component: " in server.output()
    status, _, body = server.get("/api/echo/x")
    assert status == 200
    headers = json.loads(body)["headers"]
    assert headers["spin-path-info"] == "/x"
    assert headers["spin-base-path"] == "/api"
    assert server.get("/echo/x")[0] == 404


def test_a_component_that_is_not_python_gets_501_and_the_rest_is_served(tmp_path, spin_up) -> None:
    fileserver = (
        '[[trigger.http]]\nroute = "/static/..."\ncomponent = "fileserver"\n\n'
        '[component.fileserver]\n'
        'source = { url = "https://example.com/spin_static_fs.wasm", digest = "sha256:0000" }\n'
        'files = [{ source = "assets", destination = "/" }]\n\n'
    )
    path = write_app(tmp_path, manifest(fileserver, component("echo", route="/...")), {"app.py": ECHO_SDK3})
    server = spin_up(path, "--python", str(sdk3_python()))
    assert server.output().count("fileserver") >= 1
    status, _, body = server.get("/static/index.html")
    assert status == 501
    assert b"fileserver" in body
    assert server.get("/other")[0] == 200


def test_duplicate_routes_warn_and_the_last_wins(tmp_path, spin_up) -> None:
    path = write_app(
        tmp_path, manifest(component("first", route="/same"), component("second", route="/same")),
        {"app.py": ECHO_SDK3},
    )
    server = spin_up(path, "--python", str(sdk3_python()))
    assert "first" in server.output().split("Serving")[0]  # warned about before serving
    server.get("/same")
    server.wait_for_output("GET /same -> second 200")


BAD_MANIFESTS = {
    "unknown top-level key": ('spin_manifest_version = 2\nsurprise = 1\n[application]\nname = "x"\n', "surprise"),
    "bad version": ('spin_manifest_version = 3\n[application]\nname = "x"\n', "spin_manifest_version"),
    "bad component id": (manifest(component("Bad_Id", route="/")), "Bad_Id"),
    "missing component": (
        'spin_manifest_version = 2\n[application]\nname = "x"\n[[trigger.http]]\nroute = "/"\ncomponent = "ghost"\n',
        "ghost",
    ),
    "unknown component key": (manifest(component("c", route="/", extra="sauce = 1")), "sauce"),
    "toml syntax": ('spin_manifest_version = 2\n[application\nname = "x"\n', "spin.toml"),
    "bad route": (manifest(component("c", route="/x/:")), "trigger.http.route"),
    "bad variable name": (
        'spin_manifest_version = 2\n[application]\nname = "x"\n[variables]\nBadName = { default = "1" }\n',
        "BadName",
    ),
}


def test_manifest_mistakes_exit_with_one_line(tmp_path) -> None:
    for label, (text, key) in BAD_MANIFESTS.items():
        folder = tmp_path / label.replace(" ", "-")
        write_app(folder, text, {"app.py": ECHO_SDK3})
        result = run_cli("up", "-f", str(folder), "--listen", "127.0.0.1:0", timeout=30)
        assert result.returncode != 0, label
        assert "Traceback" not in result.stderr, (label, result.stderr)
        message = result.stderr.strip()
        assert len(message.splitlines()) == 1, (label, message)
        assert "spin.toml" in message and key in message, (label, message)


def test_bad_flags_exit_with_one_line(tmp_path) -> None:
    result = run_cli("up", "-f", str(tmp_path / "missing"), "--listen", "127.0.0.1:0")
    assert result.returncode != 0 and "Traceback" not in result.stderr and "missing" in result.stderr
    result = run_cli("up", "--listen", "nonsense")
    assert result.returncode != 0 and "--listen" in result.stderr and "Traceback" not in result.stderr
    path = write_app(tmp_path / "app", manifest(component("echo", route="/...")), {"app.py": ECHO_SDK3})
    not_a_folder = tmp_path / "a-file"
    not_a_folder.write_text("")
    for flags, named in [(["--state-dir", str(not_a_folder)], "--state-dir"), (["--python", str(not_a_folder)], "--python"),
                         (["-e", "NOEQUALS"], "--env")]:
        result = run_cli("up", "-f", str(path), "--listen", "127.0.0.1:0", *flags)
        assert result.returncode != 0, flags
        assert named in result.stderr and "Traceback" not in result.stderr, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_listen_address_in_use(tmp_path, spin_up) -> None:
    path = write_app(tmp_path, manifest(component("echo", route="/...")), {"app.py": ECHO_SDK3})
    server = spin_up(path, "--python", str(sdk3_python()))
    result = run_cli("up", "-f", str(path), "--listen", f"127.0.0.1:{server.port}", "--python", str(sdk3_python()))
    assert result.returncode != 0
    assert "--listen" in result.stderr and "Traceback" not in result.stderr


def test_a_route_spin_accepts_but_cannot_match_answers_500(tmp_path, spin_up) -> None:
    path = write_app(tmp_path, manifest(component("odd", route="/a/*/b"), component("echo", route="/echo")),
                     {"app.py": ECHO_SDK3})
    server = spin_up(path, "--python", str(sdk3_python()))
    status, _, body = server.get("/a/z/b")
    assert status == 500 and b"a wildcard must be the last segment" in body
    assert server.get("/echo")[0] == 200


PROFILED = """
    import os
    from spin_http import Response

    def handle_request(request):
        return Response(200, {"content-type": "text/plain"}, os.environ["MODE"].encode())
"""


def test_profile_overrides_apply_as_spin_up_profile_does(tmp_path, spin_up) -> None:
    profiled = component("c", route="/...", extra='environment = { MODE = "prod" }')
    profiled += '[component.c.profile.debug]\nenvironment = { MODE = "debug" }\n'
    path = write_app(tmp_path, manifest(profiled), {"app.py": PROFILED})
    assert spin_up(path).get("/")[2] == b"prod"
    assert spin_up(path, "--profile", "debug").get("/")[2] == b"debug"
    result = run_cli("up", "-f", str(path), "--profile", "deubg", "--listen", "127.0.0.1:0")
    assert result.returncode == 1
    assert result.stderr.strip().endswith("spin.toml: profile deubg is not defined in this application")


def test_a_relative_python_path_is_taken_from_where_spin_py_runs(tmp_path, spin_up) -> None:
    # Workers start in the app's folder: the path must not be read from there.
    path = write_app(tmp_path, manifest(component("c", route="/...")), {"app.py": PROFILED.replace('os.environ["MODE"]', '"ok"')})
    server = spin_up(path, "--python", os.path.relpath(sdk3_python()))
    assert server.get("/")[:1] == (200,)
