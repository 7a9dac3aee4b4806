"""The examples, through the pytest plugin users get (the `spin_app` fixture)."""

from pathlib import Path

from apps import sdk3_python

from spin_py.testing import assert_permission_error

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_permissions_example_with_the_real_models(spin_app, tmp_path):
    app = spin_app(EXAMPLES / "permissions", python=sdk3_python(), ai_engine="models", state_dir=tmp_path)
    allowed = app.get("/allowed")
    # The packaged stand-in answers for llama2-chat, through its chat template (so not "Paris.").
    assert allowed.status == 200 and allowed.text.strip()
    denied = app.get("/denied")
    assert denied.status == 403
    assert denied.text == "InvalidInput: " + (
        "The component does not have access to use 'llama2-chat'. To give the component access, "
        "add 'llama2-chat' to the 'ai_models' key for the component in your spin.toml manifest\n"
    )
    assert_permission_error(denied, "llama2-chat")


def test_serverless_ai_example_routes(spin_app, tmp_path):
    app = spin_app(EXAMPLES / "serverless-ai", python=sdk3_python(), state_dir=tmp_path)  # deterministic engine
    assert app.post("/joke", data="cats").json() == {
        "joke": "echo: Tell me a short joke about cats. Joke:",
        "tokens": 9,
    }
    assert app.post("/code", data="sort a list").json()["code"] == "echo: # Python # Task: sort a list"
    similar = app.post("/embeddings", json=["a", "a", "b"]).json()
    assert similar["dimensions"] == 384 and similar["similarity_to_first"][:2] == [1.0, 1.0]
    assert similar["similarity_to_first"][2] < 0.5
    assert app.post("/embeddings", data="not json").status == 500
    assert app.get("/nowhere").status == 404


def test_serverless_ai_example_embeddings_with_the_real_model(spin_app, tmp_path):
    app = spin_app(EXAMPLES / "serverless-ai", python=sdk3_python(), ai_engine="models", state_dir=tmp_path)
    alike = app.post("/embeddings", json=["A cat sat on the mat.", "A kitten rests on a rug.", "Stocks fell sharply."])
    first, cat, stocks = alike.json()["similarity_to_first"]
    assert first == 1.0 and cat > 0.5 > stocks
