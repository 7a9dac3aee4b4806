"""The three model pools behind Serverless AI, one interface, and the one place
that picks which (Spin's `LlmEngine` trait, crates/factor-llm, has the same
three-way choice: local, remote_http, and spin's own test engines):

- ``deterministic`` (`spin-py up --ai-engine deterministic`, the pytest
  fixture): fixed answers, no models (deterministic.py);
- ``remote_http`` (the runtime config's `[llm_compute] type = "remote_http"`):
  a model server, Spin's protocol or OpenAI's (engines/remote.py);
- otherwise local models, run in the supervised model process (pool.py).

The deterministic and remote pools stay in the host: they run no native code.
"""

import os
from collections.abc import Callable
from typing import Protocol

from spin_py.capabilities.llm.compute import llm_compute
from spin_py.capabilities.llm.engines.base import EmbeddingsResult, InferencingParams, InferencingResult
from spin_py.runtime_config import RuntimeConfig


class ModelPool(Protocol):
    def infer(self, model: str, prompt: str, params: InferencingParams,
              cancelled: Callable[[], bool] | None = None) -> InferencingResult:
        """The continuation of ``prompt``; LlmError with Spin's variants. ``cancelled()``, when given, is
        true once the caller's client has left: a pool that can stop a generation then stops it.
        The result's ``host_timings`` are the host's (pool.py), or None."""

    def generate_embeddings(self, model: str, texts: list[str]) -> EmbeddingsResult:
        """One vector per text; LlmError with Spin's variants."""

    def describe(self, model: str, kind: str) -> str:
        """One line for `spin-py models`: where ``model`` comes from, or why there is none."""

    def close(self) -> None:
        """Let go of models, processes and connections."""


def make_model_pool(ai_engine: str, runtime_config: RuntimeConfig | None, state_dir: str | os.PathLike[str],
                    stand_ins: bool, log: Callable[[str], None]) -> ModelPool:
    """The pool for `--ai-engine` (``models`` or ``deterministic``) and the runtime config's `[llm_compute]`."""
    if ai_engine == "deterministic":
        from spin_py.capabilities.llm.deterministic import DeterministicPool

        return DeterministicPool()
    compute = llm_compute(runtime_config) if runtime_config else None
    if compute and compute.type == "remote_http":
        from spin_py.capabilities.llm.engines.remote import RemoteEngine

        assert compute.url is not None and compute.auth_token is not None  # llm_compute requires both
        return RemoteEngine(compute.url, compute.auth_token, compute.api_type)
    from spin_py.capabilities.llm.pool import LocalModelPool

    return LocalModelPool(state_dir, stand_ins=stand_ins, log=log)
