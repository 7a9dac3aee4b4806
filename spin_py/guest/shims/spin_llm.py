"""The original Spin Python API's `spin_llm` module (spin-python-sdk before
PyPI, as in Spin's Serverless AI guide): ``llm_infer`` and
``generate_embeddings``. Failures raise an exception whose message is the
error text, as the old SDK did."""

from typing import Any

from spin_py_guest import host, llm


class LLMInferencingParams:
    def __init__(
        self,
        max_tokens=100,
        repeat_penalty=1.1,
        repeat_penalty_last_n_token_count=64,
        temperature=0.8,
        top_k=40,
        top_p=0.9,
    ) -> None:
        self.max_tokens = max_tokens
        self.repeat_penalty = repeat_penalty
        self.repeat_penalty_last_n_token_count = repeat_penalty_last_n_token_count
        self.temperature = temperature
        self.top_k = top_k
        self.top_p = top_p


class LLMInferencingUsage:
    def __init__(self, prompt_token_count, generated_token_count) -> None:
        self.prompt_token_count = prompt_token_count
        self.generated_token_count = generated_token_count


class LLMInferencingResult:
    def __init__(self, text, usage) -> None:
        self.text = text
        self.usage = usage


class LLMEmbeddingsUsage:
    def __init__(self, prompt_token_count) -> None:
        self.prompt_token_count = prompt_token_count


class LLMEmbeddingsResult:
    def __init__(self, embeddings, usage) -> None:
        self.embeddings = embeddings
        self.usage = usage


LLMEmbeddingResult = LLMEmbeddingsResult  # the old SDK's class name


class LLMError(Exception):
    """Raised for every failure; ``kind`` tells which (InvalidInput, ModelNotSupported, RuntimeError)."""

    def __init__(self, kind, message) -> None:
        super().__init__(message or kind)
        self.kind = kind


def llm_infer(model: str, prompt: str, options: Any = None) -> "LLMInferencingResult":
    try:
        value = llm.infer(model, prompt, options)
    except host.HostError as error:
        raise LLMError(error.kind, error.message) from None
    usage = value["usage"]
    return LLMInferencingResult(
        value["text"], LLMInferencingUsage(usage["prompt_token_count"], usage["generated_token_count"])
    )


def generate_embeddings(model: str, texts: Any) -> "LLMEmbeddingsResult":
    try:
        value = llm.generate_embeddings(model, texts)
    except host.HostError as error:
        raise LLMError(error.kind, error.message) from None
    return LLMEmbeddingsResult(value["embeddings"], LLMEmbeddingsUsage(value["usage"]["prompt_token_count"]))
