"""The original API's ``spin_http.http_send`` through `spin-py up`, when the request
fails on the way: the old engine's AssertionError and its ``runtime-error (error 4)``,
followed by what spin-sdk 3's ``send`` would name (``DnsError``, ``ConnectionRefused``)
and the host's detail."""

import json

from apps import write_app
from live import free_port

APP = """
    import json
    from spin_http import Request, Response, http_send

    def handle_request(request):
        try:
            http_send(Request("GET", request.headers["x-target"], {}, None))
        except AssertionError as error:
            return Response(200, {"content-type": "application/json"}, json.dumps({"error": str(error)}).encode())
        return Response(200, {"content-type": "application/json"}, b'{"error": null}')
"""


def manifest(allowed):
    return f"""
        spin_manifest_version = 2
        [application]
        name = "original-outbound-errors"
        [[trigger.http]]
        route = "/..."
        component = "fetch"
        [component.fetch]
        source = "app.wasm"
        allowed_outbound_hosts = {json.dumps(allowed)}
        [component.fetch.build]
        command = "spin py2wasm app -o app.wasm"
    """


def error_for(server, target):
    status, _, payload = server.get("/", headers={"x-target": target})
    assert status == 200, payload
    return json.loads(payload)["error"]


def test_a_failed_request_names_the_error(tmp_path, spin_up):
    closed = free_port()
    path = write_app(tmp_path / "app", manifest(["http://nowhere.invalid", f"http://127.0.0.1:{closed}"]), {"app.py": APP})
    server = spin_up(path)

    unresolved = error_for(server, "http://nowhere.invalid/")
    assert unresolved.startswith("runtime-error (error 4): DnsError: "), unresolved
    assert "nowhere.invalid" in unresolved

    refused = error_for(server, f"http://127.0.0.1:{closed}/")
    assert refused.startswith("runtime-error (error 4): ConnectionRefused: "), refused

    # The other http-errors keep the old engine's text alone.
    assert error_for(server, "http://127.0.0.2:9/") == "destination-not-allowed (error 1)"
