"""The dev inspector in a real browser: headless Chromium from Debian's package, driven by
Playwright, against a real `spin-py up` of a small app (the deterministic stand-in engine
answers its model calls). One server and one browser for the module; the page is loaded
before each request is sent, and never reloaded: what shows comes through its live feed.

``SPIN_PY_INSPECTOR_SCREENSHOT=docs/inspector.png`` keeps the screenshot the first test takes
(the README's picture)."""

import os
import re
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from apps import write_app
from live import LiveServer, run_cli
from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright
from servers import ensure_debian_package

CHROMIUM = "/usr/bin/chromium"
# Nothing of the browser's own reaches the network: no updates, no sync, no QUIC probes.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]

MANIFEST = """
    spin_manifest_version = 2

    [application]
    name = "inspected"

    [[trigger.http]]
    route = "/..."
    component = "web"

    [component.web]
    source = "app.wasm"
    ai_models = ["llama2-chat"]
    key_value_stores = ["default"]
    allowed_outbound_hosts = ["http://web.spin.internal"]
    [component.web.build]
    command = "componentize-py -w spin-http componentize app -o app.wasm"
"""

# The original Python API: it runs in spin-py's own interpreter, so the module needs no virtualenv.
APP = """
    from spin_http import Request, Response, http_send
    from spin_key_value import kv_open, kv_open_default
    from spin_llm import LLMInferencingParams, llm_infer
    from spin_redis import redis_get


    def handle_request(request):
        path = request.uri
        if path.startswith("/ask"):
            params = LLMInferencingParams(max_tokens=8, temperature=0.0)
            result = llm_infer("llama2-chat", "Tell me a joke about cats", params)
            kv_open_default().set("last-answer", result.text.encode())
            print("the model said:", result.text)
            return Response(200, {"content-type": "text/plain"}, result.text.encode())
        if path.startswith("/boom"):
            raise ValueError("the handler gave up")
        if path.startswith("/chain"):
            answer = http_send(Request("GET", "http://web.spin.internal/ask?chained=1", {}, None))
            return Response(answer.status, {"content-type": "text/plain"}, answer.body)
        try:
            if path.startswith("/store"):
                kv_open("other")
            elif path.startswith("/model"):
                llm_infer("codellama-instruct", "def fib(n):")
            elif path.startswith("/fetch"):
                http_send(Request("GET", "https://example.com/", {}, None))
            elif path.startswith("/redis"):
                redis_get("redis://cache.internal:6380", "hits")
        except Exception as error:
            return Response(403, {"content-type": "text/plain"}, f"refused: {error}\\n".encode())
        return Response(404, {}, b"")
"""


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, str]]:
    """The app under `spin-py up`, and its inspector's URL as startup printed it."""
    folder = tmp_path_factory.mktemp("inspected")
    manifest = write_app(folder, MANIFEST, {"app.py": APP})
    # The build check on: spin-py's own environment has no componentize-py, so its outcome is that line.
    server = LiveServer(manifest, "--ai-engine", "deterministic", "--build-check", log_path=folder / "spin-py.log")
    try:
        server.wait_ready()
        server.wait_for_output("Inspector: ")
        found = re.search(r"^Inspector: (http://127\.0\.0\.1:\d+/)$", server.output(), re.M)
        assert found, server.output()
        yield server, found.group(1)
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    ensure_debian_package("chromium", "chromium")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser, served: tuple[LiveServer, str]) -> Iterator[Page]:
    opened = browser.new_page(viewport={"width": 1360, "height": 680})
    opened.goto(served[1])
    expect(opened.locator("#live")).to_have_text("live")  # the event stream is open
    yield opened
    opened.close()


def _row(page: Page, path: str) -> Locator:
    return page.locator("tr.request").filter(has=page.locator("td.path", has_text=re.compile("^" + re.escape(path))))


def test_a_request_appears_live_with_its_llm_call_and_output(page: Page, served: tuple[LiveServer, str]) -> None:
    server, _ = served
    assert server.get("/ask?joke=1")[0] == 200
    row = _row(page, "/ask?joke=1")
    expect(row.locator("td.status")).to_have_text("200")
    expect(row.locator("td.method")).to_have_text("GET")
    expect(row.locator("td.component")).to_have_text("web")
    expect(row.locator("td.duration")).to_have_text(re.compile(r"^\d+\.\d+$"))
    row.click()
    llm = page.locator('#detail .call[data-capability="llm"]')
    expect(llm).to_contain_text("llm.infer")
    expect(llm).to_contain_text("llama2-chat")
    expect(llm).to_contain_text("Tell me a joke about cats")
    expect(llm).to_contain_text("echo: Tell me a joke about cats")  # the stand-in engine's answer
    expect(llm.locator("dt", has_text="generated tokens")).to_have_count(1)
    expect(llm.locator("dt", has_text="tokens/s")).to_have_count(1)
    expect(page.locator('#detail .call[data-capability="key_value"][data-function="set"]')).to_contain_text("last-answer")
    expect(page.locator("#output")).to_contain_text("the model said: echo: Tell me a joke about cats")


def test_the_key_value_browser_lists_a_key_the_app_wrote(page: Page, served: tuple[LiveServer, str]) -> None:
    server, _ = served
    assert server.get("/ask?store=1")[0] == 200
    page.locator('.tab[data-tab="stores"]').click()
    stores = page.frame_locator("#stores-frame")
    expect(stores.locator('#keys tr[data-key="last-answer"]')).to_contain_text("echo: Tell me a joke about cats")


@pytest.mark.parametrize(("path", "line"), [
    ("/store", 'key_value_stores = ["other"]'),
    ("/model", 'ai_models = ["codellama-instruct"]'),
    ("/fetch", 'allowed_outbound_hosts = ["https://example.com"]'),
    ("/redis", 'allowed_outbound_hosts = ["redis://cache.internal:6380"]'),
])
def test_a_refused_call_shows_the_line_to_add(page: Page, served: tuple[LiveServer, str], path: str, line: str) -> None:
    server, _ = served
    assert server.get(path)[0] == 403
    row = _row(page, path).first
    expect(row.locator(".badge.denied")).to_have_count(1)
    row.click()
    allow = page.locator("#detail .call.refused .allow")
    expect(allow).to_contain_text("[component.web]")
    expect(allow.locator("code")).to_have_text(line)


def test_a_failed_handler_shows_its_traceback(page: Page, served: tuple[LiveServer, str]) -> None:
    server, _ = served
    assert server.get("/boom")[0] == 500
    row = _row(page, "/boom").first
    expect(row.locator("td.status")).to_have_text("500")
    row.click()
    expect(page.locator("#traceback")).to_contain_text('raise ValueError("the handler gave up")')
    expect(page.locator("#traceback")).to_contain_text("ValueError: the handler gave up")
    expect(page.locator("#output")).not_to_contain_text("ValueError")  # said once, as the traceback


def test_a_chained_request_names_the_request_that_sent_it(page: Page, served: tuple[LiveServer, str]) -> None:
    server, _ = served
    assert server.get("/chain")[0] == 200
    sender = _row(page, "/chain")
    expect(sender.locator("td.status")).to_have_text("200")
    sent = _row(page, "/ask?chained=1")
    expect(sent.locator("td.component")).to_have_text("web")
    sent.click()
    expect(page.locator("#parent")).to_contain_text("service chaining")
    page.locator("#parent a").click()
    expect(page.locator("#detail h2")).to_contain_text("GET /chain")
    expect(page.locator('#detail .call[data-capability="outbound_http"]')).to_contain_text("http://web.spin.internal/ask?chained=1")


def test_the_page_keeps_no_more_rows_than_the_server_keeps(page: Page, served: tuple[LiveServer, str]) -> None:
    server, _ = served
    expect(page.locator("tr.request").first).to_be_visible()
    page.evaluate("state.keep = 2")  # as /api/app would say of a server keeping 2
    assert server.get("/ask?kept=1")[0] == 200
    expect(page.locator("tr.request td.path").first).to_have_text("/ask?kept=1")
    expect(page.locator("tr.request")).to_have_count(2)


def test_the_build_check_outcome_shows(page: Page) -> None:
    page.locator('.tab[data-tab="build"]').click()
    outcome = page.locator("#build-outcomes .outcome").filter(has=page.locator("strong", has_text="web"))
    expect(outcome.locator(".state.missing")).to_contain_text("componentize-py")


def test_a_page_opened_later_lists_the_requests_before_it(page: Page, tmp_path: Path) -> None:
    """Runs last: the earlier tests' requests, newest first, read when the page loads."""
    rows = page.locator("tr.request td.path")
    expect(rows.first).to_have_text("/ask?kept=1")
    for path in ("/ask?chained=1", "/ask?joke=1", "/ask?store=1", "/store", "/model", "/fetch", "/redis", "/boom", "/chain"):
        expect(rows.filter(has_text=re.compile("^" + re.escape(path)))).to_have_count(1)
    _row(page, "/ask?joke=1").click()
    expect(page.locator('#detail .call[data-capability="llm"]')).to_contain_text("llama2-chat")
    shot = Path(os.environ.get("SPIN_PY_INSPECTOR_SCREENSHOT") or tmp_path / "inspector.png")
    page.screenshot(path=str(shot))
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_inspector_address_is_checked_and_it_can_be_turned_off(tmp_path: Path,
                                                                   spin_up: Callable[..., LiveServer]) -> None:
    manifest = write_app(tmp_path / "app", MANIFEST, {"app.py": APP})
    refused = run_cli("up", "-f", str(manifest), "--inspector", "nonsense")
    assert refused.returncode != 0
    assert refused.stderr.strip().splitlines()[-1] == (
        "Error: Invalid value for '--inspector': 'nonsense' is not HOST:PORT (for example 127.0.0.1:3000)")
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        busy = run_cli("up", "-f", str(manifest), "--listen", "127.0.0.1:0", "--no-build-check",
                       "--inspector", f"127.0.0.1:{port}")
    assert busy.returncode == 1
    assert busy.stderr.strip().splitlines()[-1].startswith(f"Error: --inspector 127.0.0.1:{port}: Address already in use")
    server = spin_up(manifest, "--no-inspector", "--ai-engine", "deterministic")
    assert server.get("/ask")[0] == 200
    assert "Inspector" not in server.output()
