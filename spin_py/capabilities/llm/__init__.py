"""Serverless AI in the host: the `ai_models` permission check and the calls.

Like Spin's factor-llm: the allowed models of each component are worked out
once per manifest load; every call is checked against the calling component
(known from its channel) before any engine is touched. Calls, as they cross
the channel (plain JSON):

  ``infer``               ``{"model", "prompt", "params": {max_tokens, repeat_penalty,
                          repeat_penalty_last_n_token_count, temperature, top_k, top_p} | null}``
                          -> ``{"text", "usage": {"prompt_token_count", "generated_token_count"}}``
  ``generate_embeddings`` ``{"model", "texts": [str, ...]}``
                          -> ``{"embeddings": [[float, ...], ...], "usage": {"prompt_token_count"}}``

Errors are LlmError with Spin's variants (ModelNotSupported, RuntimeError, InvalidInput).
"""

import threading
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path
from typing import Any, ClassVar

from spin_py import observe
from spin_py.capabilities.llm.compute import LlmCompute, llm_compute
from spin_py.capabilities.llm.engines.base import INVALID_INPUT, RUNTIME_ERROR, InferencingParams, LlmError
from spin_py.capabilities.llm.pools import ModelPool
from spin_py.capabilities.seam import AppContext, Args, Flag, HostContext, HostFunction, HostFunctions, Instance
from spin_py.runtime_config import RuntimeConfig

NAME = "llm"


def access_denied(model: object) -> str:
    """Spin's text, word for word (crates/factor-llm/src/host.rs)."""
    return (
        f"The component does not have access to use '{model}'. To give the component access, "
        f"add '{model}' to the 'ai_models' key for the component in your spin.toml manifest"
    )


_PARAM_RULES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "max_tokens": (lambda v: v >= 0, "must be 0 or more"),
    "repeat_penalty": (lambda v: v > 0, "must be greater than 0"),
    "repeat_penalty_last_n_token_count": (lambda v: v >= 0, "must be 0 or more"),
    "temperature": (lambda v: v >= 0, "must be 0 or more"),
    "top_k": (lambda v: v >= 0, "must be 0 or more"),
    "top_p": (lambda v: 0 <= v <= 1, "must be between 0 and 1"),
}


def parse_params(raw: dict[str, Any] | None) -> InferencingParams:
    """InferencingParams from the guest's dict (None: Spin's defaults); InvalidInput names a bad param."""
    if raw is None:
        return InferencingParams()
    values: dict[str, Any] = {}
    for field in fields(InferencingParams):
        value = raw.get(field.name, field.default)
        is_int = field.type in (int, "int")
        is_number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if not is_number or (is_int and value != int(value)):
            raise LlmError(INVALID_INPUT, f"inferencing param {field.name} must be a number, got {value!r}")
        check, rule = _PARAM_RULES[field.name]
        if not check(value):
            raise LlmError(INVALID_INPUT, f"inferencing param {field.name} {rule}, got {value}")
        values[field.name] = int(value) if is_int else float(value)
    return InferencingParams(**values)


def _client_gone(instance: Instance) -> Callable[[], bool] | None:
    """``() -> bool``: has the HTTP client of the instance's request gone away? None when it has
    none (a Redis message, a chained request, work spawned after the response): a generation then
    runs to its end. A generation holds one of its model's few sequences, so one whose client
    left is stopped. (The request's worker sets it: spin_py/host/worker.py.)"""
    return instance.client_gone


class LlmCapability:
    """Serverless AI for one `spin-py up`: the model pool lives here, made on the
    first AI call and kept across code edits and manifest edits, so models load
    once per session; a new `[llm_compute]` means a new pool."""

    name: ClassVar[str] = NAME
    host_fields: ClassVar[tuple[str, ...]] = ("ai_models",)
    flags: ClassVar[tuple[Flag, ...]] = ()

    def __init__(self, host: HostContext) -> None:
        self.host = host
        self._lock = threading.Lock()
        self._pool: ModelPool | None = None
        self._pool_key: tuple[LlmCompute, Path] | None = None  # what the pool was made for

    def configure(self, context: AppContext) -> "LlmAppCapability":
        app, runtime_config, state_dir = context.app, context.runtime_config, context.state_dir
        key = (llm_compute(runtime_config), Path(state_dir))
        with self._lock:
            if self._pool_key is not None and key != self._pool_key:
                if self._pool is not None:
                    self._pool.close()
                self._pool = None
                if key[0] != self._pool_key[0]:
                    self.host.say(f"{runtime_config.path}: [llm_compute] changed, models come from the new place")
            self._pool_key = key
        allowed = {component_id: frozenset(c.ai_models) for component_id, c in app.components.items()}
        return LlmAppCapability(allowed, lambda: self._model_pool(runtime_config, state_dir))

    def _model_pool(self, runtime_config: RuntimeConfig, state_dir: Path) -> ModelPool:
        with self._lock:
            if self._pool is None:
                from spin_py.capabilities.llm.pools import make_model_pool

                config = self.host.config
                ai_engine, stand_ins = (config.ai_engine, config.stand_ins) if config is not None else ("models", True)
                try:
                    self._pool = make_model_pool(ai_engine, runtime_config, state_dir, stand_ins, self.host.say)
                except ImportError as error:
                    raise LlmError(
                        RUNTIME_ERROR,
                        f"Serverless AI needs spin-py's llm extra (missing {error.name}): pip install 'spin-py[llm]'",
                    ) from None
            return self._pool

    def close(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.close()
            self._pool = None


class LlmAppCapability(HostFunctions):
    """The `ai_models` of one loaded manifest, checked on every call (crates/factor-llm/src/host.rs)."""

    def __init__(self, allowed: dict[str, frozenset[str]], pool: Callable[[], ModelPool]) -> None:
        """``pool()`` returns the shared model pool."""
        self.allowed = allowed
        self.pool = pool

    def startup_lines(self) -> list[str]:
        return []

    def close(self) -> None:
        pass

    def unknown_function(self, function: str) -> LlmError:
        return LlmError(INVALID_INPUT, f"unknown llm function '{function}'")

    def _model(self, instance: Instance, args: Args) -> str:
        """The model asked for, once the component may use it: the check comes before any engine is touched."""
        model = args.get("model")
        if not isinstance(model, str) or model not in self.allowed.get(instance.component_id, ()):
            raise LlmError(INVALID_INPUT, access_denied(model))
        return model

    def infer(self, instance: Instance, args: Args) -> dict[str, Any]:
        model = self._model(instance, args)
        prompt = args.get("prompt")
        if not isinstance(prompt, str):
            raise LlmError(INVALID_INPUT, "the prompt must be a string")
        result = self.pool().infer(model, prompt, parse_params(args.get("params")), _client_gone(instance))
        observe.llm_timings(result.host_timings)  # time queued and to the first token, for telemetry and the inspector
        return {
            "text": result.text,
            "usage": {
                "prompt_token_count": result.prompt_token_count,
                "generated_token_count": result.generated_token_count,
            },
        }

    def generate_embeddings(self, instance: Instance, args: Args) -> dict[str, Any]:
        model = self._model(instance, args)
        texts = args.get("texts")
        if not isinstance(texts, list) or not all(isinstance(text, str) for text in texts):
            raise LlmError(INVALID_INPUT, "the texts to embed must be a list of strings")
        result = self.pool().generate_embeddings(model, texts)
        observe.llm_timings(result.host_timings)
        return {"embeddings": result.embeddings, "usage": {"prompt_token_count": result.prompt_token_count}}

    functions: ClassVar[dict[str, HostFunction]] = {"infer": infer, "generate_embeddings": generate_embeddings}

