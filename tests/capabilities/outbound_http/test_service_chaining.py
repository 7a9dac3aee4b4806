"""Service chaining through `spin-py up` (spin-sdk 3.4.1 and 5.0.0): a request to
``http://<component>.spin.internal`` reaches that component's handler without the
network, a private route included, with the headers Spin's OutboundHttpInterceptor
gives a chained request (crates/trigger-http/src/outbound_http.rs: the synthetic
match of the whole path on ``/...``, client address 0.0.0.0:0, no Host); a component
whose allowed_outbound_hosts lacks the target is denied."""

import json

from apps import sdk3_python, sdk5_python, write_app

MANIFEST = """
    spin_manifest_version = 2

    [application]
    name = "chain"

    [[trigger.http]]
    route = "/front/..."
    component = "front"

    [[trigger.http]]
    route = "/nosy/..."
    component = "nosy"

    [[trigger.http]]
    route = { private = true }
    component = "back"

    [component.front]
    source = "front.wasm"
    allowed_outbound_hosts = ["http://back.spin.internal"]
    [component.front.build]
    command = "componentize-py -w spin-http componentize front -o front.wasm"

    [component.nosy]
    source = "front.wasm"
    [component.nosy.build]
    command = "componentize-py -w spin-http componentize front -o front.wasm"

    [component.back]
    source = "back.wasm"
    [component.back.build]
    command = "componentize-py -w spin-http componentize back -o back.wasm"
"""

FRONT_SDK3 = """
    import json
    from spin_sdk.http import IncomingHandler, Request, Response, send
    from spin_sdk.wit.types import Err

    class IncomingHandler(IncomingHandler):
        def handle_request(self, request: Request) -> Response:
            try:
                answer = send(Request("POST", request.headers["x-target"], {"x-from": "front"}, b"payload"))
            except Err as error:
                return Response(200, {}, json.dumps({"error": type(error.value).__name__}).encode())
            return Response(200, {}, json.dumps({"status": answer.status, "body": answer.body.decode()}).encode())
"""

FRONT_SDK5 = """
    import json
    from componentize_py_types import Err
    from spin_sdk.http import Handler, Request, Response, send

    class HttpHandler(Handler):
        async def handle_request(self, request: Request) -> Response:
            try:
                answer = await send(Request("POST", request.headers["x-target"], {"x-from": "front"}, b"payload"))
            except Err as error:
                return Response(200, {}, json.dumps({"error": type(error.value).__name__}).encode())
            return Response(200, {}, json.dumps({"status": answer.status, "body": answer.body.decode()}).encode())
"""

BACK_SDK3 = """
    import json
    from spin_sdk.http import IncomingHandler, Request, Response

    class IncomingHandler(IncomingHandler):
        def handle_request(self, request: Request) -> Response:
            seen = {"method": request.method, "uri": request.uri, "headers": request.headers, "body": request.body.decode()}
            return Response(201, {"content-type": "application/json"}, json.dumps(seen).encode())
"""

BACK_SDK5 = """
    import json
    from spin_sdk.http import Handler, Request, Response

    class HttpHandler(Handler):
        async def handle_request(self, request: Request) -> Response:
            seen = {"method": request.method, "uri": request.uri, "headers": request.headers, "body": request.body.decode()}
            return Response(201, {"content-type": "application/json"}, json.dumps(seen).encode())
"""


def ask(server, path, target):
    status, _, payload = server.request("GET", path, headers={"x-target": target})
    assert status == 200, payload
    return json.loads(payload)


def check_chaining(server):
    answer = ask(server, "/front/go", "http://back.spin.internal/chained/path?q=1")
    assert answer.get("status") == 201, answer
    seen = json.loads(answer["body"])
    assert seen["method"] == "POST" and seen["uri"] == "/chained/path?q=1" and seen["body"] == "payload"
    headers = seen["headers"]
    assert headers["x-from"] == "front" and headers["content-length"] == "7" and "host" not in headers
    assert headers["spin-path-info"] == "/chained/path"
    assert headers["spin-full-url"] == "http://localhost/chained/path?q=1"
    assert headers["spin-matched-route"] == "/..." and headers["spin-raw-component-route"] == "/..."
    assert headers["spin-component-route"] == "" and headers["spin-base-path"] == "/"
    assert headers["spin-client-addr"] == "0.0.0.0:0"
    server.wait_for_output("POST /chained/path?q=1 -> back 201")
    # The private component has no route of its own.
    assert server.get("/chained/path")[0] == 404
    # Denied: the target is not in nosy's allowed_outbound_hosts (nor another component in front's).
    assert ask(server, "/nosy/go", "http://back.spin.internal/x") == {"error": "ErrorCode_HttpRequestDenied"}
    assert ask(server, "/front/go", "http://nosy.spin.internal/x") == {"error": "ErrorCode_HttpRequestDenied"}
    server.wait_for_output("disallowed destination 'http://back.spin.internal'")


def test_service_chaining_sdk3(tmp_path, spin_up):
    path = write_app(tmp_path / "app", MANIFEST, {"front.py": FRONT_SDK3, "back.py": BACK_SDK3})
    check_chaining(spin_up(path, "--python", str(sdk3_python())))


def test_service_chaining_sdk5(tmp_path, spin_up):
    path = write_app(tmp_path / "app", MANIFEST, {"front.py": FRONT_SDK5, "back.py": BACK_SDK5})
    check_chaining(spin_up(path, "--python", str(sdk5_python())))
