"""Serverless AI benchmarks, each a ratio within one run (medians):

1. generation: tokens per second through a component's infer (HTTP request to
   `spin-py up`) against a direct llama-cpp-python call on the same model,
   prompt and params (target 0.95 or better);
2. embeddings: 32 concurrent single-sentence requests through `spin-py up`
   against 32 sequential direct sentence-transformers calls (target 2x or better),
   each side warmed up with one unmeasured round of its own and measured after a
   pause, so that neither pays for what the other left running (instances
   exiting, instances forked ahead, torch threads spinning); and, to show what
   the model's share is, the same 32 concurrent requests answered with a stored
   vector of the same size (an instance each, no model call);
3. memory: the resident memory of the host and its model process together,
   with 4 components using the same models against 1 component (target within
   10%);
4. the model process hop: the latency of a max_tokens=1 infer and of a
   one-sentence embedding through the pool (a call to the model process)
   against the same engines called in this process on their own thread, as the
   pool ran them before the model process (medians; no target, it is reported).

    .venv/bin/python bench/serverless_ai.py [--rounds 5] [--max-workers N] [--only embeddings ...]
"""

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from live import LiveServer  # noqa: E402

from spin_py.capabilities.llm import packaged  # noqa: E402
from spin_py.config import UpConfig  # noqa: E402

SETTLE_SECONDS = 0.5
PARTS = ["generation", "embeddings", "memory", "hop"]
# A prompt the model continues for all MAX_TOKENS tokens (a short answer would measure overheads).
PROMPT = "Once upon a time, in a small village by the sea, there lived"
MAX_TOKENS = 128
SENTENCES = [f"Sentence number {i} is about {topic}." for i, topic in enumerate(["cats", "dogs", "stocks", "rain"] * 8)]


def manifest(components):
    text = 'spin_manifest_version = 2\n[application]\nname = "bench-ai"\n'
    for index in range(components):
        text += (
            f'[[trigger.http]]\nroute = "/c{index}/..."\ncomponent = "c{index}"\n'
            f'[component.c{index}]\nsource = "app.wasm"\nai_models = ["llama2-chat", "all-minilm-l6-v2"]\n'
            f'[component.c{index}.build]\ncommand = "componentize-py -w spin-http componentize app -o app.wasm"\n'
        )
    return text


def start(folder, components, max_workers=UpConfig.max_workers):
    app = Path(tempfile.mkdtemp(dir=folder, prefix=f"app{components}-"))
    (app / "app.py").write_text((HERE / "ai" / "app.py").read_text())
    (app / "spin.toml").write_text(manifest(components))
    flags = ("--no-watch", "--max-workers", str(max_workers))
    return LiveServer(app, *flags, log_path=app / "spin-py.log").wait_ready()


def post(port, path, body):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    try:
        connection.request("POST", path, body=body)
        response = connection.getresponse()
        data = response.read()
        assert response.status == 200, data
        return data
    finally:
        connection.close()


DIRECT = """
import sys
from llama_cpp import Llama
llama = Llama(model_path=sys.argv[1], n_ctx=2048, n_threads=int(sys.argv[2]), seed=42, verbose=False)
for line in sys.stdin:
    generated = 0
    for _ in range(2):
        output = llama.create_completion(sys.argv[3], max_tokens=int(sys.argv[4]), temperature=0.8, top_k=40,
                                         top_p=0.9, repeat_penalty=1.1, seed=42)
        generated += output["usage"]["completion_tokens"]
    print(generated, flush=True)
"""


def generation(server, rounds):
    """Both sides run in a child process of this one (llama.cpp's speed differs
    between a parent and its child on this machine), two calls a side per
    round (llama-cpp-python's prompt cache makes every other call faster), with
    a pause before each side (llama.cpp's threads spin for a while after a call)."""
    direct_process = subprocess.Popen(
        [sys.executable, "-c", DIRECT, str(packaged.smollm2_file()), str(os.cpu_count()), PROMPT, str(MAX_TOKENS)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )

    def direct_pair():
        direct_process.stdin.write("go\n")
        direct_process.stdin.flush()
        return int(direct_process.stdout.readline())

    body = json.dumps({"prompt": PROMPT, "max_tokens": MAX_TOKENS, "temperature": 0.8}).encode()

    def through_pair():
        return sum(json.loads(post(server.port, "/c0/infer", body))["generated"] for _ in range(2))

    try:
        through_pair(), direct_pair()  # load both
        through, direct = [], []
        for _ in range(rounds):
            for measure, results in ((through_pair, through), (direct_pair, direct)):
                time.sleep(SETTLE_SECONDS)
                started = time.perf_counter()
                generated = measure()
                assert generated == 2 * MAX_TOKENS, f"generation stopped early ({generated} tokens)"
                results.append(generated / (time.perf_counter() - started))
    finally:
        direct_process.terminate()
    return statistics.median(through), statistics.median(direct)


def embeddings(server, rounds):
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(packaged.minilm_folder()), local_files_only=True)

    def concurrent_round(path="/c0/embed"):
        threads = [threading.Thread(target=post, args=(server.port, path, s.encode())) for s in SENTENCES]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return time.perf_counter() - started

    def sequential_round():
        started = time.perf_counter()
        for sentence in SENTENCES:
            model.encode([sentence])
        return time.perf_counter() - started

    def stored_round():
        return concurrent_round("/c0/stored")

    concurrent_round(), sequential_round(), stored_round()  # warm up: batch shapes, instances forked ahead, torch's allocator
    concurrent, sequential, stored = [], [], []
    for _ in range(rounds):
        for measure, results in ((concurrent_round, concurrent), (sequential_round, sequential), (stored_round, stored)):
            time.sleep(SETTLE_SECONDS)
            results.append(measure())
    return statistics.median(concurrent), statistics.median(sequential), statistics.median(stored)


def resident_mib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def model_process_pid(host_pid):
    for task in Path(f"/proc/{host_pid}/task").iterdir():  # a child belongs to the thread that forked it
        try:
            for child in (task / "children").read_text().split():
                if b"spin_py.capabilities.llm.model_process" in Path(f"/proc/{child}/cmdline").read_bytes():
                    return int(child)
        except FileNotFoundError:  # a thread or child that just ended
            continue
    raise RuntimeError("no model process")


def memory(folder, components):
    """(host RSS, model process RSS) in MiB, once every component has used both models."""
    server = start(folder, components)
    try:
        for index in range(components):
            post(server.port, f"/c{index}/infer", json.dumps({"prompt": "Hi", "max_tokens": 4, "temperature": 0}).encode())
            post(server.port, f"/c{index}/embed", b"hello")
        return resident_mib(server.process.pid), resident_mib(model_process_pid(server.process.pid))
    finally:
        server.stop()


def hop(rounds):
    """(through the pool, in this process) medians in ms, for a max_tokens=1 infer and a one-sentence embedding."""
    from spin_py.capabilities.llm.engines.base import InferencingParams
    from spin_py.capabilities.llm.model_process import EmbeddingBatcher, ModelThread
    from spin_py.capabilities.llm.pool import LocalModelPool

    params = InferencingParams(max_tokens=1, temperature=0.0)
    pool = LocalModelPool(tempfile.mkdtemp(), log=lambda line: None)
    generator = ModelThread(str(packaged.smollm2_file()), "llama.cpp")
    embedder = EmbeddingBatcher(str(packaged.minilm_folder()))

    def wait(submit):
        done, answer = threading.Event(), []
        submit(lambda result, error, loaded: (answer.append(error or result), done.set()))
        done.wait()
        if isinstance(answer[0], BaseException):
            raise answer[0]
        return answer[0]

    calls = {
        "infer": (lambda: pool.infer("llama2-chat", "Hi", params),
                  lambda: wait(lambda reply: generator.submit(lambda engine: engine.infer("Hi", params, chat=True), reply))),
        "embed": (lambda: pool.generate_embeddings("all-minilm-l6-v2", ["A sentence."]),
                  lambda: wait(lambda reply: embedder.submit(["A sentence."], reply))),
    }
    try:
        medians = {}
        for name, sides in calls.items():
            times = ([], [])
            for side in sides:
                side()  # load
            for _ in range(rounds * 10):
                for side, results in zip(sides, times, strict=True):
                    started = time.perf_counter()
                    side()
                    results.append((time.perf_counter() - started) * 1000)
            medians[name] = tuple(statistics.median(results) for results in times)
        return medians
    finally:
        pool.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--max-workers", type=int, default=UpConfig.max_workers,
                        help=f"spin-py up --max-workers (default {UpConfig.max_workers}, as spin-py's)")
    parser.add_argument("--only", nargs="+", choices=PARTS, default=PARTS, help="run these parts only")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        if {"generation", "embeddings"} & set(options.only):
            server = start(folder, 1, options.max_workers)
            try:
                if "generation" in options.only:
                    through, direct = generation(server, options.rounds)
                    print(f"generation: {through:6.1f} tok/s through spin-py, {direct:6.1f} tok/s direct llama-cpp-python; "
                          f"ratio {through / direct:.2f} (target 0.95)", flush=True)
                if "embeddings" in options.only:
                    concurrent, sequential, stored = embeddings(server, options.rounds)
                    print(f"embeddings: 32 concurrent requests {concurrent * 1000:6.0f} ms, 32 sequential direct calls "
                          f"{sequential * 1000:6.0f} ms; speed-up {sequential / concurrent:.2f}x (target 2x); "
                          f"32 concurrent answering a stored vector (no model call) {stored * 1000:6.0f} ms", flush=True)
            finally:
                server.stop()
        if "memory" in options.only:
            one, four = memory(folder, 1), memory(folder, 4)
            print(f"memory: host + model process RSS {sum(one):6.0f} MiB ({one[0]:.0f} + {one[1]:.0f}) with 1 component, "
                  f"{sum(four):6.0f} MiB ({four[0]:.0f} + {four[1]:.0f}) with 4; ratio {sum(four) / sum(one):.2f} "
                  "(target 1.10 or less)", flush=True)
    if "hop" in options.only:
        for name, (through, local) in hop(options.rounds).items():
            print(f"hop: {name} {through:6.2f} ms through the model process, {local:6.2f} ms in this process; "
                  f"{through - local:+.2f} ms a call")

if __name__ == "__main__":
    main()
