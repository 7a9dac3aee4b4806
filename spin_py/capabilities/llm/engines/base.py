"""The small interfaces of loaded models, after Spin's `LlmEngine`
(crates/llm-local): one model answers `infer`, or one model embeds texts; the
pool picks and loads them. (The remote engine is one object for every model,
so its calls take the model name too.) Values are plain dataclasses; errors
are LlmError with Spin's WIT error variants."""

from dataclasses import dataclass, field
from typing import Protocol

from spin_py.capabilities.errors import CapabilityError

MODEL_NOT_SUPPORTED = "ModelNotSupported"
RUNTIME_ERROR = "RuntimeError"
INVALID_INPUT = "InvalidInput"


class LlmError(CapabilityError):
    """``kind`` is one of Spin's llm error variants; ``message`` its text."""


@dataclass(frozen=True)
class InferencingParams:
    """Spin's defaults (crates/world: InferencingParams::default)."""

    max_tokens: int = 100
    repeat_penalty: float = 1.1
    repeat_penalty_last_n_token_count: int = 64
    temperature: float = 0.8
    top_k: int = 40
    top_p: float = 0.9


@dataclass
class InferencingResult:
    text: str
    prompt_token_count: int
    generated_token_count: int


@dataclass
class EmbeddingsResult:
    embeddings: list = field(default_factory=list)  # list[list[float]]
    prompt_token_count: int = 0


class InferencingModel(Protocol):
    """llama.cpp or transformers, one model."""

    def infer(self, prompt: str, params: InferencingParams) -> InferencingResult: ...


class EmbeddingsModel(Protocol):
    """One embeddings model; the pool batches requests and splits the answer per caller."""

    def generate_embeddings(self, texts: list) -> tuple:
        """``(vectors, real token count per text)``."""
