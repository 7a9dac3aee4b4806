"""The local model pool: models on this machine, one copy each, shared by every
component and worker and kept for the whole session, run in the model process
(model_process.py) so that a native crash in an engine is an error, not the
end of the dev server (supervisor.py).

The host side is thin: it finds the file for a model name (locate.py), says
the stand-in announcement and the load lines, and sends the call. In the model
process:
- models load lazily at first use; a failed load is not remembered, so fixing
  the file fixes the app;
- each GGUF model's calls are generated together on its own thread
  (continuous batching, model_process.GenerationBatcher); a transformers
  model's calls run on its own thread in arrival order;
- embedding requests that arrive together are run as one batch;
- models are never unloaded during a session: a dev server keeps a handful of
  models, and reloading one costs seconds, which is the point of the pool.
If the model process dies, models load again on their next use.

Each result says how long its call waited in the model process, for the host's
telemetry and never for the guest: ``result.host_timings``, a HostTimings
(engines/base.py) of seconds measured there from the call's arrival:

  infer                ``queued``: until its sequence started (waiting for a free
                       sequence and for the decode step in progress);
                       ``first_token``: until its first token was sampled (its own
                       prompt evaluated, and the model loaded if this call loaded it),
                       None when it generated nothing (max_tokens 0)
  generate_embeddings  ``queued``: until its batch was taken (the batching window
                       included); ``first_token`` None

Results compare and print without it, and the guest's answer is built from the
other fields by name. Pools with no model process (deterministic.py, the remote
engine) leave it None, and so does an empty embeddings request.
"""

import collections
import os
import threading
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

from spin_py.capabilities.llm.engines.base import (
    RUNTIME_ERROR,
    EmbeddingsResult,
    InferencingParams,
    InferencingResult,
    LlmError,
)
from spin_py.capabilities.llm.locate import EMBEDDINGS, INFERENCING, ModelSource, locate
from spin_py.capabilities.llm.supervisor import ModelProcess


class LocalModelPool:
    def __init__(self, state_dir: str | os.PathLike[str], stand_ins: bool = True,
                 log: Callable[[str], None] = print) -> None:
        self.state_dir = state_dir
        self.stand_ins = stand_ins
        self.log = log
        self.load_counts: collections.Counter[tuple[str, str]] = collections.Counter()  # (model, kind) -> times loaded
        self.process = ModelProcess(log=log)
        self._lock = threading.Lock()
        self._announced: set[tuple[str, str] | tuple[str, str, int]] = set()
        self._loaded: dict[tuple[Path, str], tuple[str, int]] = {}  # (file, kind) -> (model that loaded it, process generation)
        # A pool dropped without close() (a new [llm_compute]) still stops its process.
        weakref.finalize(self, self.process.close)

    def source(self, model: str, kind: str) -> ModelSource:
        return locate(model, kind, self.state_dir, self.stand_ins)

    def _resolve(self, model: str, kind: str) -> ModelSource:
        source = self.source(model, kind)
        if source.announcement and (model, kind) not in self._announced:
            with self._lock:
                if (model, kind) not in self._announced:
                    self._announced.add((model, kind))
                    self.log(source.announcement)
        return source

    def _loaded_by(self, source: ModelSource) -> str | None:
        """The model name that loaded this file in the running model process, or None."""
        loaded = self._loaded.get((source.path, source.kind))
        return loaded[0] if loaded and loaded[1] == self.process.generation else None

    def _call(self, model: str, source: ModelSource, message: dict[str, Any], call: str,
              cancelled: Callable[[], bool] | None = None) -> Any:
        def doing() -> str:
            step = f"running {call} on" if self._loaded_by(source) else "loading"
            return f"{step} '{model}' ({source.path})"

        reply = self.process.call({**message, "path": str(Path(source.path).absolute())}, doing, cancelled)
        if reply.get("loaded") is not None:
            with self._lock:
                self._loaded[(source.path, source.kind)] = (model, self.process.generation)
                self.load_counts[(model, source.kind)] += 1
            self.log(f"Loaded {model} from {source.path} in {reply['loaded']:.2f}s")
        else:
            self._say_shared(model, source)
        if "load_failed" in reply:
            raise LlmError(RUNTIME_ERROR, f"failed to load model '{model}' from {source.path}: {reply['load_failed']}")
        if "error" in reply:
            raise LlmError(*reply["error"])
        return reply["result"]

    def _say_shared(self, model: str, source: ModelSource) -> None:
        """Once per name (and model process): this name uses a copy loaded for another name."""
        first = self._loaded_by(source)
        key = (model, source.kind, self.process.generation)
        if first is None or first == model or key in self._announced:
            return
        with self._lock:
            if key in self._announced:
                return
            self._announced.add(key)
        self.log(f"{model} uses the copy of {source.path} already loaded for {first}")

    def infer(self, model: str, prompt: str, params: InferencingParams,
              cancelled: Callable[[], bool] | None = None) -> InferencingResult:
        source = self._resolve(model, INFERENCING)
        # A stand-in is an instruct model answering for another: it gets the prompt through its own
        # chat template, or it often answers nothing. A real model gets the raw prompt, as in Spin.
        chat = source.origin == "stand-in"
        message = {"op": "infer", "engine": source.engine, "prompt": prompt, "params": params, "chat": chat}
        return self._call(model, source, message, "infer", cancelled)

    def generate_embeddings(self, model: str, texts: list[str]) -> EmbeddingsResult:
        source = self._resolve(model, EMBEDDINGS)
        if not texts:
            return EmbeddingsResult([], 0)
        return self._call(model, source, {"op": "embed", "texts": list(texts)}, "generate_embeddings")

    def describe(self, model: str, kind: str) -> str:
        """One line for `spin-py models`: where the model comes from, or why there is none."""
        try:
            return self.source(model, kind).describe()
        except LlmError as error:
            return f"{model} ({kind}): {error.message or error.kind}"

    def stats(self) -> dict[str, Any]:
        """The model process's own account: its pid, loads per (file, kind), embedding batch sizes."""
        return self.process.call({"op": "stats"}, lambda: "reporting its stats")["result"]

    def close(self) -> None:
        self.process.close()

