"""`spin-py models serve`: one machine's model pool over HTTP, with Spin's own
remote protocol (the `default` api_type of `[llm_compute] type = "remote_http"`),
so several developers or many `spin-py up` share one set of loaded models.

POST /infer  {"model", "prompt", "options": {maxTokens, ...}} -> {"text", "usage": {promptTokenCount, generatedTokenCount}}
POST /embed  {"model", "input": [...]}                       -> {"embeddings", "usage": {promptTokenCount}}
Both need ``Authorization: bearer <token>``.
"""

import hmac
import json
from collections.abc import Iterable
from typing import Any

from werkzeug.wrappers import Request, Response

from spin_py.capabilities.llm import parse_params
from spin_py.capabilities.llm.engines.base import LlmError
from spin_py.capabilities.llm.pools import ModelPool

MAX_REQUEST_BYTES = 16 << 20

_OPTION_NAMES = {
    "maxTokens": "max_tokens",
    "repeatPenalty": "repeat_penalty",
    "repeatPenaltyLastNTokenCount": "repeat_penalty_last_n_token_count",
    "temperature": "temperature",
    "topK": "top_k",
    "topP": "top_p",
}


def _json(status: int, value: Any) -> Response:
    return Response(json.dumps(value), status, content_type="application/json")


class ModelServer:
    def __init__(self, pool: ModelPool, token: str) -> None:
        self.pool = pool
        self.token = token

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        return self.respond(Request(environ))(environ, start_response)

    def _authorized(self, request: Request) -> bool:
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), self.token.encode())

    def respond(self, request: Request) -> Response:
        if request.path not in ("/infer", "/embed"):
            return _json(404, {"error": f"no such endpoint {request.path}"})
        if request.method != "POST":
            return _json(405, {"error": "use POST"})
        if not self._authorized(request):
            return _json(401, {"error": "missing or wrong bearer token"})
        if (request.content_length or 0) > MAX_REQUEST_BYTES:
            return _json(413, {"error": "request too large"})
        try:
            body = json.loads(request.get_data())
            if request.path == "/infer":
                options = body.get("options")
                params = None if options is None else {_OPTION_NAMES[k]: v for k, v in options.items() if k in _OPTION_NAMES}
                result = self.pool.infer(body["model"], body["prompt"], parse_params(params))
                return _json(200, {
                    "text": result.text,
                    "usage": {
                        "promptTokenCount": result.prompt_token_count,
                        "generatedTokenCount": result.generated_token_count,
                    },
                })
            embedded = self.pool.generate_embeddings(body["model"], list(body["input"]))
            return _json(200, {"embeddings": embedded.embeddings, "usage": {"promptTokenCount": embedded.prompt_token_count}})
        except LlmError as error:
            return _json(400 if error.kind != "RuntimeError" else 500, {"error": error.message or error.kind, "kind": error.kind})
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            return _json(400, {"error": f"malformed request: {error!r}"})
