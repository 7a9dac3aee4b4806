"""Serverless AI for the app's real spin-sdk: its generated llm interfaces
forward to the host's `llm` capability, with results and errors as the SDK's
own types."""

from typing import Any

from .. import host, llm
from .variants import variant


def _llm_error(module, error) -> Any:
    if error.kind == "ModelNotSupported":
        return module.Err(variant(module, "ModelNotSupported"))
    if error.kind == "InvalidInput":
        return module.Err(variant(module, "InvalidInput", error.message))
    return module.Err(variant(module, "RuntimeError", error.message))


def bind_llm(module) -> None:
    """``module``: a generated llm interface (spin-sdk 2/3 ``llm``, 4/5 ``fermyon_spin_llm_2_0_0``...)."""

    def infer(model, prompt, params=None) -> Any:
        try:
            value = llm.infer(model, prompt, params)
        except host.HostError as error:
            raise _llm_error(module, error) from None
        usage = value["usage"]
        return module.InferencingResult(
            value["text"], module.InferencingUsage(usage["prompt_token_count"], usage["generated_token_count"])
        )

    def generate_embeddings(model, text) -> Any:
        try:
            value = llm.generate_embeddings(model, text)
        except host.HostError as error:
            raise _llm_error(module, error) from None
        return module.EmbeddingsResult(value["embeddings"], module.EmbeddingsUsage(value["usage"]["prompt_token_count"]))

    module.infer = infer
    module.generate_embeddings = generate_embeddings


BINDINGS = {
    "spin_sdk.wit.imports.llm": bind_llm,  # spin-sdk 2.x, 3.x
    "spin_sdk.wit.imports.fermyon_spin_llm": bind_llm,  # spin-sdk 4.x, 5.x: llm v1
    "spin_sdk.wit.imports.fermyon_spin_llm_2_0_0": bind_llm,  # spin-sdk 4.x, 5.x: llm v2
}
