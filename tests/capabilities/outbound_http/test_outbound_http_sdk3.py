"""spin-sdk 3.4.1 (Python 3.11) through `spin-py up`: ``spin_sdk.http.send`` allowed and
denied (``Err(ErrorCode_HttpRequestDenied())`` and Spin's two lines), no redirect followed
(wasi:http), self requests (a relative URL, ``http://self.alt``) only with ``http://self``,
service chaining allowed and routed; and the component's own sockets
(urllib, http.client, socket.connect) held to the same list."""

import json

from apps import component, manifest, sdk3_python, write_app

APP = """
    import http.client, json, socket, urllib.request
    # socket resolves host names through the idna codec, which, as under componentize-py, an
    # instance cannot import after the app's import: the app imports it with itself.
    import encodings.idna
    from spin_sdk.http import IncomingHandler, Request, Response, send
    from spin_sdk.wit.types import Err

    def fetch(target, method="GET", body=None):
        try:
            answer = send(Request(method, target, {"x-from": "sdk3"}, body))
        except Err as error:
            return {"error": type(error.value).__name__}
        return {"status": answer.status, "headers": answer.headers, "body": answer.body.decode()}

    def plain(kind, target):
        host, port = target.split("//")[1].split(":")
        try:
            if kind == "urllib":
                return {"status": urllib.request.urlopen(target + "/plain", timeout=5).status}
            if kind == "http.client":
                connection = http.client.HTTPConnection(host, int(port), timeout=5)
                connection.request("GET", "/plain")
                return {"status": connection.getresponse().status}
            with socket.create_connection((host, int(port)), timeout=5) if kind == "create" else socket.socket() as sock:
                if kind == "socket":
                    sock.connect((host, int(port)))
                return {"status": "connected"}
        except OSError as error:
            reason = getattr(error, "reason", error)
            return {"error": type(reason).__name__, "text": str(reason)}

    class IncomingHandler(IncomingHandler):
        def handle_request(self, request: Request) -> Response:
            if request.uri.startswith("/plain/"):
                out = plain(request.uri.split("/")[2], request.headers["x-target"])
            elif request.uri.startswith("/send"):
                out = fetch(request.headers["x-target"], request.method, request.body or None)
            else:
                out = {"me": request.uri, "component": "%s"}
            return Response(200, {"content-type": "application/json"}, json.dumps(out).encode())
"""


def write(tmp_path, fetch_hosts, other_hosts="[]"):
    parts = [
        component("fetch", route="/...", world="spin-http", extra=f"allowed_outbound_hosts = {fetch_hosts}"),
        component("other", module="other", world="spin-http", extra=f"allowed_outbound_hosts = {other_hosts}"),
    ]
    text = manifest(*parts).replace('[[trigger.http]]\nroute = "/..."\ncomponent = "fetch"',
                                    '[[trigger.http]]\nroute = "/..."\ncomponent = "fetch"\n\n'
                                    '[[trigger.http]]\nroute = { private = true }\ncomponent = "other"')
    return write_app(tmp_path / "app", text, {"app.py": APP % "fetch", "other.py": APP % "other"})


def ask(server, path, target="", method="GET", body=None):
    status, _, payload = server.request(method, path, body=body, headers={"x-target": target})
    assert status == 200, payload
    return json.loads(payload)


def test_sdk3_send_self_and_sockets(tmp_path, spin_up, origin):
    allowed = json.dumps([f"http://127.0.0.1:{origin.port}", "http://self", "http://other.spin.internal"])
    server = spin_up(write(tmp_path, allowed), "--python", str(sdk3_python()))

    seen = ask(server, "/send", origin.url + "/x?y=1", method="PUT", body=b"data")
    assert seen["status"] == 200 and seen["headers"]["x-origin"] == "local"
    received = json.loads(seen["body"])
    assert received["method"] == "PUT" and received["path"] == "/x?y=1" and received["body"] == "data"
    assert received["headers"]["content-length"] == "4" and received["headers"]["x-from"] == "sdk3"
    assert ask(server, "/send", origin.url + "/redirect")["status"] == 302  # wasi:http follows no redirect

    assert ask(server, "/send", "http://127.0.0.2:9/") == {"error": "ErrorCode_HttpRequestDenied"}
    server.wait_for_output("To allow this request, add 'allowed_outbound_hosts = [\"http://127.0.0.2:9\"]'")
    assert ask(server, "/send", f"https://127.0.0.1:{origin.port}/") == {"error": "ErrorCode_HttpRequestDenied"}

    # Self requests: relative, and http://self.alt; http://self itself is no URL Spin sends.
    assert json.loads(ask(server, "/send", "/me?q=1")["body"]) == {"me": "/me?q=1", "component": "fetch"}
    assert json.loads(ask(server, "/send", "http://self.alt/again")["body"])["me"] == "/again"
    assert ask(server, "/send", "http://self/x") == {"error": "ErrorCode_HttpRequestDenied"}
    # Service chaining reaches the private component (tests/capabilities/outbound_http/test_service_chaining.py).
    assert json.loads(ask(server, "/send", "http://other.spin.internal/chained")["body"]) == {"me": "/chained", "component": "other"}

    # Plain sockets: the allowed origin is reachable, anything else is refused with PermissionError.
    for kind in ("urllib", "http.client", "create", "socket"):
        assert "error" not in ask(server, f"/plain/{kind}", origin.url), kind
        refused = ask(server, f"/plain/{kind}", "http://127.0.0.1:1")
        assert refused["error"] == "PermissionError", (kind, refused)
        assert "tcp://127.0.0.1:1" in refused["text"] and "allowed_outbound_hosts" in refused["text"]
    refused = ask(server, "/plain/urllib", "http://localhost:1")
    assert refused["error"] == "PermissionError" and "tcp://localhost:1" in refused["text"]
    server.wait_for_output("disallowed destination 'tcp://127.0.0.1:1'")


def test_sdk3_without_permission(tmp_path, spin_up, origin):
    server = spin_up(write(tmp_path, "[]"), "--python", str(sdk3_python()))
    assert ask(server, "/send", origin.url + "/") == {"error": "ErrorCode_HttpRequestDenied"}
    assert ask(server, "/send", "/me") == {"error": "ErrorCode_HttpRequestDenied"}
    assert ask(server, "/send", "http://other.spin.internal/") == {"error": "ErrorCode_HttpRequestDenied"}
    server.wait_for_output("A component tried to make an HTTP request to its own app but it does not have permission.")
    # The component that allowed nothing reaches nothing through its own sockets either.
    assert ask(server, "/plain/urllib", origin.url)["error"] == "PermissionError"
    server.wait_for_output(f"To allow this request, add 'allowed_outbound_hosts = [\"tcp://127.0.0.1:{origin.port}\"]'")
