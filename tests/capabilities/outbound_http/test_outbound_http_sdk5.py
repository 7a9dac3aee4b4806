"""spin-sdk 5.0.0 (Python 3.12) through `spin-py up`: the async ``spin_sdk.http.send``,
fermyon:spin/http's ``send_request``, TLS verified (a self-signed certificate is refused
as Spin refuses it: TlsProtocolError), and Spin's manifest errors at startup."""

import json

from apps import component, manifest, sdk5_python, write_app
from live import LiveServer

WORLD = "spin:up/http-trigger@4.0.0"
APP = """
    import json
    from componentize_py_types import Err
    from spin_sdk.http import Handler, Request, Response, send
    from spin_sdk.wit.imports import fermyon_spin_http as v1
    from spin_sdk.wit.imports import fermyon_spin_http_types as v1_types

    class HttpHandler(Handler):
        async def handle_request(self, request: Request) -> Response:
            target = request.headers["x-target"]
            try:
                if request.uri == "/v1":
                    answer = v1.send_request(v1_types.Request(v1_types.Method.POST, target, [("x-from", "v1")], [], b"one"))
                    out = {"status": answer.status, "body": answer.body.decode()}
                else:
                    answer = await send(Request("GET", target, {"x-from": "sdk5"}, None))
                    out = {"status": answer.status, "headers": answer.headers, "body": answer.body.decode()}
            except Err as error:
                out = {"error": type(error.value).__name__, "value": str(getattr(error.value, "name", ""))}
            return Response(200, {"content-type": "application/json"}, json.dumps(out).encode())
"""


def ask(server, path, target):
    status, _, payload = server.request("GET", path, headers={"x-target": target})
    assert status == 200, payload
    return json.loads(payload)


def test_sdk5_send_v1_and_tls(tmp_path, spin_up, origin, tls_origin):
    allowed = json.dumps([f"http://127.0.0.1:{origin.port}", f"https://127.0.0.1:{tls_origin.port}"])
    path = write_app(tmp_path / "app", manifest(component("fetch", route="/...", world=WORLD,
                                                          extra=f"allowed_outbound_hosts = {allowed}")), {"app.py": APP})
    server = spin_up(path, "--python", str(sdk5_python()))
    seen = ask(server, "/", origin.url + "/five")
    assert seen["status"] == 200 and json.loads(seen["body"])["path"] == "/five"
    assert json.loads(seen["body"])["headers"]["x-from"] == "sdk5"
    assert ask(server, "/", "http://127.0.0.1:1/") == {"error": "ErrorCode_HttpRequestDenied", "value": ""}
    assert ask(server, "/", tls_origin.url + "/") == {"error": "ErrorCode_TlsProtocolError", "value": ""}
    v1 = ask(server, "/v1", origin.url + "/one")
    assert v1["status"] == 200 and json.loads(v1["body"])["body"] == "one"
    assert ask(server, "/v1", "http://127.0.0.1:1/") == {"error": "HttpError", "value": "DESTINATION_NOT_ALLOWED"}
    server.wait_for_output("disallowed destination 'http://127.0.0.1:1'")


def test_manifest_errors_refuse_startup(tmp_path):
    for entries, text in [
        ('["example.com"]', '"example.com" does not contain a scheme (e.g., \'http://\' or \'*://\')'),
        ('["insecure:allow-all"]', "'insecure:allow-all' is not allowed - use '*://*:*' instead"),
        ('["http://example.com:99999"]', 'Invalid allowed host port "99999"'),
    ]:
        path = write_app(tmp_path / "bad", manifest(component("fetch", route="/...", world=WORLD,
                                                              extra=f"allowed_outbound_hosts = {entries}")), {"app.py": APP})
        server = LiveServer(path, log_path=tmp_path / "bad.log")
        try:
            assert server.process.wait(timeout=60) != 0
            output = server.output()
            assert "component.fetch.allowed_outbound_hosts: `allowed_outbound_hosts` is malformed: " + text in output, output
            assert "Traceback" not in output
        finally:
            server.stop()
