"""The small interface every model engine implements, as Spin's `LlmEngine`
(crates/llm-local, crates/llm-remote-http) does: infer and generate
embeddings. Values are plain dataclasses; errors are LlmError with Spin's
WIT error variants."""

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


class InferencingEngine(Protocol):
    def infer(self, prompt: str, params: InferencingParams) -> InferencingResult: ...


class EmbeddingsEngine(Protocol):
    def generate_embeddings(self, texts: list) -> EmbeddingsResult: ...
