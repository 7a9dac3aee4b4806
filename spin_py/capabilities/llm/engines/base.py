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


@dataclass(frozen=True)
class HostTimings:
    """How long one call waited in the model process, for the host's telemetry (seconds, measured
    there from the call's arrival; the hop from the host, well under a millisecond, is not counted).

    ``queued``: until the model began on the call: an infer call until its sequence started (it
    waits for a free sequence and for the decode step in progress), an embedding request until
    its batch was taken. ``first_token``: an infer call until its first token was sampled (its
    prompt evaluated, and the model loaded if this call loaded it); None for embeddings, and for an
    infer call that generates nothing (max_tokens 0) or whose engine does not say.
    """

    queued: float
    first_token: float | None = None


@dataclass
class InferencingResult:
    """``host_timings`` is the host's alone: the guest's answer is built from the other fields by
    name (spin_py/capabilities/llm/__init__.py), and results compare without it."""

    text: str
    prompt_token_count: int
    generated_token_count: int
    host_timings: HostTimings | None = field(default=None, compare=False, repr=False, kw_only=True)


@dataclass
class EmbeddingsResult:
    """``host_timings`` as InferencingResult's: never sent to the guest."""

    embeddings: list[list[float]] = field(default_factory=list)
    prompt_token_count: int = 0
    host_timings: HostTimings | None = field(default=None, compare=False, repr=False, kw_only=True)


class InferencingModel(Protocol):
    """llama.cpp or transformers, one model."""

    def infer(self, prompt: str, params: InferencingParams) -> InferencingResult: ...


class EmbeddingsModel(Protocol):
    """One embeddings model; the pool batches requests and splits the answer per caller."""

    def generate_embeddings(self, texts: list[str]) -> tuple[list[list[float]], list[int]]:
        """``(vectors, real token count per text)``."""
