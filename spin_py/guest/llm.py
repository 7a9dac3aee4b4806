"""Serverless AI calls from the guest: every SDK's binding comes here, and
this forwards to the host, which checks the component's `ai_models`."""

from collections.abc import Iterable
from typing import Any

from . import host

PARAM_NAMES = (
    "max_tokens",
    "repeat_penalty",
    "repeat_penalty_last_n_token_count",
    "temperature",
    "top_k",
    "top_p",
)


def params_dict(params: Any) -> dict[str, Any] | None:
    """Any SDK's params object (an instance, or spin-sdk 3's class itself) as a dict; None stays None."""
    if params is None:
        return None
    return {name: getattr(params, name) for name in PARAM_NAMES}


def infer(model: str, prompt: str, params: Any = None) -> Any:
    """``{"text", "usage": {...}}``; raises host.HostError."""
    return host.call("llm", "infer", {"model": model, "prompt": prompt, "params": params_dict(params)})


def generate_embeddings(model: str, texts: Iterable[str]) -> Any:
    """``{"embeddings", "usage": {...}}``; raises host.HostError."""
    return host.call("llm", "generate_embeddings", {"model": model, "texts": list(texts)})
