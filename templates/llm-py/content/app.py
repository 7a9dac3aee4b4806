"""A completion endpoint: POST a prompt, get the model's answer as JSON.

The body is the prompt as plain text, or JSON: {"prompt": "...", "max_tokens": 64,
"temperature": 0.2} (both settings optional). GET answers with how to use it.
"""

import json

from spin_sdk import llm
from spin_sdk.http import IncomingHandler, Request, Response
from spin_sdk.llm import InferencingParams
from spin_sdk.wit.types import Err

MODEL = "llama2-chat"  # must be listed in the component's `ai_models` in spin.toml
MAX_TOKENS = {{ max-tokens }}
TEMPERATURE = {{ temperature }}


def json_response(status, body, headers=None):
    return Response(status, {"content-type": "application/json", **(headers or {})}, json.dumps(body).encode("utf-8"))


def endpoint_url(request):
    # Spin gives the URL the client asked for in spin-full-url; the query is not part of the endpoint.
    return (request.headers.get("spin-full-url") or request.uri).split("?", 1)[0]


def usage(request):
    """What a browser or a bare `curl` on the endpoint sees: how to ask it something."""
    url = endpoint_url(request)
    example = json.dumps({"prompt": "Name three colours", "max_tokens": 16, "temperature": 0})
    lines = [
        f"This endpoint completes text with the {MODEL} model. POST a prompt as the request body:",
        "",
        f"  curl -d 'Write a haiku about WebAssembly' {url}",
        "",
        f"or as JSON, with the settings (max_tokens defaults to {MAX_TOKENS}, temperature to {TEMPERATURE}):",
        "",
        f"  curl -H 'content-type: application/json' -d '{example}' {url}",
        "",
        'The answer is JSON: "text" is the completion, "usage" counts the tokens.',
    ]
    return Response(200, {"content-type": "text/plain; charset=utf-8"}, "\n".join(lines + [""]).encode("utf-8"))


def read_request(request):
    """(prompt, InferencingParams) from the body; ValueError says what is wrong with it."""
    text = (request.body or b"").decode("utf-8", errors="replace")
    max_tokens, temperature = MAX_TOKENS, TEMPERATURE
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise ValueError(f"the body is not valid JSON: {error}") from None
        if not isinstance(data, dict) or not isinstance(data.get("prompt"), str):
            raise ValueError('a JSON body needs a "prompt" string')
        text = data["prompt"]
        max_tokens = data.get("max_tokens", max_tokens)
        temperature = data.get("temperature", temperature)
        if not isinstance(max_tokens, int) or max_tokens < 1:
            raise ValueError('"max_tokens" must be a positive whole number')
        if not isinstance(temperature, (int, float)) or temperature < 0:
            raise ValueError('"temperature" must be a number, 0 or more')
    if not text.strip():
        raise ValueError("the prompt is empty: POST it as the request body")
    return text, InferencingParams(max_tokens=max_tokens, temperature=float(temperature))


def describe(error):
    """Spin's llm errors: ModelNotSupported, RuntimeError(message), InvalidInput(message)."""
    kind = type(error).__name__.removeprefix("Error_")
    message = getattr(error, "value", None)
    return f"{kind}: {message}" if message else kind


class IncomingHandler(IncomingHandler):
    def handle_request(self, request: Request) -> Response:
        if request.method == "GET":
            return usage(request)
        if request.method != "POST":
            return json_response(405, {"error": "POST a prompt as the request body"}, {"allow": "GET, POST"})
        try:
            prompt, params = read_request(request)
        except ValueError as error:
            return json_response(400, {"error": str(error)})
        try:
            result = llm.infer_with_options(MODEL, prompt, params)
        except Err as error:
            return json_response(500, {"error": describe(error.value)})
        return json_response(200, {
            "model": MODEL,
            "text": result.text.strip(),
            "usage": {
                "prompt_tokens": result.usage.prompt_token_count,
                "generated_tokens": result.usage.generated_token_count,
            },
        })
