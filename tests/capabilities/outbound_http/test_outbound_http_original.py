"""The original Spin Python API's ``spin_http.http_send`` (spin-python-sdk old-sdk) through
`spin-py up`: an allowed request reaches a local server, a denied one raises the old
engine's AssertionError and prints Spin's two lines; redirects are followed (reqwest)."""

import json

from apps import write_app

APP = """
    import json
    from spin_http import Request, Response, http_send

    def handle_request(request):
        target = request.headers["x-target"]
        try:
            answer = http_send(Request(request.method, target, {"x-from": "component"}, request.body or None))
        except AssertionError as error:
            return Response(200, {"content-type": "application/json"}, json.dumps({"error": str(error)}).encode())
        seen = {"status": answer.status, "headers": dict(answer.headers), "body": json.loads(answer.body)}
        return Response(200, {"content-type": "application/json"}, json.dumps(seen).encode())
"""


def manifest(allowed):
    return f"""
        spin_manifest_version = 2
        [application]
        name = "original-outbound"
        [[trigger.http]]
        route = "/..."
        component = "fetch"
        [component.fetch]
        source = "app.wasm"
        allowed_outbound_hosts = {json.dumps(allowed)}
        [component.fetch.build]
        command = "spin py2wasm app -o app.wasm"
    """


def ask(server, target, method="GET", body=None):
    status, _, payload = server.request(method, "/", body=body, headers={"x-target": target})
    assert status == 200, payload
    return json.loads(payload)


def test_http_send_allowed_denied_and_redirects(tmp_path, spin_up, origin):
    path = write_app(tmp_path / "app", manifest([f"http://127.0.0.1:{origin.port}"]), {"app.py": APP})
    server = spin_up(path)
    seen = ask(server, origin.url + "/hello?x=1", method="POST", body=b"payload")
    assert seen["status"] == 200
    assert seen["headers"]["x-origin"] == "local"
    assert seen["body"]["method"] == "POST" and seen["body"]["path"] == "/hello?x=1"
    assert seen["body"]["body"] == "payload" and seen["body"]["headers"]["x-from"] == "component"
    assert "user-agent" not in seen["body"]["headers"]  # nothing added by the host's client
    assert ask(server, origin.url + "/redirect")["body"]["path"] == "/landed"  # reqwest follows redirects

    denied = ask(server, "http://127.0.0.2:9/nope")
    assert denied == {"error": "destination-not-allowed (error 1)"}
    server.wait_for_output("disallowed destination 'http://127.0.0.2:9'")
    assert ("Warning: A component tried to make an outbound network connection to disallowed destination "
            "'http://127.0.0.2:9'.\nTo allow this request, add 'allowed_outbound_hosts = [\"http://127.0.0.2:9\"]' "
            "to the manifest component section.") in server.output()
    # Only a URL starting with "/" is a self request in this API; without http://self it is refused.
    assert ask(server, "/self") == {"error": "destination-not-allowed (error 1)"}
    server.wait_for_output("A component tried to make an HTTP request to its own app but it does not have permission.")
