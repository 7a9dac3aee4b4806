"""The model process: where llama.cpp, transformers and sentence embeddings run,
one child of `spin-py up` shared by every component and worker (one copy of
each model). A native crash in an engine (a segfault, a GGML_ASSERT abort, the
OOM killer) ends this process, not the dev server: the host's supervisor
(supervisor.py) turns it into errors and starts a fresh one on the next call.

Started as ``python -m spin_py.capabilities.llm.model_process FD HOST_PID`` by
the host's own interpreter; FD is its end of a socketpair. Messages are
pickled dicts framed by multiprocessing.connection (length-prefixed), at most
MAX_MESSAGE_BYTES each way; each carries the ``id`` of the host's call, so
many calls are in flight at once and answered in any order:

  host -> here  {"id", "op": "infer", "path", "engine", "prompt", "params": InferencingParams, "chat": bool}
  host -> here  {"id", "op": "embed", "path", "texts": [str, ...]}
  host -> here  {"id", "op": "stats"}
  here -> host  {"id", "result": InferencingResult | EmbeddingsResult | dict, "loaded": seconds | None}
  here -> host  {"id", "error": (kind, message), "loaded": None}
  here -> host  {"id", "load_failed": message, "loaded": None}   (the host names the model)

The host resolves model names to files (locate.py) and says what it loaded;
this process only knows files: names that resolve to one file share one copy.
It exits by itself when the host goes away (its socket closes, and the kernel
sends it SIGKILL when the host's supervisor thread ends: PR_SET_PDEATHSIG).

Standard library and spin_py only at import: engines import their libraries
when a model is first loaded.
"""

import collections
import ctypes
import os
import pickle
import queue
import signal
import socket
import sys
import threading
import time
from multiprocessing.connection import Connection

from spin_py.capabilities.llm.engines.base import RUNTIME_ERROR, EmbeddingsResult, LlmError

MAX_MESSAGE_BYTES = 128 << 20  # Spin's MAX_HOST_BUFFERED_BYTES, each way
BATCH_WINDOW_SECONDS = 0.002
MAX_BATCH_TEXTS = 64
_PR_SET_PDEATHSIG = 1


class ModelThread:
    """Loads one inferencing model and runs all its work on one long-lived
    thread, in arrival order.

    llama.cpp (OpenMP) and torch keep a thread team per calling thread: a new
    thread per call would build a fresh team for every call and leave the old
    ones spinning, which costs about a third of the speed. The model is built
    on this thread too, so its team is made once. A failed load is not kept:
    the next call tries the file again.
    """

    def __init__(self, path, engine):
        self.path = path
        self.engine_name = engine
        self.engine = None
        self.loads = 0
        self._jobs = queue.Queue()
        threading.Thread(target=self._run, name=f"generate-{os.path.basename(path)}", daemon=True).start()

    def submit(self, function, reply):
        """Run ``function(engine)`` on this thread; ``reply(result, error, loaded_seconds)`` when done."""
        self._jobs.put((function, reply))

    def _run(self):
        while True:
            function, reply = self._jobs.get()
            loaded = None
            try:
                if self.engine is None:
                    started = time.perf_counter()
                    self.engine = _load(lambda: load_engine(self.engine_name, self.path))
                    self.loads += 1
                    loaded = time.perf_counter() - started
                reply(function(self.engine), None, loaded)
            except BaseException as error:  # handed to the host
                reply(None, error, loaded)


class _Pending:
    def __init__(self, texts, reply):
        self.texts = texts
        self.reply = reply


class EmbeddingBatcher:
    """One thread per embeddings model: it takes every request that arrived
    within ``window`` seconds of the first (up to ``max_texts`` texts) and
    answers them with one forward pass. It loads the model on its first batch
    (a failed load is not kept: the next batch tries again)."""

    def __init__(self, path, load=None, window=BATCH_WINDOW_SECONDS, max_texts=MAX_BATCH_TEXTS):
        self.path = path
        self.load = load or (lambda: load_engine("bert", path))
        self.engine = None
        self.loads = 0
        self.window = window
        self.max_texts = max_texts
        self.batch_sizes = collections.deque(maxlen=1000)  # requests answered by each forward pass (the latest)
        self._cond = threading.Condition()
        self._queue = collections.deque()
        threading.Thread(target=self._run, name=f"embeddings-{os.path.basename(path)}", daemon=True).start()

    def submit(self, texts, reply):
        """``reply(EmbeddingsResult, error, loaded_seconds)`` once the batch holding ``texts`` is done."""
        with self._cond:
            self._queue.append(_Pending(list(texts), reply))
            self._cond.notify()

    def _run(self):
        while True:
            with self._cond:
                while not self._queue:
                    self._cond.wait()
            time.sleep(self.window)  # let requests arriving together join
            with self._cond:
                batch = self._take_batch()
            self._answer(batch)

    def _take_batch(self):
        batch = [self._queue.popleft()]
        count = len(batch[0].texts)
        while self._queue and count + len(self._queue[0].texts) <= self.max_texts:
            count += len(self._queue[0].texts)
            batch.append(self._queue.popleft())
        return batch

    def _answer(self, batch):
        loaded = None
        try:
            if self.engine is None:
                started = time.perf_counter()
                self.engine = _load(self.load)
                self.loads += 1
                loaded = time.perf_counter() - started
            vectors, counts = self.engine.generate_embeddings([text for pending in batch for text in pending.texts])
        except BaseException as error:
            for pending in batch:
                pending.reply(None, error, loaded)
            return
        self.batch_sizes.append(len(batch))
        start = 0
        for pending in batch:
            end = start + len(pending.texts)
            pending.reply(EmbeddingsResult(vectors[start:end], sum(counts[start:end])), None, loaded)
            loaded = None  # said once, with the first answer
            start = end


def load_engine(engine, path):
    """The engine for one model file or folder; ValueError or ImportError when it cannot load."""
    from pathlib import Path

    path = Path(path)
    if engine == "llama.cpp":
        with open(path, "rb") as file:
            if file.read(4) != b"GGUF":
                raise ValueError("not a GGUF file (wrong format)")
        from spin_py.capabilities.llm.engines.llama_cpp import LlamaCppEngine

        return LlamaCppEngine(path)
    if engine == "transformers":
        from spin_py.capabilities.llm.engines.transformers_llama import TransformersEngine

        return TransformersEngine(path)
    if not (path / "tokenizer.json").exists():
        raise ValueError("no tokenizer.json in the folder")
    from spin_py.capabilities.llm.engines.embeddings import EmbeddingsEngine

    return EmbeddingsEngine(path)


class LoadFailed(Exception):
    """A model that did not load; its text is for the host, which names the model."""


def _load(load):
    try:
        return load()
    except ImportError as error:
        raise LoadFailed(f"needs {error.name}: pip install 'spin-py[llm]'") from None
    except Exception as error:
        raise LoadFailed(str(error)) from None


def error_message(call_id, error, loaded):
    """The reply for a failed call: Spin's variants as they are, a failed load, or any other error as RuntimeError."""
    if isinstance(error, LoadFailed):
        return {"id": call_id, "load_failed": str(error), "loaded": loaded}
    if isinstance(error, LlmError):
        return {"id": call_id, "error": (error.kind, error.message), "loaded": loaded}
    return {"id": call_id, "error": (RUNTIME_ERROR, f"{type(error).__name__}: {error}"), "loaded": loaded}


class ModelServer:
    """Reads the host's calls and hands each to its model's thread; replies go
    back from those threads as they finish (one send lock)."""

    def __init__(self, connection):
        self.connection = connection
        self._send_lock = threading.Lock()
        self._generators = {}  # path -> ModelThread
        self._embedders = {}  # path -> EmbeddingBatcher

    def send(self, message):
        data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        if len(data) > MAX_MESSAGE_BYTES:
            data = pickle.dumps({
                "id": message["id"],
                "error": (RUNTIME_ERROR, f"the answer is {len(data)} bytes; the limit is {MAX_MESSAGE_BYTES}"),
                "loaded": message.get("loaded"),
            })
        with self._send_lock:
            self.connection.send_bytes(data)

    def replier(self, call_id):
        def reply(result, error, loaded):
            if error is None:
                self.send({"id": call_id, "result": result, "loaded": loaded})
            else:
                self.send(error_message(call_id, error, loaded))

        return reply

    def handle(self, message):
        op, call_id = message["op"], message["id"]
        if op == "infer":
            path = message["path"]
            thread = self._generators.get(path)
            if thread is None:
                thread = self._generators[path] = ModelThread(path, message["engine"])
            prompt, params, chat = message["prompt"], message["params"], message.get("chat", False)
            if chat:
                thread.submit(lambda engine: engine.infer(prompt, params, chat=True), self.replier(call_id))
            else:
                thread.submit(lambda engine: engine.infer(prompt, params), self.replier(call_id))
        elif op == "embed":
            path = message["path"]
            batcher = self._embedders.get(path)
            if batcher is None:
                batcher = self._embedders[path] = EmbeddingBatcher(path)
            batcher.submit(message["texts"], self.replier(call_id))
        elif op == "stats":
            self.send({"id": call_id, "result": self.stats(), "loaded": None})
        else:
            self.send({"id": call_id, "error": (RUNTIME_ERROR, f"unknown model process op {op!r}"), "loaded": None})

    def stats(self):
        """What is loaded, how often, and how embeddings were batched (for tests and benchmarks)."""
        return {
            "pid": os.getpid(),
            "loads": {**{(p, "inferencing"): t.loads for p, t in self._generators.items()},
                      **{(p, "embeddings"): b.loads for p, b in self._embedders.items()}},
            "batch_sizes": {p: list(b.batch_sizes) for p, b in self._embedders.items()},
        }

    def serve(self):
        while True:
            try:
                data = self.connection.recv_bytes(MAX_MESSAGE_BYTES)
            except (EOFError, OSError):
                return  # the host is gone (or broke the framing): nothing to answer
            self.handle(pickle.loads(data))


def _die_with_parent(host_pid):
    """SIGKILL when the host's thread that started us ends; and exit now if the host is already gone."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass  # not Linux: the closed socket still ends us
    if os.getppid() != host_pid:
        os._exit(0)


def main(argv=None):
    fd, host_pid = (int(value) for value in (argv or sys.argv[1:]))
    _die_with_parent(host_pid)
    # Ctrl-C in the terminal is for the host, which stops us itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    connection = Connection(socket.socket(fileno=fd).detach())
    ModelServer(connection).serve()
    # Model threads are daemons, possibly inside native code: leave without waiting for them.
    os._exit(0)


if __name__ == "__main__":
    main()
