"""spin-kv-explorer served by spin-py itself, through one real `spin-py up` over loopback: the
component as its template adds it (v0.10.0, `kv_credentials` from `kv_explorer_user` and
`kv_explorer_password`), beside a Python component that writes keys; and the same release without
credentials, with SPIN_APP_KV_SKIP_AUTH, with a value lacking ':', and the older v0.9.0 that keeps
its credentials in the default store. Expected answers are those of fermyon/spin-kv-explorer's
explorer/main.go, its Go SDK (sdk/go/v2) and julienschmidt/httprouter v1.3.0."""

import base64
import re
import sys

import pytest
from apps import write_app
from live import LiveServer, run_cli

V010 = ('source = { url = "https://github.com/fermyon/spin-kv-explorer/releases/download/v0.10.0/spin-kv-explorer.wasm", '
        'digest = "sha256:65bc286f8315746d1beecd2430e178f539fa487ebf6520099daae09a35dbce1d" }\n')
V090 = ('source = { url = "https://github.com/radu-matei/spin-kv-explorer/releases/download/v0.9.0/spin-kv-explorer.wasm", '
        'digest = "sha256:07f5f0b8514c14ae5830af0f21674fd28befee33cd7ca58bc0a68103829f2f9c" }\n')
CREDENTIALS = '[component.{id}.variables]\nkv_credentials = "{{{{ kv_explorer_user }}}}:{{{{ kv_explorer_password }}}}"\n'


def _explorer(component_id, route, source=V010, extra=""):
    return (f'[[trigger.http]]\ncomponent = "{component_id}"\nroute = "{route}"\n\n'
            f'[component.{component_id}]\n{source}allowed_outbound_hosts = ["redis://*:*", "mysql://*:*", "postgres://*:*"]\n'
            f'key_value_stores = ["default"]\n{extra}\n')


HEAD = (
    'spin_manifest_version = 2\n\n[application]\nname = "kv-app"\n\n'
    "[variables]\nkv_explorer_user = { required = true }\nkv_explorer_password = { required = true }\n\n"
    '[[trigger.http]]\nroute = "/app/..."\ncomponent = "web"\n\n'
    '[component.web]\nsource = "app.wasm"\nkey_value_stores = ["default"]\nallowed_outbound_hosts = ["http://kv-explorer.spin.internal"]\n'
    '[component.web.build]\ncommand = "componentize-py -w spin-http componentize app -o app.wasm"\n\n'
)
MANIFEST = (
    HEAD
    + _explorer("kv-explorer", "/internal/kv-explorer/...", extra=CREDENTIALS.format(id="kv-explorer"))
    + _explorer("kv-bare", "/bare/kv-explorer/...")
    + _explorer("kv-open", "/open/kv-explorer/...", extra='environment = { SPIN_APP_KV_SKIP_AUTH = "1" }\n')
    + _explorer("kv-colon", "/colon/kv-explorer/...", extra='[component.kv-colon.variables]\nkv_credentials = "{{ kv_explorer_user }}"\n')
    + _explorer("kv-old", "/old/kv-explorer/...", source=V090)
)
APP = """
    from spin_http import Request, Response, http_send
    from spin_key_value import kv_open

    def handle_request(request):
        if request.uri.startswith("/app/chain"):  # /app/chain?<path>: a chained request to the explorer
            path = request.uri.partition("?")[2]
            headers = {"authorization": request.headers["authorization"]}
            answer = http_send(Request("GET", "http://kv-explorer.spin.internal" + path, headers, None))
            return Response(answer.status, {"x-location": answer.headers.get("location", "")}, answer.body)
        store = kv_open("default")
        store.set("greeting", b"hello <world> & co")
        store.set("a/b<&>", b"\\xff\\x00binary")
        return Response(200, {}, b"written")
"""
USER, PASSWORD = "admin", "s3cret"
ROOT = "/internal/kv-explorer"


def auth(user=USER, password=PASSWORD):
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def safe(key: str) -> str:
    """The explorer's safe key: base64 of the key's bytes, '/' written '-'."""
    return base64.b64encode(key.encode()).decode().replace("/", "-")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("kv-app")
    path = write_app(folder, MANIFEST, {"app.py": APP})
    live = LiveServer(path, "--python", sys.executable, log_path=folder / "spin-py.log",
                      env={"SPIN_VARIABLE_KV_EXPLORER_USER": USER, "SPIN_VARIABLE_KV_EXPLORER_PASSWORD": PASSWORD})
    try:
        live.wait_ready(timeout=60)
        assert live.get("/app/write")[0] == 200
        yield live
    finally:
        live.stop()


def test_startup_says_each_explorer_is_served_by_spin_py(server):
    output = server.output()
    assert "Component 'kv-explorer' (spin-kv-explorer v0.10.0) is served by spin-py's built-in key-value explorer" in output
    assert "Component 'kv-old' (spin-kv-explorer v0.9.0) is served by spin-py's built-in key-value explorer" in output
    assert "not served" not in output


def test_the_page_needs_no_credentials_and_the_route_without_slash_redirects(server):
    status, headers, body = server.get(ROOT + "/")
    assert status == 200 and headers["content-type"] == "text/html; charset=utf-8"
    assert b'"root": "/internal/kv-explorer/"' in body and b'"stores": ["default"]' in body
    status, headers, body = server.get(ROOT)
    location = f"http://127.0.0.1:{server.port}{ROOT}/"
    assert (status, headers["location"]) == (301, location)
    assert body == f'<a href="{location}">Moved Permanently</a>.\n\n'.encode()


def test_basic_auth(server):
    url = ROOT + "/api/stores/default"
    for headers in ({}, auth(password="wrong"), auth(user="root"), {"Authorization": "Bearer x"}):
        status, answer, body = server.get(url, headers=headers)
        assert (status, answer["www-authenticate"], body) == (401, "Basic realm=Restricted", b"Unauthorized\n")
        assert answer["content-type"] == "text/plain; charset=utf-8"
    assert server.get(url, headers=auth())[0] == 200


def test_list_and_get_as_main_go_encodes_them(server):
    status, headers, body = server.get(ROOT + "/api/stores/default", headers=auth())
    assert status == 200 and "content-type" not in headers  # json.NewEncoder(w) sets none
    assert body.endswith(b"}\n") and rb'"a\/b' not in body
    assert body.startswith(b'{"store":"default","keys":[') and b'"a/b\\u003c\\u0026\\u003e"' in body  # Go escapes <, & and >
    status, _, body = server.get(ROOT + "/api/stores/default/keys/" + safe("a/b<&>"), headers=auth())
    assert status == 200
    expected = base64.b64encode(b"\xff\x00binary").decode()
    assert body == f'{{"store":"default","key":"{safe("a/b<&>")}","value":"{expected}"}}\n'.encode()
    status, _, body = server.get(ROOT + "/api/stores/default/keys/" + safe("missing"), headers=auth())
    assert (status, body) == (404, b'{"store":"default","key":"bWlzc2luZw==","value":null}\n')


def test_set_then_delete(server):
    base = ROOT + "/api/stores/default"
    status, _, body = server.request("POST", base, body=b'{"key": "new key", "value": "v\xc3\xa9"}', headers=auth())
    assert (status, body) == (200, b"")
    assert server.get(base + "/keys/" + safe("new key"), headers=auth())[2] == (
        b'{"store":"default","key":"bmV3IGtleQ==","value":"%s"}\n' % base64.b64encode("vé".encode()))
    assert server.request("DELETE", base + "/keys/" + safe("new key"), headers=auth())[:3:2] == (200, b"")
    assert server.get(base + "/keys/" + safe("new key"), headers=auth())[0] == 404
    # Not JSON, or a field of the wrong type: 400 with no body.
    for bad in (b"nope", b'{"key": 1, "value": "x"}', b""):
        assert server.request("POST", base, body=bad, headers=auth())[::2] == (400, b"")
    # The Go SDK panics on an empty value (&x[0]): the component traps, Spin answers 500 with no body.
    assert server.request("POST", base, body=b'{"key": "e", "value": ""}', headers=auth())[::2] == (500, b"")
    server.wait_for_output("[kv-explorer] panic: runtime error: index out of range [0] with length 0")


def test_the_components_key_value_stores_apply(server):
    status, headers, body = server.get(ROOT + "/api/stores/other", headers=auth())
    assert (status, body, headers["x-content-type-options"]) == (500, b"access denied\n", "nosniff")
    server.wait_for_output("ERROR: cannot open store: access denied")


def test_the_routers_own_answers(server):
    base = ROOT + "/api/stores/default"
    status, headers, body = server.request("PUT", base, headers=auth())
    assert (status, headers["allow"], body) == (405, "GET, OPTIONS, POST", b"Method Not Allowed\n")
    status, headers, body = server.request("OPTIONS", base + "/keys/x")
    assert (status, headers["allow"], body) == (200, "DELETE, GET, OPTIONS", b"")
    assert server.get(ROOT + "/elsewhere")[::2] == (404, b"404 page not found\n")
    status, headers, _ = server.get(base + "/")
    assert (status, headers["location"]) == (301, f"http://127.0.0.1:{server.port}{base}")
    status, headers, body = server.request("POST", ROOT + "/API/Stores/default?x=1", body=b"{}")
    assert (status, headers["location"], body) == (307, f"http://127.0.0.1:{server.port}{base}?x=1", b"")


def test_unset_credentials_answer_403_everywhere(server):
    for path in ("/bare/kv-explorer/", "/bare/kv-explorer/api/stores/default"):
        status, headers, body = server.get(path, headers=auth())
        assert (status, body) == (403, b"KV explorer credentials not configured.\n")
        assert "content-type" not in headers
    server.wait_for_output("[kv-bare] The 'kv_explorer_user' and 'kv_explorer_password' variables for the application are not set.")


def test_skip_auth_and_credentials_without_a_colon(server):
    assert server.get("/open/kv-explorer/api/stores/default")[0] == 200
    server.wait_for_output("[kv-open] INFO: Skipping authentication")
    assert server.get("/colon/kv-explorer/", headers=auth())[::2] == (500, b"")
    server.wait_for_output("[kv-colon] panic: runtime error: index out of range [1] with length 1")


def test_before_v0_10_the_credentials_are_made_up_and_kept_in_the_default_store(server):
    assert server.get("/old/kv-explorer/api/stores/default")[0] == 401
    server.wait_for_output("Default password: ")
    user = re.search(r"\[kv-old\] \S+ \S+ Default user: (\S+)", server.output()).group(1)
    password = re.search(r"\[kv-old\] \S+ \S+ Default password: (\S+)", server.output()).group(1)
    assert len(user) == 10 and len(password) == 30
    status, _, body = server.get("/old/kv-explorer/api/stores/default", headers=auth(user, password))
    assert status == 200 and b'"kv-credentials"' in body
    # The key is taken as it is in the path, not safe-encoded.
    status, _, body = server.get("/old/kv-explorer/api/stores/default/keys/greeting", headers=auth(user, password))
    assert (status, body) == (200, b'{"store":"default","key":"greeting","value":"%s"}\n' % base64.b64encode(b"hello <world> & co"))


def test_required_variables_unset_stop_startup(tmp_path):
    path = write_app(tmp_path, HEAD + _explorer("kv-explorer", "/internal/kv-explorer/...",
                                                extra=CREDENTIALS.format(id="kv-explorer")), {"app.py": APP})
    result = run_cli("up", "-f", str(path), "--listen", "127.0.0.1:0", "--no-watch", "--python", sys.executable, timeout=60)
    assert result.returncode != 0
    assert "no provider resolved required variable(s)" in result.stderr and "kv_explorer_user" in result.stderr
    assert "Traceback" not in result.stderr


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def test_the_page_in_a_browser_lists_sets_and_deletes_through_the_explorers_api(server):
    from playwright.sync_api import expect, sync_playwright
    from servers import ensure_debian_package

    ensure_debian_package("chromium", "chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(http_credentials={"username": USER, "password": PASSWORD})
            page = context.new_page()
            page.goto(server.url + ROOT)  # the 301 to the route with a slash, then the page
            row = page.locator('#keys tr[data-key="greeting"]')
            expect(row).to_contain_text("hello <world> & co")
            expect(page.locator('#keys tr[data-key="a/b<&>"]')).to_contain_text("base64")
            page.get_by_label("new key").fill("from the page")
            page.get_by_label("new value").fill("set in a browser")
            page.get_by_role("button", name="Set").click()
            expect(page.locator('#keys tr[data-key="from the page"]')).to_contain_text("set in a browser")
            page.on("dialog", lambda dialog: dialog.accept())
            page.locator('#keys tr[data-key="from the page"]').get_by_role("button", name="Delete").click()
            expect(page.locator('#keys tr[data-key="from the page"]')).to_have_count(0)
        finally:
            browser.close()
    status, _, body = server.get(ROOT + "/api/stores/default", headers=auth())
    assert status == 200 and b"from the page" not in body


def test_a_chained_request_is_answered_on_the_synthetic_wildcard_route(server):
    # Spin matches a chained request's whole path against "/..." (spin-component-route ""), so the
    # explorer's API is at /api/... there, and its public path is one the router does not know.
    status, _, body = server.get("/app/chain?/api/stores/default", headers=auth())
    assert status == 200 and body.startswith(b'{"store":"default","keys":[')
    assert server.get("/app/chain?/internal/kv-explorer/api/stores/default", headers=auth())[::2] == (404, b"404 page not found\n")
