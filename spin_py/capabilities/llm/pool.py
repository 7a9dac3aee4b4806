"""The model pool: one copy of each model in the host process, shared by every
component and worker, kept for the whole session.

- Models load lazily at first use, with one log line (model, file, time); a
  failed load is not remembered, so fixing the file fixes the app.
- Generation for one model is served in arrival order (a fair lock).
- Embedding requests that arrive together are run as one batch: the first
  caller waits a couple of milliseconds for others, then one forward pass
  answers all of them.
- Models are never unloaded during a session: a dev server keeps a handful of
  models, and reloading one costs seconds, which is the point of the pool.
"""

import collections
import threading
import time

from spin_py.capabilities.llm.engines.base import RUNTIME_ERROR, EmbeddingsResult, LlmError
from spin_py.capabilities.llm.locate import EMBEDDINGS, INFERENCING, locate

BATCH_WINDOW_SECONDS = 0.002
MAX_BATCH_TEXTS = 64


class FairLock:
    """A lock taken in arrival order (threading.Lock promises no order)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._waiters = collections.deque()
        self._held = False

    def __enter__(self):
        with self._lock:
            if not self._held and not self._waiters:
                self._held = True
                return self
            turn = threading.Event()
            self._waiters.append(turn)
        turn.wait()
        return self

    def __exit__(self, *exc):
        with self._lock:
            if self._waiters:
                self._waiters.popleft().set()  # handed over: stays held
            else:
                self._held = False


class _Pending:
    def __init__(self, texts):
        self.texts = texts
        self.done = False
        self.vectors = None
        self.tokens = 0
        self.error = None


class EmbeddingBatcher:
    def __init__(self, engine, window=BATCH_WINDOW_SECONDS, max_texts=MAX_BATCH_TEXTS):
        self.engine = engine
        self.window = window
        self.max_texts = max_texts
        self.batch_sizes = []  # requests answered by each forward pass
        self._cond = threading.Condition()
        self._queue = collections.deque()
        self._busy = False

    def embed(self, texts):
        pending = _Pending(list(texts))
        with self._cond:
            self._queue.append(pending)
        while True:
            with self._cond:
                while self._busy and not pending.done:
                    self._cond.wait()
                if pending.done:
                    break
                self._busy = True  # this caller runs the next batch
            try:
                time.sleep(self.window)  # let requests arriving together join
                with self._cond:
                    batch = self._take_batch()
                self._run(batch)
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()
        if pending.error is not None:
            raise pending.error
        return EmbeddingsResult(pending.vectors, pending.tokens)

    def _take_batch(self):
        batch = [self._queue.popleft()]
        count = len(batch[0].texts)
        while self._queue and count + len(self._queue[0].texts) <= self.max_texts:
            count += len(self._queue[0].texts)
            batch.append(self._queue.popleft())
        return batch

    def _run(self, batch):
        texts = [text for pending in batch for text in pending.texts]
        try:
            vectors, counts = self.engine.generate_embeddings(texts)
        except Exception as error:
            failure = error if isinstance(error, LlmError) else LlmError(RUNTIME_ERROR, f"embeddings failed: {error}")
            for pending in batch:
                pending.error, pending.done = failure, True
            return
        self.batch_sizes.append(len(batch))
        start = 0
        for pending in batch:
            end = start + len(pending.texts)
            pending.vectors, pending.tokens = vectors[start:end], sum(counts[start:end])
            pending.done = True
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


class ModelPool:
    def __init__(self, state_dir, runtime_config=None, stand_ins=True, log=print):
        self.state_dir = state_dir
        self.runtime_config = runtime_config
        self.stand_ins = stand_ins
        self.log = log
        self.load_counts = collections.Counter()  # (model, kind) -> times loaded
        self._loaded = {}  # (model, kind) -> engine, or EmbeddingBatcher for embeddings
        self._generation_locks = collections.defaultdict(FairLock)
        self._load_locks = collections.defaultdict(threading.Lock)
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
        engine = self._loaded.get(key)
        if engine is not None:
            return engine
        with self._load_locks[key]:
            if key in self._loaded:
                return self._loaded[key]
            source = self.source(model, kind)
            if source.announcement and key not in self._announced:
                self._announced.add(key)
                self.log(source.announcement)
            started = time.perf_counter()
            try:
                engine = _load_engine(source)
            except ImportError as error:
                raise LlmError(
                    RUNTIME_ERROR, f"loading {source.path} needs {error.name}: pip install 'spin-py[llm]'"
                ) from None
            except Exception as error:
                raise LlmError(RUNTIME_ERROR, f"failed to load model '{model}' from {source.path}: {error}") from None
            self.load_counts[key] += 1
            self._loaded[key] = engine
            self.log(f"Loaded {model} from {source.path} in {time.perf_counter() - started:.2f}s")
            return engine

    def infer(self, model, prompt, params):
        if self._remote:
            return self._remote.infer(model, prompt, params)
        engine = self._model(model, INFERENCING)
        with self._generation_locks[model]:
            return engine.infer(prompt, params)

    def generate_embeddings(self, model, texts):
        if self._remote:
            return self._remote.generate_embeddings(model, texts)
        if not texts:
            self.source(model, EMBEDDINGS)  # an unknown model is still an error
            return EmbeddingsResult([], 0)
        return self._model(model, EMBEDDINGS).embed(texts)

    def describe(self, model, kind):
        """One line for `spin-py models`: where the model comes from, or why there is none."""
        try:
            return self.source(model, kind).describe()
        except LlmError as error:
            return f"{model} ({kind}): {error.message or error.kind}"
