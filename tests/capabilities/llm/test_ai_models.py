"""Serverless AI end to end with the real packaged models: `spin-py up`, an app
with two components (one with access, one without), and a remote engine."""

import json
import sys

from apps import component, manifest, sdk3_python, write_app
from live import free_port, run_cli, running_server

from spin_py.capabilities.llm import packaged

APP = """
    import json
    from spin_sdk import llm
    from spin_sdk.http import IncomingHandler, Request, Response
    from spin_sdk.wit.types import Err

    class IncomingHandler(IncomingHandler):
        def handle_request(self, request: Request) -> Response:
            try:
                if request.uri.endswith("/embed"):
                    result = llm.generate_embeddings("all-minilm-l6-v2", ["hat", "cat"])
                    out = {"dims": len(result.embeddings[0]), "tokens": result.usage.prompt_token_count}
                else:
                    params = llm.InferencingParams(max_tokens=6, temperature=0.0)
                    result = llm.infer_with_options("llama2-chat", "The capital of France is", params)
                    out = {"text": result.text, "usage": [result.usage.prompt_token_count, result.usage.generated_token_count]}
            except Err as error:
                out = {"error": type(error.value).__name__, "value": getattr(error.value, "value", None)}
            return Response(200, {"content-type": "application/json"}, json.dumps(out).encode())
"""


def write(tmp_path):
    return write_app(
        tmp_path,
        manifest(
            component("writer", route="/writer/...", extra='ai_models = ["llama2-chat", "all-minilm-l6-v2"]'),
            component("reader", route="/reader/..."),
        ),
        {"app.py": APP},
    )


def get_json(server, path):
    status, _, body = server.get(path)
    assert status == 200, body
    return json.loads(body)


def test_real_models_with_permissions_per_component(tmp_path, spin_up):
    server = spin_up(write(tmp_path), "--python", str(sdk3_python()))
    first = get_json(server, "/writer/infer")
    assert first["text"].strip() and first["usage"][1] == 6  # the stand-in's chat answer
    assert get_json(server, "/writer/infer") == first  # temperature 0
    assert get_json(server, "/writer/embed") == {"dims": 384, "tokens": 6}
    denied = get_json(server, "/reader/infer")
    assert denied["error"] == "Error_InvalidInput"
    assert denied["value"].startswith("The component does not have access to use 'llama2-chat'.")
    output = server.output()
    assert output.count("as a stand-in for 'llama2-chat'") == 1
    assert output.count("Loaded llama2-chat from ") == 1 and output.count("Loaded all-minilm-l6-v2 from ") == 1


def test_remote_engine_through_the_runtime_config(tmp_path, spin_up):
    port = free_port()
    command = [sys.executable, "-m", "spin_py", "models", "serve", "--listen", f"127.0.0.1:{port}", "--token", "right",
               "--state-dir", str(tmp_path / "shared")]
    shared = tmp_path / "shared" / "ai-models"
    shared.mkdir(parents=True)
    (shared / "llama2-chat").symlink_to(packaged.smollm2_file())  # a real model there: the raw prompt
    with running_server(command, port, tmp_path / "models.log") as url:
        path = write(tmp_path / "app")
        good = tmp_path / "good.toml"
        good.write_text(f'[llm_compute]\ntype = "remote_http"\nurl = "{url}"\nauth_token = "right"\n')
        server = spin_up(path, "--python", str(sdk3_python()), "--runtime-config-file", str(good))
        assert "Paris" in get_json(server, "/writer/infer")["text"]
        assert "Loaded" not in server.output()  # the models live in the other process

        bad = tmp_path / "bad.toml"
        bad.write_text(f'[llm_compute]\ntype = "remote_http"\nurl = "{url}"\nauth_token = "wrong"\n')
        server = spin_up(path, "--python", str(sdk3_python()), "--runtime-config-file", str(bad))
        failed = get_json(server, "/writer/infer")
        assert failed["error"] == "Error_RuntimeError" and "401" in failed["value"]
        assert get_json(server, "/reader/infer")["error"] == "Error_InvalidInput"  # still serving


def test_runtime_config_mistakes_are_one_line(tmp_path):
    path = write(tmp_path)
    config = tmp_path / "runtime.toml"
    config.write_text('[llm_compute]\ntype = "gpu"\n')
    result = run_cli("up", "-f", str(path), "--listen", "127.0.0.1:0", "--runtime-config-file", str(config))
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "runtime.toml: llm_compute.type" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_models_command_says_where_each_model_comes_from(tmp_path):
    path = write(tmp_path)
    result = run_cli("models", "-f", str(path))
    assert result.returncode == 0, result.stderr
    assert "llama2-chat (inferencing): stand-in, llama.cpp" in result.stdout
    assert "all-minilm-l6-v2 (embeddings): packaged, bert" in result.stdout
    result = run_cli("models", "-f", str(path), "--no-stand-ins")
    assert "no model found for 'llama2-chat'" in result.stdout


# Spin's old-sdk examples/llm/app.py, word for word but the JSON answer.
JOKE_APP = """
    import json
    from spin_http import Response
    from spin_llm import llm_infer

    def handle_request(request):
        prompt="You are a stand up comedy writer. Tell me a joke."
        result=llm_infer("llama2-chat", prompt)
        out = {"text": result.text, "usage": [result.usage.prompt_token_count, result.usage.generated_token_count]}
        return Response(200, {"content-type": "application/json"}, bytes(json.dumps(out), "utf-8"))
"""


def test_spins_llm_example_gets_a_joke_from_the_stand_in(tmp_path, spin_up):
    path = write_app(tmp_path, manifest(component("joke", route="/...", extra='ai_models = ["llama2-chat"]')),
                     {"app.py": JOKE_APP})
    server = spin_up(path)
    answer = get_json(server, "/")
    assert answer["text"].strip() and answer["usage"][1] > 0
    assert "answers through its own chat template" in server.output()
