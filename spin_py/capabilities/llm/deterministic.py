"""A model pool with no models: fixed, repeatable answers in microseconds, for
testing an app's own logic and its permission errors (`spin-py up --ai-engine
deterministic`, and the pytest fixture). A ModelPool (pools.py).

infer: the prompt echoed back (``echo: <prompt>``), cut to ``max_tokens``
words; embeddings: 384 numbers derived from a hash of each text, L2-normalized,
so equal texts get equal vectors and different texts different ones.
"""

import hashlib
import math
import struct
from collections.abc import Callable

from spin_py.capabilities.llm.engines.base import EmbeddingsResult, InferencingParams, InferencingResult

DIMENSIONS = 384


def _vector(text: str) -> list[float]:
    numbers: list[float] = []
    counter = 0
    while len(numbers) < DIMENSIONS:
        digest = hashlib.sha256(f"{counter}:{text}".encode()).digest()
        numbers.extend(value / 2**31 - 1.0 for value in struct.unpack(">8I", digest))
        counter += 1
    numbers = numbers[:DIMENSIONS]
    norm = math.sqrt(sum(n * n for n in numbers)) or 1.0
    return [n / norm for n in numbers]


class DeterministicPool:
    def infer(self, model: str, prompt: str, params: InferencingParams,
              cancelled: Callable[[], bool] | None = None) -> InferencingResult:
        words = f"echo: {prompt}".split()[: params.max_tokens]
        return InferencingResult(" ".join(words), len(prompt.split()), len(words))

    def generate_embeddings(self, model: str, texts: list[str]) -> EmbeddingsResult:
        return EmbeddingsResult([_vector(text) for text in texts], sum(len(text.split()) for text in texts))

    def describe(self, model: str, kind: str) -> str:
        return f"{model} ({kind}): deterministic, no model (echo answers, hash embeddings)"

    def close(self) -> None:
        """Nothing to let go of."""
