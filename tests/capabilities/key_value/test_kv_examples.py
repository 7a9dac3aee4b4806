"""The original `spin_key_value` API and spin-python-sdk's two public key-value
examples, unchanged, through `spin-py up`.

The example sources below are copied verbatim from spinframework/spin-python-sdk
(Apache-2.0): `examples/KV/{app.py,spin.toml}` on the old-sdk branch, and
`examples/spin-kv/{app.py,spin.toml}` on main (its requirements.txt pins
spin-sdk == 4.0.0).
"""

import sys
import time

from apps import sdk4_python, write_app
from kv_apps import get_json

# spinframework/spin-python-sdk, branch old-sdk, examples/KV/app.py
OLD_KV_APP = '''
from spin_http import Response
from spin_key_value import kv_open_default


def handle_request(request):

    store = kv_open_default()

    match request.method:
        case "GET":
            value = store.get(request.uri)
            if value:
                status = 200
            else:
                status = 404
            return Response(status, {"content-type": "text/plain"}, value)
        case "POST":
            store.set(request.uri, request.body)
            return Response(200, {"content-type": "text/plain"})
        case "DELETE":
            store.delete(request.uri)
            return Response(200, {"content-type": "text/plain"})
        case "HEAD":
            if store.exists(request.uri):
                return Response(200, {"content-type": "text/plain"})
            return Response(404, {"content-type": "text/plain"})
        case default:
            return Response(405, {"content-type": "text/plain"})
'''

# spinframework/spin-python-sdk, branch old-sdk, examples/KV/spin.toml
OLD_KV_MANIFEST = '''
spin_manifest_version = 2

[application]
authors = ["Fermyon Engineering <engineering@fermyon.com>"]
description = "Spin Python SDK KV"
name = "spin-py-kv"
version = "0.1.0"

[[trigger.http]]
route = "/..."
component = "py-kv"

[component.py-kv]
source = "app.wasm"
key_value_stores = ["default"]
[component.py-kv.build]
command = "spin py2wasm app -o app.wasm"
watch = ["app.py"]
'''

# spinframework/spin-python-sdk, branch main, examples/spin-kv/app.py
SPIN_KV_APP = '''
from spin_sdk import http, key_value, util
from spin_sdk.http import Request, Response
from spin_sdk.key_value import Store

class HttpHandler(http.Handler):
    async def handle_request(self, request: Request) -> Response:
        with await key_value.open_default() as a:
            await a.set("test", bytes("hello world!", "utf-8"))
            print(await util.collect(await a.get_keys()))
            print(await a.exists("test"))
            print(await a.get("test"))
            await a.delete("test")
            print(await util.collect(await a.get_keys()))

        return Response(
            200,
            {"content-type": "text/plain"},
            bytes("Hello from Python!", "utf-8")
        )
'''

# spinframework/spin-python-sdk, branch main, examples/spin-kv/spin.toml
SPIN_KV_MANIFEST = '''
spin_manifest_version = 2

[application]
name = "test"
version = "0.1.0"
authors = ["Spin Framework Contributors"]
description = ""

[[trigger.http]]
route = "/..."
component = "test"

[component.test]
source = "app.wasm"
allowed_outbound_hosts = []
key_value_stores = ["default"]
[component.test.build]
command = "componentize-py -w spin:up/http-trigger@4.0.0 componentize app -o app.wasm"
'''


def test_old_sdk_kv_example(tmp_path, spin_up):
    path = write_app(tmp_path, OLD_KV_MANIFEST, {"app.py": OLD_KV_APP})
    server = spin_up(path, "--python", sys.executable)
    assert server.request("GET", "/fruit")[0] == 404
    assert server.request("HEAD", "/fruit")[0] == 404
    assert server.request("POST", "/fruit", body=b"apple")[0] == 200
    status, _, body = server.request("GET", "/fruit")
    assert (status, body) == (200, b"apple")
    assert server.request("HEAD", "/fruit")[0] == 200
    assert server.request("DELETE", "/fruit")[0] == 200
    assert server.request("GET", "/fruit")[0] == 404
    assert server.request("PUT", "/fruit")[0] == 405


def test_spin_kv_example(tmp_path, spin_up):
    path = write_app(tmp_path, SPIN_KV_MANIFEST, {"app.py": SPIN_KV_APP})
    server = spin_up(path, "--python", str(sdk4_python()))
    status, _, body = server.get("/")
    assert (status, body) == (200, b"Hello from Python!")  # the README's `curl localhost:3000`
    assert 'Storing default key-value data to "' in server.output()
    log = tmp_path / ".spin" / "logs" / "test_stdout.txt"
    deadline = time.monotonic() + 10
    while "[]" not in log.read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert log.read_text().splitlines()[-4:] == ["['test']", "True", "b'hello world!'", "[]"]


ORIGINAL_APP = """
    import json
    from spin_http import Response
    from spin_key_value import kv_open, kv_open_default

    KEPT = []

    def handle_request(request):
        what, _, arg = request.uri.split("/", 2)[2].partition("/")
        try:
            if what == "ops":
                store = kv_open_default()
                for key in store.get_keys():
                    store.delete(key)
                store.set("k", b"v")
                out = [store.get("k").decode(), store.get("nope"), store.exists("k"), store.get_keys()]
            elif what == "open":
                kv_open(arg)
                out = "opened"
            elif what == "keep":
                KEPT.append(kv_open_default())
                out = "kept"
            elif what == "stale":
                out = KEPT[0].get("k")
            elif what == "str-value":
                kv_open_default().set("k", "text")
        except AssertionError as error:
            out = {"AssertionError": str(error)}
        except TypeError as error:
            out = {"TypeError": str(error)}
        return Response(200, {"content-type": "application/json"}, bytes(json.dumps(out), "utf-8"))
"""


def test_original_api_operations_and_errors(tmp_path, spin_up):
    from kv_apps import write_kv_app

    path, config = write_kv_app(tmp_path / "app", ORIGINAL_APP, world="spin-http")
    server = spin_up(path, "--python", sys.executable, "--runtime-config-file", str(config))
    assert get_json(server, "/kv/ops") == ["v", None, True, ["k"]]
    assert get_json(server, "/kv/open/other") == "opened"
    # The old engine's AssertionError carried the Rust SDK error's Debug text.
    assert get_json(server, "/nokv/open/default") == {"AssertionError": "Error::AccessDenied"}
    assert get_json(server, "/otheronly/open/default") == {"AssertionError": "Error::AccessDenied"}
    assert get_json(server, "/kv/str-value") == {
        "TypeError": "argument 'value': 'str' object cannot be converted to 'PyBytes'"
    }
    assert get_json(server, "/kv/keep") == "kept"
    assert server.get("/kv/stale")[0] == 500
