"""One place picks the model pool: --ai-engine, then the runtime config's [llm_compute]."""

import inspect

from spin_py.capabilities.llm.deterministic import DeterministicPool
from spin_py.capabilities.llm.engines.remote import RemoteEngine
from spin_py.capabilities.llm.pool import LocalModelPool
from spin_py.capabilities.llm.pools import ModelPool, make_model_pool
from spin_py.runtime_config import load_runtime_config


def remote_config(tmp_path):
    path = tmp_path / "runtime.toml"
    path.write_text('[llm_compute]\ntype = "remote_http"\nurl = "http://127.0.0.1:9/models"\nauth_token = "t"\n')
    return load_runtime_config(path)


def test_each_engine_choice_makes_its_pool(tmp_path):
    quiet = lambda line: None  # noqa: E731
    assert isinstance(make_model_pool("deterministic", remote_config(tmp_path), tmp_path, True, quiet), DeterministicPool)
    remote = make_model_pool("models", remote_config(tmp_path), tmp_path, True, quiet)
    assert isinstance(remote, RemoteEngine) and remote.url == "http://127.0.0.1:9/models"
    assert remote.describe("llama2-chat", "inferencing") == "llama2-chat (inferencing): remote, default API, http://127.0.0.1:9/models"
    local = make_model_pool("models", None, tmp_path, False, quiet)
    assert isinstance(local, LocalModelPool) and local.stand_ins is False
    local.close()
    assert local.process.pid is None  # no model process is started until a model is used


def test_every_pool_has_the_protocols_methods():
    wanted = {name for name, _ in inspect.getmembers(ModelPool, inspect.isfunction) if not name.startswith("_")}
    assert wanted == {"infer", "generate_embeddings", "describe", "close"}
    for pool in (DeterministicPool, RemoteEngine, LocalModelPool):
        for name in wanted:
            ours = inspect.signature(getattr(pool, name))
            assert list(ours.parameters) == list(inspect.signature(getattr(ModelPool, name)).parameters), (pool, name)
