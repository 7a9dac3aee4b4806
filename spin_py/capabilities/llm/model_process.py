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
                (an infer or embed result carries its HostTimings: how long the call waited here)
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

from __future__ import annotations

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
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any

from spin_py.capabilities.llm.engines.base import (
    RUNTIME_ERROR,
    EmbeddingsResult,
    HostTimings,
    InferencingParams,
    InferencingResult,
    LlmError,
)
from spin_py.capabilities.sizes import MAX_HOST_BUFFERED_BYTES

if TYPE_CHECKING:
    from spin_py.capabilities.llm.engines.llama_cpp import LlamaCppEngine, Sequence

MAX_MESSAGE_BYTES = MAX_HOST_BUFFERED_BYTES  # each way
BATCH_WINDOW_SECONDS = 0.002  # a lone embedding request waits this long for company
MAX_WINDOW_SECONDS = 0.02  # at most, while more keep arriving
PROGRESS_EVERY = 0.5
MAX_BATCH_TEXTS = 64
_PR_SET_PDEATHSIG = 1

# ``reply(result, error, loaded_seconds)``: how a model's thread answers one call.
Reply = Callable[[Any, BaseException | None, float | None], None]
Progress = Callable[[], None]


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

    def __init__(self, path: str, engine: str) -> None:
        self.path = path
        self.engine_name = engine
        self.engine: Any = None
        self.loads = 0
        self._jobs: queue.Queue[tuple[Callable[[Any], Any], Reply]] = queue.Queue()
        threading.Thread(target=self._run, name=f"generate-{os.path.basename(path)}", daemon=True).start()

    def submit(self, function: Callable[[Any], Any], reply: Reply) -> None:
        """Run ``function(engine)`` on this thread; ``reply(result, error, loaded_seconds)`` when done."""
        self._jobs.put((function, reply))

    def _run(self) -> None:
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
    def __init__(self, call_id: int, prompt: str, params: InferencingParams, chat: bool, reply: Reply,
                 arrived: float) -> None:
        self.call_id = call_id
        self.prompt = prompt
        self.params = params
        self.chat = chat
        self.reply = reply
        self.arrived = arrived  # time.monotonic() when the call reached this process
        self.queued = 0.0  # seconds until its sequence started
        self.first_token: float | None = None  # seconds until its first token was sampled
        self.sequence: Sequence | None = None
        self.loaded: float | None = None  # seconds, when this call loaded the model

    def timings(self) -> HostTimings:
        return HostTimings(self.queued, self.first_token)


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

    def __init__(self, path: str, progress: Progress = lambda: None,
                 load: Callable[[], LlamaCppEngine] | None = None) -> None:
        self.path = path
        self.load: Callable[[], LlamaCppEngine] = load or (lambda: load_engine("llama.cpp", path))
        self.progress = progress
        self.engine: LlamaCppEngine | None = None
        self.loads = 0
        self.batch_sizes: collections.deque[int] = collections.deque(maxlen=1000)  # sequences in each decode step (the latest)
        self._cond = threading.Condition()
        self._queue: collections.deque[_Generation] = collections.deque()
        self._cancelled: set[int] = set()
        self._running: list[_Generation] = []  # each holding a sequence
        self._free: list[int] = []  # free sequence ids
        threading.Thread(target=self._run, name=f"generate-{os.path.basename(path)}", daemon=True).start()

    def submit(self, call_id: int, prompt: str, params: InferencingParams, chat: bool, reply: Reply,
               arrived: float | None = None) -> None:
        """``reply(InferencingResult, error, loaded_seconds)`` when the call's answer is complete.
        ``arrived``: time.monotonic() when the call reached this process (default: now)."""
        with self._cond:
            self._queue.append(_Generation(call_id, prompt, params, chat, reply,
                                           time.monotonic() if arrived is None else arrived))
            self._cond.notify()

    def cancel(self, call_id: int) -> None:
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

    def _run(self) -> None:
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

    def _admit(self, generation: _Generation) -> None:
        loaded = None
        generation.queued = time.monotonic() - generation.arrived
        try:
            if self.engine is None:
                started = time.perf_counter()
                self.engine = engine = _load(self.load)
                self.loads += 1
                loaded = time.perf_counter() - started
                with self._cond:
                    self._free = list(range(engine.sequences))
                self.progress()
            engine = self.engine
            prepared = engine.prepare(generation.prompt, generation.params, generation.chat)
            if isinstance(prepared, InferencingResult):
                prepared.host_timings = generation.timings()
                generation.reply(prepared, None, loaded)  # answered without a sequence (max_tokens 0)
                return
            with self._cond:
                seq_id = self._free.pop(0)
            try:
                sequence = engine.start(seq_id, prepared, generation.params, self.progress)
            except BaseException:
                with self._cond:
                    self._free.append(seq_id)
                raise
        except BaseException as error:
            generation.reply(None, error, loaded)
            return
        generation.first_token = time.monotonic() - generation.arrived
        generation.sequence = sequence
        generation.loaded = loaded
        with self._cond:
            self._running.append(generation)
        self.progress()
        if sequence.done:
            self._leave(generation)

    def _step(self) -> None:
        if not self._running or self.engine is None:
            return
        try:
            self.engine.step([generation.sequence for generation in self._running if generation.sequence is not None])
        except BaseException as error:
            for generation in list(self._running):
                self._leave(generation, error)
            return
        self.batch_sizes.append(len(self._running))
        self.progress()
        for generation in [g for g in self._running if g.sequence is not None and g.sequence.done]:
            self._leave(generation)

    def _leave(self, generation: _Generation, error: BaseException | None = None) -> None:
        """The sequence is done (or failed, or cancelled): free it and answer."""
        sequence = generation.sequence
        assert sequence is not None and self.engine is not None  # only running generations leave
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
            result = sequence.result()
            result.host_timings = generation.timings()
            generation.reply(result, None, generation.loaded)


class _Pending:
    def __init__(self, texts: list[str], reply: Reply, arrived: float) -> None:
        self.texts = texts
        self.reply = reply
        self.arrived = arrived  # time.monotonic() when the request reached this process


class EmbeddingBatcher:
    """One thread per embeddings model: it answers every request that arrived
    together with one forward pass (up to ``max_texts`` texts). After the first
    request it waits ``window`` seconds, and again while more keep coming, until
    a window passes with none or ``max_window`` seconds have passed: a lone
    request waits one window, and a burst of requests from instances started
    together is gathered rather than cut into a first batch of one. It loads the
    model on its first batch (a failed load is not kept: the next batch tries
    again)."""

    def __init__(self, path: str, load: Callable[[], Any] | None = None, window: float = BATCH_WINDOW_SECONDS,
                 max_texts: int = MAX_BATCH_TEXTS, max_window: float = MAX_WINDOW_SECONDS) -> None:
        self.path = path
        self.load = load or (lambda: load_engine("bert", path))
        self.engine: Any = None
        self.loads = 0
        self.window = window
        self.max_window = max_window
        self.max_texts = max_texts
        self.batch_sizes: collections.deque[int] = collections.deque(maxlen=1000)  # requests answered by each forward pass (the latest)
        self._cond = threading.Condition()
        self._queue: collections.deque[_Pending] = collections.deque()
        self._texts = 0  # texts waiting in _queue
        threading.Thread(target=self._run, name=f"embeddings-{os.path.basename(path)}", daemon=True).start()

    def submit(self, texts: list[str], reply: Reply, arrived: float | None = None) -> None:
        """``reply(EmbeddingsResult, error, loaded_seconds)`` once the batch holding ``texts`` is done.
        ``arrived``: time.monotonic() when the request reached this process (default: now)."""
        with self._cond:
            self._queue.append(_Pending(list(texts), reply, time.monotonic() if arrived is None else arrived))
            self._texts += len(texts)
            self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue:
                    self._cond.wait()
                self._gather()
                batch = self._take_batch()
            self._answer(batch)

    def _gather(self) -> None:
        """Let requests arriving together join (called holding the lock, with one request queued)."""
        deadline = time.monotonic() + self.max_window
        while self._texts < self.max_texts:
            waiting = len(self._queue)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            self._cond.wait(min(self.window, remaining))
            if len(self._queue) == waiting:
                return

    def _take_batch(self) -> list[_Pending]:
        batch = [self._queue.popleft()]
        count = len(batch[0].texts)
        while self._queue and count + len(self._queue[0].texts) <= self.max_texts:
            count += len(self._queue[0].texts)
            batch.append(self._queue.popleft())
        self._texts -= count
        return batch

    def _answer(self, batch: list[_Pending]) -> None:
        loaded = None
        taken = time.monotonic()
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
            result = EmbeddingsResult(vectors[start:end], sum(counts[start:end]),
                                      host_timings=HostTimings(taken - pending.arrived))
            pending.reply(result, None, loaded)
            loaded = None  # said once, with the first answer
            start = end


def load_engine(engine: str, path: str | os.PathLike[str]) -> Any:
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


def _load(load: Callable[[], Any]) -> Any:
    try:
        return load()
    except ImportError as error:
        raise LoadFailed(f"needs {error.name}: pip install 'spin-py[llm]'") from None
    except Exception as error:
        raise LoadFailed(str(error)) from None


def error_message(call_id: int, error: BaseException, loaded: float | None) -> dict[str, Any]:
    """The reply for a failed call: Spin's variants as they are, a failed load, or any other error as RuntimeError."""
    if isinstance(error, LoadFailed):
        return {"id": call_id, "load_failed": str(error), "loaded": loaded}
    if isinstance(error, LlmError):
        return {"id": call_id, "error": (error.kind, error.message), "loaded": loaded}
    return {"id": call_id, "error": (RUNTIME_ERROR, f"{type(error).__name__}: {error}"), "loaded": loaded}


class ModelServer:
    """Reads the host's calls and hands each to its model's thread; replies go
    back from those threads as they finish (one send lock)."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self._send_lock = threading.Lock()
        self._generators: dict[str, GenerationBatcher | ModelThread] = {}  # GGUF, or transformers
        self._embedders: dict[str, EmbeddingBatcher] = {}
        self._progress_sent = 0.0

    def progress(self) -> None:
        """Tell the host that work advanced, at most every PROGRESS_EVERY seconds."""
        now = time.monotonic()
        if now - self._progress_sent >= PROGRESS_EVERY:
            self._progress_sent = now
            try:
                self.send({"progress": True})
            except OSError:
                pass  # the host is gone: the reader ends this process

    def send(self, message: dict[str, Any]) -> None:
        data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        if len(data) > MAX_MESSAGE_BYTES:
            data = pickle.dumps({
                "id": message["id"],
                "error": (RUNTIME_ERROR, f"the answer is {len(data)} bytes; the limit is {MAX_MESSAGE_BYTES}"),
                "loaded": message.get("loaded"),
            })
        with self._send_lock:
            self.connection.send_bytes(data)

    def replier(self, call_id: int) -> Reply:
        def reply(result: Any, error: BaseException | None, loaded: float | None) -> None:
            if error is None:
                self.send({"id": call_id, "result": result, "loaded": loaded})
            else:
                self.send(error_message(call_id, error, loaded))

        return reply

    def handle(self, message: dict[str, Any], arrived: float | None = None) -> None:
        """One message from the host; ``arrived``: time.monotonic() when it was read (default: now)."""
        arrived = time.monotonic() if arrived is None else arrived
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
                generator.submit(call_id, prompt, params, chat, self.replier(call_id), arrived)
            else:
                generator.submit(self._transformers_call(prompt, params, arrived), self.replier(call_id))
        elif op == "cancel":
            for generator in list(self._generators.values()):
                if isinstance(generator, GenerationBatcher):
                    generator.cancel(call_id)
        elif op == "embed":
            path = message["path"]
            batcher = self._embedders.get(path)
            if batcher is None:
                batcher = self._embedders[path] = EmbeddingBatcher(path)
            batcher.submit(message["texts"], self.replier(call_id), arrived)
        elif op == "stats":
            self.send({"id": call_id, "result": self.stats(), "loaded": None})
        else:
            self.send({"id": call_id, "error": (RUNTIME_ERROR, f"unknown model process op {op!r}"), "loaded": None})

    def _transformers_call(self, prompt: str, params: InferencingParams, arrived: float) -> Callable[[Any], InferencingResult]:
        """The call a ModelThread runs for one infer on a transformers model, with its timings."""

        def call(engine: Any) -> InferencingResult:
            queued = time.monotonic() - arrived
            first: list[float] = []
            result: InferencingResult = engine.infer(
                prompt, params, progress=self.progress, first_token=lambda: first.append(time.monotonic() - arrived))
            result.host_timings = HostTimings(queued, first[0] if first else None)
            return result

        return call

    def stats(self) -> dict[str, Any]:
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

    def serve(self) -> None:
        while True:
            try:
                data = self.connection.recv_bytes(MAX_MESSAGE_BYTES)
            except (EOFError, OSError):
                return  # the host is gone (or broke the framing): nothing to answer
            self.handle(pickle.loads(data), time.monotonic())


def _die_with_parent(host_pid: int) -> None:
    """SIGKILL when the host's thread that started us ends; and exit now if the host is already gone."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass  # not Linux: the closed socket still ends us
    if os.getppid() != host_pid:
        os._exit(0)


def main(argv: list[str] | None = None) -> None:
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
