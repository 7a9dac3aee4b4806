"""A native crash in a model engine is an error, not the end of `spin-py up`:
a GGUF that makes llama.cpp abort, and the model process killed in the middle
of a generation, through a real server with the real packaged SmolLM2."""

import json
import os
import signal
import struct
import threading
import time
from pathlib import Path

from apps import component, manifest, sdk3_python, write_app

from spin_py.capabilities.llm import packaged

APP = """
    import json
    from spin_sdk import llm
    from spin_sdk.http import IncomingHandler, Request, Response
    from spin_sdk.wit.types import Err

    class IncomingHandler(IncomingHandler):
        def handle_request(self, request: Request) -> Response:
            options = json.loads(request.body)
            try:
                params = llm.InferencingParams(max_tokens=options["max_tokens"], temperature=0.0)
                result = llm.infer_with_options(options["model"], options["prompt"], params)
                out = {"text": result.text, "generated": result.usage.generated_token_count}
            except Err as error:
                out = {"error": type(error.value).__name__, "value": getattr(error.value, "value", None)}
            return Response(200, {"content-type": "application/json"}, json.dumps(out).encode())
"""
GGUF_UINT32 = 4


def with_block_count(source, target, block_count):
    """A copy of the GGUF file ``source`` whose `llama.block_count` (a uint32 in the header) is ``block_count``."""
    data = bytearray(Path(source).read_bytes())
    key = b"llama.block_count"
    at = data.index(struct.pack("<Q", len(key)) + key) + 8 + len(key)
    assert struct.unpack_from("<I", data, at)[0] == GGUF_UINT32
    struct.pack_into("<I", data, at + 4, block_count)
    Path(target).write_bytes(data)


def write(tmp_path, models):
    path = write_app(tmp_path, manifest(component("ai", route="/...", extra=f"ai_models = {json.dumps(models)}")),
                     {"app.py": APP})
    (tmp_path / ".spin" / "ai-models").mkdir(parents=True)
    return path


def ask(server, model, prompt="The capital of France is", max_tokens=4, timeout=120):
    body = json.dumps({"model": model, "prompt": prompt, "max_tokens": max_tokens}).encode()
    status, _, reply = server.request("POST", "/", body=body, timeout=timeout)
    assert status == 200, reply
    return json.loads(reply)


def model_process_pid(server):
    """The pid of the server's model process, found as the kernel knows it (its command line)."""
    for task in Path(f"/proc/{server.process.pid}/task").iterdir():  # a child belongs to the thread that forked it
        try:
            children = (task / "children").read_text().split()
            for child in children:
                if b"spin_py.capabilities.llm.model_process" in Path(f"/proc/{child}/cmdline").read_bytes():
                    return int(child)
        except FileNotFoundError:  # a thread or child that just ended
            continue
    return None


def cpu_seconds(pid):
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def test_a_gguf_that_aborts_llama_cpp_is_a_runtime_error_and_the_server_goes_on(tmp_path, spin_up):
    path = write(tmp_path, ["broken-llama", "llama2-chat"])
    broken = tmp_path / ".spin" / "ai-models" / "broken-llama"
    with_block_count(packaged.smollm2_file(), broken, 100_000)
    server = spin_up(path, "--python", str(sdk3_python()))

    failed = ask(server, "broken-llama")
    assert failed["error"] == "Error_RuntimeError"
    assert failed["value"].startswith("the model process was killed by signal")
    assert f"while loading 'broken-llama' ({broken})" in failed["value"]
    output = server.output()
    assert output.count("Serverless AI: the model process") == 1
    line = next(line for line in output.splitlines() if "Serverless AI: the model process" in line)
    assert str(broken) in line and "What to do:" in line
    said = [line for line in output.splitlines() if line.startswith("model process: ")]
    assert said and any("error" in line.lower() or "GGML_ASSERT" in line for line in said), output  # its stderr

    answered = ask(server, "llama2-chat")  # a fresh model process, the stand-in loads in it
    assert answered["generated"] > 0 and answered["text"].strip()
    assert ask(server, "broken-llama")["error"] == "Error_RuntimeError"  # a failed load is not remembered
    assert server.process.poll() is None


def test_the_model_process_killed_during_a_generation(tmp_path, spin_up):
    path = write(tmp_path, ["llama2-chat"])
    real = tmp_path / ".spin" / "ai-models" / "llama2-chat"
    real.symlink_to(packaged.smollm2_file())  # a real model: raw prompt, long greedy continuation
    server = spin_up(path, "--python", str(sdk3_python()))
    assert ask(server, "llama2-chat", max_tokens=1)["generated"] == 1  # loaded
    first = model_process_pid(server)

    replies = []
    # Greedy, this prompt goes on for about 300 tokens: seconds of work.
    call = threading.Thread(target=lambda: replies.append(ask(server, "llama2-chat", "Once upon a time", 1500)))
    started = cpu_seconds(first)
    call.start()
    while cpu_seconds(first) - started < 0.3:  # generating (an idle model process uses no CPU)
        assert not replies, replies
        time.sleep(0.01)
    os.kill(first, signal.SIGKILL)
    call.join(60)
    assert replies and replies[0]["error"] == "Error_RuntimeError", replies
    assert replies[0]["value"] == (f"the model process was killed by signal 9 (SIGKILL) while running infer on "
                                   f"'llama2-chat' ({real})")
    assert "run out of memory" in server.output()

    again = ask(server, "llama2-chat", max_tokens=3)
    assert again["generated"] == 3
    assert model_process_pid(server) not in (None, first)
    assert server.output().count(f"Loaded llama2-chat from {real}") == 2  # loaded again in the new process
