"""Serverless AI configured from a loaded manifest and called through an Instance, as
Spin's crates/factor-llm/tests/factor_test.rs does with its fake engine: the `ai_models`
check before any engine is touched (Spin's text), the deterministic engine's answers,
and the runtime config's [llm_compute] read by the capability with the file and key
named. No model is loaded."""

import pytest
from capability_unit import http_component

from spin_py.capabilities.llm import LlmCapability, access_denied
from spin_py.runtime_config import RuntimeConfigError

COMPONENTS = http_component("web", 'ai_models = ["llama2-chat", "all-minilm-l6-v2"]') + http_component("other")


def test_a_model_the_component_does_not_list_is_refused_with_spins_text(configure_capability) -> None:
    configured = configure_capability(LlmCapability, COMPONENTS, ai_engine="deterministic")
    refused = configured.error(configured.instance("other"), "infer", model="llama2-chat", prompt="hi", params=None)
    assert (refused.kind, refused.message) == ("InvalidInput", access_denied("llama2-chat"))
    assert refused.message == (
        "The component does not have access to use 'llama2-chat'. To give the component access, "
        "add 'llama2-chat' to the 'ai_models' key for the component in your spin.toml manifest"
    )


def test_the_deterministic_engine_answers(configure_capability) -> None:
    configured = configure_capability(LlmCapability, COMPONENTS, ai_engine="deterministic")
    web = configured.instance("web")
    answer = configured.call(web, "infer", model="llama2-chat", prompt="Tell me a joke", params=None)
    assert answer["text"] == "echo: Tell me a joke"
    vectors = configured.call(web, "generate_embeddings", model="all-minilm-l6-v2", texts=["a", "b"])
    assert len(vectors["embeddings"]) == 2
    bad = configured.error(web, "infer", model="llama2-chat", prompt="x", params={"top_p": 2})
    assert (bad.kind, bad.message) == ("InvalidInput", "inferencing param top_p must be between 0 and 1, got 2")
    assert configured.error(web, "summarize", model="llama2-chat").message == "unknown llm function 'summarize'"


def test_llm_compute_is_the_capabilitys_own_table(configure_capability) -> None:
    with pytest.raises(RuntimeConfigError) as caught:
        configure_capability(LlmCapability, COMPONENTS, '[llm_compute]\ntype = "gpu"\n')
    assert str(caught.value).endswith('runtime-config.toml: llm_compute.type: expected "spin" or "remote_http", found \'gpu\'')
    with pytest.raises(RuntimeConfigError) as caught:
        configure_capability(LlmCapability, COMPONENTS, '[llm_compute]\ntype = "remote_http"\nurl = "ftp://x"\nauth_token = "t"\n')
    assert str(caught.value).endswith("llm_compute.url: must be an http:// or https:// URL, found 'ftp://x'")
