"""The model pool: one copy of each model in the host process, shared by every
component and worker, kept for the whole session.

- Models load lazily at first use, with one log line (model, file, time); a
  failed load is not remembered, so fixing the file fixes the app.
- Each model's work runs on its own thread, in arrival order (see ModelThread).
- Embedding requests that arrive together are run as one batch: the model's
  thread waits a couple of milliseconds after the first for others, then one
  forward pass answers all of them.
- Models are never unloaded during a session: a dev server keeps a handful of
  models, and reloading one costs seconds, which is the point of the pool.
"""

import collections
import queue
import threading
import time
from dataclasses import dataclass

from spin_py.capabilities.llm.engines.base import RUNTIME_ERROR, EmbeddingsResult, LlmError
from spin_py.capabilities.llm.locate import EMBEDDINGS, INFERENCING, locate

BATCH_WINDOW_SECONDS = 0.002
MAX_BATCH_TEXTS = 64


class ModelThread:
    """Runs all of one model's work on one long-lived thread, in arrival order.

    llama.cpp (OpenMP) and torch keep a thread team per calling thread: the dev
    server's new thread per request would build a fresh team for every call
    and leave the old ones spinning, which costs about a third of the speed.
    """

    def __init__(self, name):
        self._jobs = queue.Queue()
        threading.Thread(target=self._run, name=name, daemon=True).start()

    def call(self, function, *args):
        job = _Job(function, args)
        self._jobs.put(job)
        job.done.wait()
        if job.error is not None:
            raise job.error
        return job.result

    def stop(self):
        self._jobs.put(None)

    def _run(self):
        while True:
            job = self._jobs.get()
            if job is None:
                return
            try:
                job.result = job.function(*job.args)
            except BaseException as error:  # handed to the caller
                job.error = error
            job.done.set()


class _Job:
    def __init__(self, function, args):
        self.function = function
        self.args = args
        self.result = None
        self.error = None
        self.done = threading.Event()


class _Pending:
    def __init__(self, texts):
        self.texts = texts
        self.vectors = None
        self.tokens = 0
        self.error = None
        self.done = threading.Event()


class EmbeddingBatcher:
    """One thread per embeddings model: it takes every request that arrived
    within ``window`` seconds of the first (up to ``max_texts`` texts) and
    answers them with one forward pass."""

    def __init__(self, engine, window=BATCH_WINDOW_SECONDS, max_texts=MAX_BATCH_TEXTS):
        self.engine = engine
        self.window = window
        self.max_texts = max_texts
        self.batch_sizes = []  # requests answered by each forward pass
        self._cond = threading.Condition()
        self._queue = collections.deque()
        threading.Thread(target=self._run, name="embeddings", daemon=True).start()

    def embed(self, texts):
        pending = _Pending(list(texts))
        with self._cond:
            self._queue.append(pending)
            self._cond.notify()
        pending.done.wait()
        if pending.error is not None:
            raise pending.error
        return EmbeddingsResult(pending.vectors, pending.tokens)

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
        texts = [text for pending in batch for text in pending.texts]
        try:
            vectors, counts = self.engine.generate_embeddings(texts)
        except Exception as error:
            failure = error if isinstance(error, LlmError) else LlmError(RUNTIME_ERROR, f"embeddings failed: {error}")
            for pending in batch:
                pending.error = failure
                pending.done.set()
            return
        self.batch_sizes.append(len(batch))
        start = 0
        for pending in batch:
            end = start + len(pending.texts)
            pending.vectors, pending.tokens = vectors[start:end], sum(counts[start:end])
            pending.done.set()
            start = end


def _load_engine(source):
    if source.engine == "llama.cpp":
        with open(source.path, "rb") as file:
            if file.read(4) != b"GGUF":
                raise ValueError("not a GGUF file (wrong format)")
        from spin_py.capabilities.llm.engines.llama_cpp import LlamaCppEngine

        return LlamaCppEngine(source.path)
    if source.engine == "transformers":
        from spin_py.capabilities.llm.engines.transformers_llama import TransformersEngine

        return TransformersEngine(source.path)
    if not (source.path / "tokenizer.json").exists():
        raise ValueError("no tokenizer.json in the folder")
    from spin_py.capabilities.llm.engines.embeddings import EmbeddingsEngine

    return EmbeddingBatcher(EmbeddingsEngine(source.path))


@dataclass
class LoadedModel:
    engine: object  # an inferencing engine, or an EmbeddingBatcher
    thread: ModelThread | None  # where generation runs; None for embeddings (the batcher has its own)
    path: object
    loaded_as: str  # the model name that loaded it


class ModelPool:
    def __init__(self, state_dir, runtime_config=None, stand_ins=True, log=print):
        self.state_dir = state_dir
        self.runtime_config = runtime_config
        self.stand_ins = stand_ins
        self.log = log
        self.load_counts = collections.Counter()  # (model, kind) -> times loaded
        self._loaded = {}  # (model, kind) -> LoadedModel
        self._by_file = {}  # (path, kind) -> LoadedModel: names that resolve to one file share one copy
        self._load_lock = threading.Lock()  # loads are rare: one at a time keeps sharing simple
        self._announced = set()
        self._remote = None
        compute = runtime_config.llm_compute if runtime_config else None
        if compute and compute.type == "remote_http":
            from spin_py.capabilities.llm.engines.remote import RemoteEngine

            self._remote = RemoteEngine(compute.url, compute.auth_token, compute.api_type)

    def source(self, model, kind):
        return locate(model, kind, self.state_dir, self.runtime_config, self.stand_ins)

    def _model(self, model, kind):
        key = (model, kind)
        loaded = self._loaded.get(key)
        if loaded is not None:
            return loaded
        with self._load_lock:
            if key in self._loaded:
                return self._loaded[key]
            source = self.source(model, kind)
            if source.announcement and key not in self._announced:
                self._announced.add(key)
                self.log(source.announcement)
            shared = self._by_file.get((source.path, kind))
            if shared is not None:
                self._loaded[key] = shared
                self.log(f"{model} uses the copy of {source.path} already loaded for {shared.loaded_as}")
                return shared
            started = time.perf_counter()
            # Generation is built on the thread that will run it, so its thread team is made once.
            thread = ModelThread(f"generate-{model}") if kind == INFERENCING else None
            try:
                engine = thread.call(_load_engine, source) if thread else _load_engine(source)
            except Exception as error:
                if thread:
                    thread.stop()
                if isinstance(error, ImportError):
                    message = f"loading {source.path} needs {error.name}: pip install 'spin-py[llm]'"
                else:
                    message = f"failed to load model '{model}' from {source.path}: {error}"
                raise LlmError(RUNTIME_ERROR, message) from None
            loaded = LoadedModel(engine, thread, source.path, model)
            self.load_counts[key] += 1
            self._loaded[key] = self._by_file[(source.path, kind)] = loaded
            self.log(f"Loaded {model} from {source.path} in {time.perf_counter() - started:.2f}s")
            return loaded

    def infer(self, model, prompt, params):
        if self._remote:
            return self._remote.infer(model, prompt, params)
        loaded = self._model(model, INFERENCING)
        return loaded.thread.call(loaded.engine.infer, prompt, params)

    def generate_embeddings(self, model, texts):
        if self._remote:
            return self._remote.generate_embeddings(model, texts)
        if not texts:
            self.source(model, EMBEDDINGS)  # an unknown model is still an error
            return EmbeddingsResult([], 0)
        return self._model(model, EMBEDDINGS).engine.embed(texts)

    def describe(self, model, kind):
        """One line for `spin-py models`: where the model comes from, or why there is none."""
        try:
            return self.source(model, kind).describe()
        except LlmError as error:
            return f"{model} ({kind}): {error.message or error.kind}"
