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
  host -> here  {"id", "op": "cancel"}        (the call's client left: its sequence is freed, no answer)
  host -> here  {"id", "op": "stats"}
  here -> host  {"id", "result": InferencingResult | EmbeddingsResult | dict, "loaded": seconds | None}
  here -> host  {"progress": True}            (work advanced: a model loaded, a prompt chunk, a decode step)
  here -> host  {"id", "error": (kind, message), "loaded": None}
  here -> host  {"id", "load_failed": message, "loaded": None}   (the host names the model)

Progress frames are sent at most every PROGRESS_EVERY seconds, from the
threads doing the work (not from a timer, which would go on beside a stuck
engine): the host's supervisor fails the calls of a process that sends nothing
for its bound, and replaces the process.

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
from spin_py.capabilities.sizes import MAX_HOST_BUFFERED_BYTES

MAX_MESSAGE_BYTES = MAX_HOST_BUFFERED_BYTES  # each way
BATCH_WINDOW_SECONDS = 0.002
PROGRESS_EVERY = 0.5
MAX_BATCH_TEXTS = 64
_PR_SET_PDEATHSIG = 1


class ModelThread:
    """Loads one inferencing model and runs all its work on one long-lived
    thread, in arrival order (a transformers model; GGUF models are batched
    by GenerationBatcher).

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


class CallCancelled(Exception):
    """The host gave up on the call (its client left); nothing is sent back."""


class _Generation:
    def __init__(self, call_id, prompt, params, chat, reply):
        self.call_id = call_id
        self.prompt = prompt
        self.params = params
        self.chat = chat
        self.reply = reply
        self.sequence = None
        self.loaded = None  # seconds, when this call loaded the model


class GenerationBatcher:
    """Continuous batching for one GGUF model (engines/llama_cpp.py), on one
    long-lived thread (llama.cpp's OpenMP team is made per calling thread, and
    the model is built on it too, see ModelThread).

    Each turn of its loop admits the calls that arrived, as many as the model
    has free sequences (each prompt evaluated alone, its first token sampled),
    then runs one decode step for every running sequence together. A call that
    arrives while others generate joins at the next step; a sequence that
    finishes, or whose call is cancelled, leaves and frees its KV stream at
    once. Calls beyond the free sequences wait in arrival order. A failed load
    is not kept: the next call tries the file again.
    """

    def __init__(self, path, progress=lambda: None, load=None):
        self.path = path
        self.load = load or (lambda: load_engine("llama.cpp", path))
        self.progress = progress
        self.engine = None
        self.loads = 0
        self.batch_sizes = collections.deque(maxlen=1000)  # sequences in each decode step (the latest)
        self._cond = threading.Condition()
        self._queue = collections.deque()
        self._cancelled = set()
        self._running = []  # _Generation, each holding a sequence
        self._free = []  # free sequence ids
        threading.Thread(target=self._run, name=f"generate-{os.path.basename(path)}", daemon=True).start()

    def submit(self, call_id, prompt, params, chat, reply):
        """``reply(InferencingResult, error, loaded_seconds)`` when the call's answer is complete."""
        with self._cond:
            self._queue.append(_Generation(call_id, prompt, params, chat, reply))
            self._cond.notify()

    def cancel(self, call_id) -> None:
        """Drop the call if it is still waiting, or free its sequence at the next step (an id this
        model never had, or that is answered already, is forgotten then)."""
        with self._cond:
            for waiting in self._queue:
                if waiting.call_id == call_id:
                    self._queue.remove(waiting)
                    return
            self._cancelled.add(call_id)
            self._cond.notify()

    def running(self) -> int:
        return len(self._running)

    def _run(self):
        while True:
            with self._cond:
                while not self._queue and not self._running:
                    self._cond.wait()
                capacity = len(self._free) if self.engine is not None else 1
                arrivals = [self._queue.popleft() for _ in range(min(capacity, len(self._queue)))]
                cancelled, self._cancelled = self._cancelled, set()
            for generation in [g for g in self._running if g.call_id in cancelled]:
                self._leave(generation, CallCancelled())
            for generation in arrivals:
                self._admit(generation)
            self._step()

    def _admit(self, generation):
        loaded = None
        try:
            if self.engine is None:
                started = time.perf_counter()
                self.engine = _load(self.load)
                self.loads += 1
                loaded = time.perf_counter() - started
                with self._cond:
                    self._free = list(range(self.engine.sequences))
                self.progress()
            prepared = self.engine.prepare(generation.prompt, generation.params, generation.chat)
            if not isinstance(prepared, tuple):
                generation.reply(prepared, None, loaded)  # answered without a sequence (max_tokens 0)
                return
            with self._cond:
                seq_id = self._free.pop(0)
            try:
                generation.sequence = self.engine.start(seq_id, prepared, generation.params, self.progress)
            except BaseException:
                with self._cond:
                    self._free.append(seq_id)
                raise
        except BaseException as error:
            generation.reply(None, error, loaded)
            return
        generation.loaded = loaded
        with self._cond:
            self._running.append(generation)
        self.progress()
        if generation.sequence.done:
            self._leave(generation)

    def _step(self):
        if not self._running:
            return
        try:
            self.engine.step([generation.sequence for generation in self._running])
        except BaseException as error:
            for generation in list(self._running):
                self._leave(generation, error)
            return
        self.batch_sizes.append(len(self._running))
        self.progress()
        for generation in [g for g in self._running if g.sequence.done]:
            self._leave(generation)

    def _leave(self, generation, error=None):
        """The sequence is done (or failed, or cancelled): free it and answer."""
        sequence = generation.sequence
        self.engine.finish(sequence)
        with self._cond:
            self._running.remove(generation)
            self._free.append(sequence.seq_id)
            self._free.sort()
        if isinstance(error, CallCancelled):
            return
        if error is not None:
            generation.reply(None, error, generation.loaded)
        else:
            generation.reply(sequence.result(), None, generation.loaded)


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
        self._generators = {}  # path -> GenerationBatcher (GGUF) or ModelThread (transformers)
        self._embedders = {}  # path -> EmbeddingBatcher
        self._progress_sent = 0.0

    def progress(self):
        """Tell the host that work advanced, at most every PROGRESS_EVERY seconds."""
        now = time.monotonic()
        if now - self._progress_sent >= PROGRESS_EVERY:
            self._progress_sent = now
            try:
                self.send({"progress": True})
            except OSError:
                pass  # the host is gone: the reader ends this process

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
            generator = self._generators.get(path)
            if generator is None:
                if message["engine"] == "llama.cpp":
                    generator = GenerationBatcher(path, self.progress)
                else:
                    generator = ModelThread(path, message["engine"])
                self._generators[path] = generator
            prompt, params, chat = message["prompt"], message["params"], message.get("chat", False)
            if isinstance(generator, GenerationBatcher):
                generator.submit(call_id, prompt, params, chat, self.replier(call_id))
            else:
                generator.submit(lambda engine: engine.infer(prompt, params, progress=self.progress), self.replier(call_id))
        elif op == "cancel":
            for generator in list(self._generators.values()):
                if isinstance(generator, GenerationBatcher):
                    generator.cancel(call_id)
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
        """What is loaded, how often, how embeddings and decode steps were batched, and how many
        sequences each GGUF model is generating now (for tests and benchmarks)."""
        return {
            "pid": os.getpid(),
            "loads": {**{(p, "inferencing"): t.loads for p, t in self._generators.items()},
                      **{(p, "embeddings"): b.loads for p, b in self._embedders.items()}},
            "batch_sizes": {p: list(b.batch_sizes) for p, b in self._embedders.items()},
            "decode_batch_sizes": {p: list(g.batch_sizes) for p, g in self._generators.items()
                                   if isinstance(g, GenerationBatcher)},
            "running": {p: g.running() for p, g in self._generators.items() if isinstance(g, GenerationBatcher)},
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
