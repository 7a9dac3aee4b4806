"""Serverless AI calls from every SDK style, checked against `ai_models` in the
host, answered here by the deterministic engine (the real models are tested
in the llm tests and in test_ai_models.py)."""

import json

from apps import component, manifest, sdk3_python, sdk5_python, write_app

DENIED = (
    "The component does not have access to use '{m}'. To give the component access, "
    "add '{m}' to the 'ai_models' key for the component in your spin.toml manifest"
)

SDK3_APP = """
    import json
    from spin_sdk import llm
    from spin_sdk.http import IncomingHandler, Request, Response
    from spin_sdk.wit.types import Err

    def describe_error(error):
        return {"error": type(error.value).__name__, "value": getattr(error.value, "value", None)}

    class IncomingHandler(IncomingHandler):
        def handle_request(self, request: Request) -> Response:
            what = request.uri.rsplit("/", 1)[1]
            try:
                if what == "infer":
                    result = llm.infer("llama2-chat", "tell me a joke")
                    out = {"text": result.text, "usage": [result.usage.prompt_token_count, result.usage.generated_token_count]}
                elif what == "options":
                    result = llm.infer_with_options("llama2-chat", "one two three four", llm.InferencingParams(max_tokens=2))
                    out = {"text": result.text, "usage": [result.usage.prompt_token_count, result.usage.generated_token_count]}
                elif what == "zero":
                    out = {"text": llm.infer_with_options("llama2-chat", "x", llm.InferencingParams(max_tokens=0)).text}
                elif what == "bad-temperature":
                    llm.infer_with_options("llama2-chat", "x", llm.InferencingParams(temperature=-1))
                elif what == "bad-top-p":
                    llm.infer_with_options("llama2-chat", "x", llm.InferencingParams(top_p=1.5))
                elif what == "embed":
                    result = llm.generate_embeddings("all-minilm-l6-v2", ["hat", "cat"])
                    out = {"count": len(result.embeddings), "dims": len(result.embeddings[0]), "usage": result.usage.prompt_token_count}
                elif what == "embed-none":
                    out = {"count": len(llm.generate_embeddings("all-minilm-l6-v2", []).embeddings)}
                elif what == "other-model":
                    llm.infer("codellama-instruct", "x")
            except Err as error:
                out = describe_error(error)
            return Response(200, {"content-type": "application/json"}, json.dumps(out).encode())
"""

SDK5_APP = """
    import json
    from componentize_py_types import Err
    from spin_sdk import llm
    from spin_sdk.http import Handler, Request, Response

    class HttpHandler(Handler):
        async def handle_request(self, request: Request) -> Response:
            try:
                if request.uri.endswith("/embed"):
                    result = llm.generate_embeddings("all-minilm-l6-v2", ["hat"])
                    out = {"dims": len(result.embeddings[0])}
                else:
                    result = llm.infer_with_options("llama2-chat", "hello there", llm.InferencingParams(max_tokens=5))
                    out = {"text": result.text, "generated": result.usage.generated_token_count}
            except Err as error:
                out = {"error": type(error.value).__name__, "value": getattr(error.value, "value", None)}
            return Response(200, {"content-type": "application/json"}, json.dumps(out).encode())
"""

ORIGINAL_APP = """
    import json
    from spin_http import Response
    from spin_llm import LLMInferencingParams, generate_embeddings, llm_infer

    def handle_request(request):
        try:
            if request.uri.endswith("/embed"):
                result = generate_embeddings("all-minilm-l6-v2", ["hat", "cat", "bat"])
                out = {"count": len(result.embeddings), "usage": result.usage.prompt_token_count}
            else:
                result = llm_infer("llama2-chat", "one two three", LLMInferencingParams(max_tokens=3))
                out = {"text": result.text, "generated": result.usage.generated_token_count}
        except Exception as error:
            out = {"exception": type(error).__name__, "message": str(error)}
        return Response(200, {"content-type": "application/json"}, bytes(json.dumps(out), "utf-8"))
"""

ALLOWED = 'ai_models = ["llama2-chat", "all-minilm-l6-v2"]'


def start(tmp_path, spin_up, source, python, world="spin-http"):
    path = write_app(
        tmp_path,
        manifest(
            component("allowed", route="/allowed/...", extra=ALLOWED, world=world),
            component("denied", route="/denied/...", world=world),
        ),
        {"app.py": source},
    )
    args = ["--ai-engine", "deterministic"] + (["--python", str(python)] if python else [])
    return spin_up(path, *args)


def get_json(server, path):
    status, _, body = server.get(path)
    assert status == 200, body
    return json.loads(body)


def test_sdk3_calls_and_permissions(tmp_path, spin_up):
    server = start(tmp_path, spin_up, SDK3_APP, sdk3_python())
    assert get_json(server, "/allowed/infer") == {"text": "echo: tell me a joke", "usage": [4, 5]}
    assert get_json(server, "/allowed/options") == {"text": "echo: one", "usage": [4, 2]}
    assert get_json(server, "/allowed/zero") == {"text": ""}
    assert get_json(server, "/allowed/embed") == {"count": 2, "dims": 384, "usage": 2}
    assert get_json(server, "/allowed/embed-none") == {"count": 0}

    bad = get_json(server, "/allowed/bad-temperature")
    assert bad["error"] == "Error_InvalidInput" and "temperature" in bad["value"]
    bad = get_json(server, "/allowed/bad-top-p")
    assert bad["error"] == "Error_InvalidInput" and "top_p" in bad["value"]

    for what, model in [("infer", "llama2-chat"), ("embed", "all-minilm-l6-v2")]:
        assert get_json(server, f"/denied/{what}") == {"error": "Error_InvalidInput", "value": DENIED.format(m=model)}
    # Listed models only: another model is denied to the allowed component too.
    assert get_json(server, "/allowed/other-model") == {
        "error": "Error_InvalidInput",
        "value": DENIED.format(m="codellama-instruct"),
    }


def test_sdk5_calls_and_permissions(tmp_path, spin_up):
    server = start(tmp_path, spin_up, SDK5_APP, sdk5_python(), world="spin:up/http-trigger@4.0.0")
    assert get_json(server, "/allowed/x") == {"text": "echo: hello there", "generated": 3}
    assert get_json(server, "/allowed/embed") == {"dims": 384}
    assert get_json(server, "/denied/x") == {"error": "Error_InvalidInput", "value": DENIED.format(m="llama2-chat")}


def test_original_api_calls_and_permissions(tmp_path, spin_up):
    server = start(tmp_path, spin_up, ORIGINAL_APP, None)
    assert get_json(server, "/allowed/x") == {"text": "echo: one two", "generated": 3}
    assert get_json(server, "/allowed/embed") == {"count": 3, "usage": 3}
    assert get_json(server, "/denied/embed") == {
        "exception": "LLMError",
        "message": DENIED.format(m="all-minilm-l6-v2"),
    }
