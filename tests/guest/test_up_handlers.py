"""Every handler style, served by a real `spin-py up` over loopback HTTP."""

import json
from pathlib import Path

from apps import ECHO_SDK3, component, manifest, sdk3_python, sdk5_python, write_app

ALL_BYTES = bytes(range(256)) * 4

SDK5_APP = """
    import json, sys
    from spin_sdk.http import Handler, Request, Response

    class HttpHandler(Handler):
        async def handle_request(self, request: Request) -> Response:
            if request.method == "POST":
                return Response(200, {"content-type": "application/octet-stream"}, request.body)
            seen = {"uri": request.uri, "headers": dict(request.headers), "python": sys.version_info[:2]}
            return Response(200, {"content-type": "application/json"}, json.dumps(seen).encode())
"""

ORIGINAL_APP = """
    import json
    from spin_http import Response

    def handle_request(request):
        if request.method == "POST":
            return Response(200, {"content-type": "application/octet-stream"}, request.body)
        headers = dict(request.headers)
        return Response(200, {"content-type": "application/json"},
                        bytes(json.dumps({"uri": request.uri, "headers": headers}), "utf-8"))
"""


def test_sdk3_incoming_handler(tmp_path, spin_up):
    path = write_app(tmp_path, manifest(component("echo", route="/...")), {"app.py": ECHO_SDK3})
    server = spin_up(path, "--python", str(sdk3_python()))

    status, headers, body = server.get("/some/path?x=1&y=%20z", headers={"X-Mixed-Case": "Value"})
    assert status == 200
    assert headers["content-type"] == "application/json"
    assert headers["content-length"] == str(len(body))
    seen = json.loads(body)
    assert seen["method"] == "GET"
    assert seen["uri"] == "/some/path?x=1&y=%20z"
    assert seen["headers"]["x-mixed-case"] == "Value"
    assert all(name == name.lower() for name in seen["headers"])

    status, headers, body = server.request("POST", "/echo-body", body=ALL_BYTES)
    assert (status, headers["x-echo"], body) == (201, "yes", ALL_BYTES)


def test_sdk5_async_handler_on_python_312(tmp_path, spin_up):
    path = write_app(
        tmp_path,
        manifest(component("async-echo", route="/...", world="spin:up/http-trigger@4.0.0")),
        {"app.py": SDK5_APP},
    )
    server = spin_up(path, "--python", str(sdk5_python()))

    status, _, body = server.get("/five?q=1", headers={"X-Test": "1"})
    assert status == 200, body
    seen = json.loads(body)
    assert seen["python"] == [3, 12]
    assert seen["uri"] == "/five?q=1"
    assert seen["headers"]["x-test"] == "1"

    # A second request on the same worker: the event loop must be usable again.
    status, _, body = server.request("POST", "/binary", body=ALL_BYTES)
    assert (status, body) == (200, ALL_BYTES)


def test_original_spin_http_api(tmp_path, spin_up):
    app_manifest = manifest(component("legacy", route="/legacy/..."))
    app_manifest = app_manifest.replace(
        "componentize-py -w spin-http componentize app -o app.wasm", "spin py2wasm app -o app.wasm"
    )
    path = write_app(tmp_path, app_manifest, {"app.py": ORIGINAL_APP})
    server = spin_up(path)

    status, _headers, body = server.get("/legacy/x?y=1")
    assert status == 200, body
    seen = json.loads(body)
    assert seen["uri"] == "/legacy/x?y=1"
    assert seen["headers"]["spin-path-info"] == "/x"

    status, _, body = server.request("POST", "/legacy/bin", body=ALL_BYTES)
    assert (status, body) == (200, ALL_BYTES)


def test_example_hello_app_runs_unchanged(tmp_path, spin_up):
    example = Path(__file__).resolve().parents[2] / "examples" / "hello"
    server = spin_up(example, "--python", str(sdk3_python()), "--state-dir", str(tmp_path / "state"))
    status, _, body = server.get("/hello")
    assert (status, body) == (200, b"Hello from Python!\n")
    status, _, body = server.request("POST", "/hello/json", body=b"abc")
    assert json.loads(body) == {"method": "POST", "uri": "/hello/json", "spin-path-info": "/json", "body-bytes": 3}

