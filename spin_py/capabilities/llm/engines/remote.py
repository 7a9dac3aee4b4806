"""A remote model server, as Spin's llm-remote-http engine talks to one
(`[llm_compute] type = "remote_http"`).

api_type ``default``: Spin's own protocol. POST {url}/infer with
``{"model", "prompt", "options": {maxTokens, repeatPenalty,
repeatPenaltyLastNTokenCount, temperature, topK, topP}}`` answers
``{"text", "usage": {"promptTokenCount", "generatedTokenCount"}}``; POST
{url}/embed with ``{"model", "input": [...]}`` answers ``{"embeddings",
"usage": {"promptTokenCount"}}``. Bearer token on both.

api_type ``open_ai``: /v1/chat/completions and /v1/embeddings. Spin sends
max_completion_tokens and repeat_penalty as frequency_penalty; we also send
temperature and top_p, which Spin leaves out, so that a temperature of 0 is
honoured by the server.

One object answers for every model, so it is a model pool itself (pools.py).
Every failure is a RuntimeError naming the URL; replies are read with a
timeout and a size limit, so nothing hangs and nothing floods memory.
"""

import json
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

from spin_py.capabilities.llm.engines.base import (
    RUNTIME_ERROR,
    EmbeddingsResult,
    InferencingParams,
    InferencingResult,
    LlmError,
)
from spin_py.capabilities.sizes import MAX_HOST_BUFFERED_BYTES

TIMEOUT_SECONDS = 120
MAX_REPLY_BYTES = MAX_HOST_BUFFERED_BYTES


class RemoteEngine:
    def __init__(self, url: str, auth_token: str, api_type: str = "default", timeout: float = TIMEOUT_SECONDS,
                 max_reply_bytes: int = MAX_REPLY_BYTES) -> None:
        self.url = url.rstrip("/")
        self.auth_token = auth_token
        self.api_type = api_type
        self.timeout = timeout
        self.max_reply_bytes = max_reply_bytes

    def _post(self, path: str, body: dict[str, Any]) -> Any:
        url = self.url + path
        request = urllib.request.Request(
            url,
            data=json.dumps(body).encode("utf-8"),
            headers={"authorization": f"bearer {self.auth_token}", "content-type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as reply:
                data = reply.read(self.max_reply_bytes + 1)
        except urllib.error.HTTPError as error:
            detail = error.read(2000).decode("utf-8", "replace").strip()
            raise LlmError(RUNTIME_ERROR, f"POST {url}: HTTP {error.code} {error.reason}: {detail}") from None
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise LlmError(RUNTIME_ERROR, f"POST {url} request error: {reason}") from None
        if len(data) > self.max_reply_bytes:
            raise LlmError(RUNTIME_ERROR, f"POST {url}: reply exceeds limit of {self.max_reply_bytes} bytes")
        try:
            return json.loads(data)
        except ValueError as error:
            raise LlmError(RUNTIME_ERROR, f"POST {url}: the reply is not JSON: {error}") from None

    def _field(self, path: str, reply: Any, *keys: str | int) -> Any:
        value = reply
        try:
            for key in keys:
                value = value[key]
        except (KeyError, IndexError, TypeError):
            raise LlmError(RUNTIME_ERROR, f"POST {self.url}{path}: the reply has no {'.'.join(map(str, keys))}") from None
        return value

    def infer(self, model: str, prompt: str, params: InferencingParams,
              cancelled: Callable[[], bool] | None = None) -> InferencingResult:
        if self.api_type == "open_ai":
            path = "/v1/chat/completions"
            reply = self._post(path, {
                "model": model,
                "messages": [{"role": "user", "content": prompt}],
                "max_completion_tokens": params.max_tokens,
                "max_tokens": params.max_tokens,
                "frequency_penalty": params.repeat_penalty,
                "temperature": params.temperature,
                "top_p": params.top_p,
            })
            text = self._field(path, reply, "choices", 0, "message", "content") or ""
            return InferencingResult(
                text,
                int(self._field(path, reply, "usage", "prompt_tokens")),
                int(self._field(path, reply, "usage", "completion_tokens")),
            )
        path = "/infer"
        reply = self._post(path, {
            "model": model,
            "prompt": prompt,
            "options": {
                "maxTokens": params.max_tokens,
                "repeatPenalty": params.repeat_penalty,
                "repeatPenaltyLastNTokenCount": params.repeat_penalty_last_n_token_count,
                "temperature": params.temperature,
                "topK": params.top_k,
                "topP": params.top_p,
            },
        })
        return InferencingResult(
            str(self._field(path, reply, "text")),
            int(self._field(path, reply, "usage", "promptTokenCount")),
            int(self._field(path, reply, "usage", "generatedTokenCount")),
        )

    def generate_embeddings(self, model: str, texts: list[str]) -> EmbeddingsResult:
        if self.api_type == "open_ai":
            path = "/v1/embeddings"
            reply = self._post(path, {"model": model, "input": list(texts)})
            data = sorted(self._field(path, reply, "data"), key=lambda item: item.get("index", 0))
            return EmbeddingsResult(
                [item["embedding"] for item in data], int(self._field(path, reply, "usage", "prompt_tokens"))
            )
        path = "/embed"
        reply = self._post(path, {"model": model, "input": list(texts)})
        return EmbeddingsResult(
            self._field(path, reply, "embeddings"), int(self._field(path, reply, "usage", "promptTokenCount"))
        )

    def describe(self, model: str, kind: str) -> str:
        """One line for `spin-py models`: the server answers for every model name."""
        return f"{model} ({kind}): remote, {self.api_type} API, {self.url}"

    def close(self) -> None:
        """Nothing is kept open: each call is its own HTTP request."""
