"""Generations through `spin-py up` with the real packaged SmolLM2 as the app's
own `llama2-chat` (so it gets the raw prompt): temperature-0 answers that
depend only on their inputs, from every SDK; calls of two components decoded
together, each with its own params and usage; a call that joins a running
batch; a client that leaves mid-generation; a stopped model process."""

import http.client
import json
import os
import signal
import threading
import time
from pathlib import Path

import pytest
from apps import component, manifest, sdk3_python, sdk5_python, write_app
from live import LiveServer
from test_model_process_crash import cpu_seconds, model_process_pid

from spin_py.capabilities.llm import packaged

SDK3_APP = """
    import json
    from spin_sdk import llm
    from spin_sdk.http import IncomingHandler, Request, Response
    from spin_sdk.wit.types import Err

    class IncomingHandler(IncomingHandler):
        def handle_request(self, request: Request) -> Response:
            o = json.loads(request.body)
            params = llm.InferencingParams(
                max_tokens=o["max_tokens"], repeat_penalty=o.get("repeat_penalty", 1.1),
                repeat_penalty_last_n_token_count=o.get("last_n", 64), temperature=o.get("temperature", 0.0),
                top_k=o.get("top_k", 40), top_p=o.get("top_p", 0.9))
            try:
                result = llm.infer_with_options("llama2-chat", o["prompt"], params)
                out = {"text": result.text, "usage": [result.usage.prompt_token_count, result.usage.generated_token_count]}
            except Err as error:
                out = {"error": type(error.value).__name__, "value": getattr(error.value, "value", None)}
            return Response(200, {"content-type": "application/json"}, json.dumps(out).encode())
"""

SDK5_APP = """
    import json
    from componentize_py_types import Err
    from spin_sdk import llm
    from spin_sdk.http import Handler, Request, Response

    class HttpHandler(Handler):
        async def handle_request(self, request: Request) -> Response:
            o = json.loads(request.body)
            params = llm.InferencingParams(max_tokens=o["max_tokens"], temperature=0.0)
            try:
                result = llm.infer_with_options("llama2-chat", o["prompt"], params)
                out = {"text": result.text, "usage": [result.usage.prompt_token_count, result.usage.generated_token_count]}
            except Err as error:
                out = {"error": type(error.value).__name__, "value": getattr(error.value, "value", None)}
            return Response(200, {"content-type": "application/json"}, json.dumps(out).encode())
"""

ORIGINAL_APP = """
    import json
    from spin_http import Response
    from spin_llm import LLMInferencingParams, llm_infer

    def handle_request(request):
        o = json.loads(request.body)
        result = llm_infer("llama2-chat", o["prompt"], LLMInferencingParams(o["max_tokens"], 1.1, 64, 0.0, 40, 0.9))
        out = {"text": result.text, "usage": [result.usage.prompt_token_count, result.usage.generated_token_count]}
        return Response(200, {"content-type": "application/json"}, bytes(json.dumps(out), "utf-8"))
"""

MODELS = 'ai_models = ["llama2-chat"]'
STORY = "The old lighthouse keeper climbed the stairs and"
COUNTING = "1, 2, 3, 4, 5,"  # greedy without a repeat penalty, SmolLM2 counts on for as long as it is let


def write(folder, source, world="spin-http", components=("a", "b")):
    path = write_app(folder, manifest(*(component(c, route=f"/{c}/...", extra=MODELS, world=world) for c in components)),
                     {"app.py": source})
    models = Path(folder) / ".spin" / "ai-models"
    models.mkdir(parents=True)
    (models / "llama2-chat").symlink_to(packaged.smollm2_file())  # a real model: the raw prompt
    return path


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("batching")
    live = LiveServer(write(folder, SDK3_APP), "--python", str(sdk3_python()), log_path=folder / "spin-py.log")
    try:
        yield live.wait_ready()
    finally:
        live.stop()


def ask(server, path, prompt, max_tokens, timeout=300, **params):
    body = json.dumps({"prompt": prompt, "max_tokens": max_tokens, **params}).encode()
    status, _, reply = server.request("POST", path, body=body, timeout=timeout)
    assert status == 200, reply
    return json.loads(reply)


def wait_generating(pid, replies, cpu=0.3):
    """Until the model process has spent ``cpu`` more seconds of CPU (an idle one spends none)."""
    started = cpu_seconds(pid)
    while cpu_seconds(pid) - started < cpu:
        assert not replies, replies
        time.sleep(0.01)


def test_temperature_zero_gives_one_answer_whatever_ran_before(server):
    first = ask(server, "/a/", STORY, 16)
    assert first["usage"][1] == 16 and first["text"].strip()
    # A prompt that starts with the first: a model that reused its cached prefix answered differently after it.
    ask(server, "/a/", STORY + " looked out over", 4)
    assert ask(server, "/b/", STORY, 16) == first
    assert ask(server, "/a/", STORY, 16) == first


def test_the_same_answer_from_every_sdk(tmp_path, spin_up, server):
    expected = ask(server, "/a/", STORY, 12)
    original = spin_up(write(tmp_path / "original", ORIGINAL_APP, components=("a",)))
    sdk5 = spin_up(write(tmp_path / "sdk5", SDK5_APP, world="spin:up/http-trigger@4.0.0", components=("a",)),
                   "--python", str(sdk5_python()))
    for other in (original, sdk5):
        assert ask(other, "/a/", STORY, 12) == expected
        assert ask(other, "/a/", STORY, 12) == expected


def test_two_components_at_once_each_with_its_own_params_and_usage(server):
    a = dict(prompt=COUNTING, max_tokens=24, repeat_penalty=1.0)
    b = dict(prompt=STORY, max_tokens=10, temperature=0.9, top_k=20, top_p=0.8, repeat_penalty=1.3, last_n=8)
    alone_a, alone_b = ask(server, "/a/", **a), ask(server, "/b/", **b)
    assert alone_a["usage"][1] == 24 and alone_b["usage"][1] == 10
    assert alone_a["usage"][0] != alone_b["usage"][0]
    together = {}
    threads = [threading.Thread(target=lambda: together.update(a=ask(server, "/a/", **a))),
               threading.Thread(target=lambda: together.update(b=ask(server, "/b/", **b)))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert together == {"a": alone_a, "b": alone_b}  # a sampled answer (temperature 0.9) repeats too


def test_a_call_joins_a_running_generation_and_both_answer_as_alone(server):
    long_alone = ask(server, "/a/", COUNTING, 150, repeat_penalty=1.0)
    short_alone = ask(server, "/b/", STORY, 6)
    pid = model_process_pid(server)
    replies = []
    long_call = threading.Thread(target=lambda: replies.append(ask(server, "/a/", COUNTING, 150, repeat_penalty=1.0)))
    long_call.start()
    wait_generating(pid, replies)
    short = ask(server, "/b/", STORY, 6)
    assert not replies  # answered while the long generation was still going: it did not wait for it
    long_call.join(300)
    assert short == short_alone and replies == [long_alone]


def test_a_client_that_leaves_mid_generation_frees_its_sequence(server):
    pid = model_process_pid(server) or (ask(server, "/a/", STORY, 1) and model_process_pid(server))
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=300)
    # Thousands of tokens: minutes of work, unless the generation is dropped.
    body = json.dumps({"prompt": COUNTING, "max_tokens": 1900, "repeat_penalty": 1.0})
    connection.request("POST", "/a/", body=body)
    wait_generating(pid, [])
    connection.close()
    deadline = time.monotonic() + 30
    while True:  # the model process goes idle: the sequence was dropped
        before = cpu_seconds(pid)
        time.sleep(0.5)
        if cpu_seconds(pid) - before < 0.05:
            break
        assert time.monotonic() < deadline, "the model process kept generating for a client that left"
    assert model_process_pid(server) == pid  # dropped, not killed
    assert ask(server, "/b/", STORY, 16) == ask(server, "/a/", STORY, 16)


def test_a_stopped_model_process_is_a_runtime_error_within_the_bound(tmp_path, spin_up):
    bound = 5
    server = spin_up(write(tmp_path, SDK3_APP, components=("a",)), "--python", str(sdk3_python()),
                     env={"SPIN_PY_MODEL_PROGRESS_SECONDS": str(bound)})
    expected = ask(server, "/a/", STORY, 4)  # loaded
    stopped = model_process_pid(server)
    os.kill(stopped, signal.SIGSTOP)
    try:
        started = time.monotonic()
        failed = ask(server, "/a/", STORY, 4)
        waited = time.monotonic() - started
    finally:
        try:
            os.kill(stopped, signal.SIGCONT)
        except ProcessLookupError:
            pass
    assert failed["error"] == "Error_RuntimeError", failed
    assert failed["value"].startswith(f"the model process made no progress for {bound} s while running infer on "
                                      f"'llama2-chat' ("), failed
    assert bound <= waited < bound + 10
    line = next(line for line in server.output().splitlines() if "Serverless AI: the model process" in line)
    assert f"made no progress for {bound} s" in line and "SPIN_PY_MODEL_PROGRESS_SECONDS" in line
    assert ask(server, "/a/", STORY, 4) == expected  # a new model process answers
    assert model_process_pid(server) not in (None, stopped)
