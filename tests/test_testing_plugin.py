"""The pytest plugin users get with spin-py: the `spin_app` fixture and the permission assertion."""

from pathlib import Path

import pytest
from apps import component, manifest, sdk3_python, write_app

from spin_py.testing import assert_permission_error, permission_error_text

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

ASKS_FOR_A_MODEL = """
    from spin_sdk import llm
    from spin_sdk.http import IncomingHandler, Request, Response
    from spin_sdk.wit.types import Err

    class IncomingHandler(IncomingHandler):
        def handle_request(self, request: Request) -> Response:
            try:
                result = llm.infer_with_options("llama2-chat", "why is the sky blue", llm.InferencingParams(max_tokens=3))
            except Err as error:
                return Response(500, {"content-type": "text/plain"}, error.value.value.encode())
            return Response(200, {"content-type": "text/plain"}, result.text.encode())
"""


def test_spin_app_serves_an_example(spin_app, tmp_path):
    app = spin_app(EXAMPLES / "hello", python=sdk3_python(), state_dir=tmp_path)
    response = app.get("/hello")
    assert (response.status, response.text) == (200, "Hello from Python!\n")
    assert app.post("/hello/json", data="abc").json()["body-bytes"] == 3


def test_permission_errors_and_the_deterministic_engine(spin_app, tmp_path):
    path = write_app(
        tmp_path,
        manifest(
            component("with-access", route="/with", extra='ai_models = ["llama2-chat"]'),
            component("without-access", route="/without"),
        ),
        {"app.py": ASKS_FOR_A_MODEL},
    )
    app = spin_app(path, python=sdk3_python())
    assert app.get("/with").text == "echo: why is"
    denied = app.get("/without")
    assert denied.status == 500
    assert_permission_error(denied, "llama2-chat")
    with pytest.raises(AssertionError):
        assert_permission_error(app.get("/with"), "llama2-chat")
    assert permission_error_text("m").startswith("The component does not have access to use 'm'.")
