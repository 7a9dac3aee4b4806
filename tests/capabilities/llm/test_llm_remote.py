"""Remote engines against real servers on loopback: llama-cpp-python's own
OpenAI-compatible server (api_type open_ai) and `spin-py models serve`
(api_type default, Spin's protocol). Failures are quick RuntimeErrors."""

import http.server
import sys
import threading
import time
from typing import ClassVar

import pytest
from live import free_port, running_server

from spin_py.capabilities.llm import packaged
from spin_py.capabilities.llm.engines.base import InferencingParams, LlmError
from spin_py.capabilities.llm.engines.remote import RemoteEngine

GREEDY = InferencingParams(max_tokens=8, temperature=0.0)


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory):
    port = free_port()
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(packaged.smollm2_file()),
               "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "2048", "--api_key", "secret-token"]
    with running_server(command, port, tmp_path_factory.mktemp("llama") / "server.log") as url:
        yield url


@pytest.fixture(scope="module")
def models_server(tmp_path_factory):
    port = free_port()
    state_dir = tmp_path_factory.mktemp("state")
    (state_dir / "ai-models").mkdir()
    (state_dir / "ai-models" / "llama2-chat").symlink_to(packaged.smollm2_file())  # a real model: the raw prompt
    command = [sys.executable, "-m", "spin_py", "models", "serve", "--listen", f"127.0.0.1:{port}",
               "--token", "spin-token", "--state-dir", str(state_dir)]
    with running_server(command, port, tmp_path_factory.mktemp("models") / "serve.log") as url:
        yield url


def test_open_ai_api_type_against_llama_cpp_server(llama_server):
    engine = RemoteEngine(llama_server, "secret-token", "open_ai")
    result = engine.infer("llama2-chat", "Name a colour.", GREEDY)
    assert result.text and result.prompt_token_count > 0 and 0 < result.generated_token_count <= 8
    with pytest.raises(LlmError) as error:
        RemoteEngine(llama_server, "wrong-token", "open_ai").infer("llama2-chat", "x", GREEDY)
    assert error.value.kind == "RuntimeError" and "401" in error.value.message


def test_default_api_type_against_spin_py_models_serve(models_server):
    engine = RemoteEngine(models_server, "spin-token", "default")
    result = engine.infer("llama2-chat", "The capital of France is", GREEDY)
    assert "Paris" in result.text and result.generated_token_count == 8
    embeddings = engine.generate_embeddings("all-minilm-l6-v2", ["a", "b c"])
    assert len(embeddings.embeddings) == 2 and len(embeddings.embeddings[0]) == 384
    assert embeddings.prompt_token_count == 7
    with pytest.raises(LlmError) as error:
        RemoteEngine(models_server, "wrong", "default").infer("llama2-chat", "x", GREEDY)
    assert "401" in error.value.message


class _Garbage(http.server.BaseHTTPRequestHandler):
    replies: ClassVar[dict[str, bytes]] = {"/infer": b"this is not json", "/embed": b'{"embeddings": [' + b"[0.5]," * 200_000 + b"[0.5]]}"}

    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length", 0)))
        body = self.replies[self.path]
        self.send_response(200)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_down_malformed_and_oversized_replies_fail_fast():
    closed = RemoteEngine(f"http://127.0.0.1:{free_port()}", "t", timeout=5)
    started = time.monotonic()
    with pytest.raises(LlmError) as error:
        closed.infer("m", "x", GREEDY)
    assert error.value.kind == "RuntimeError" and "request error" in error.value.message
    assert time.monotonic() - started < 5

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Garbage)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        with pytest.raises(LlmError) as error:
            RemoteEngine(url, "t").infer("m", "x", GREEDY)
        assert "not JSON" in error.value.message
        with pytest.raises(LlmError) as error:
            RemoteEngine(url, "t", max_reply_bytes=100_000).generate_embeddings("m", ["x"])
        assert "exceeds limit" in error.value.message
    finally:
        server.shutdown()
