"""pytest helpers for testing Spin apps with spin-py (a pytest plugin: the
`spin_app` fixture is there as soon as spin-py is installed).

    def test_joke(spin_app):
        app = spin_app("path/to/app")                  # a spin.toml or its folder
        response = app.post("/joke", data=b"cats")
        assert response.status == 200

    def test_no_access(spin_app):
        app = spin_app("path/to/app")
        assert_permission_error(app.get("/embed-without-access"), "all-minilm-l6-v2")

The app runs in the same machinery as `spin-py up` (a real server on a free
loopback port, real worker processes). By default AI calls are answered by the
deterministic engine: no model files, microseconds per call, fixed answers
(``echo: <prompt>`` cut to max_tokens words; 384-number hash embeddings).
Pass ``ai_engine="models"`` to use the real model pool.
"""

import http.client
import json as jsonlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest


def permission_error_text(model) -> str:
    """Spin's error text when a component calls a model its `ai_models` does not list."""
    from spin_py.capabilities.llm import access_denied

    return access_denied(model)


@dataclass
class Response:
    status: int
    headers: dict  # lower-case names
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self) -> Any:
        return jsonlib.loads(self.body)


def assert_permission_error(response, model) -> None:
    """The response carries Spin's permission error for ``model`` (the app chose how to show it)."""
    expected = permission_error_text(model)
    assert expected in response.text, f"expected Spin's permission error for '{model}', got {response.status}: {response.text!r}"


class SpinApp:
    """A running app: HTTP helpers against it, and the server for inspection (``server.model_pool()``)."""

    def __init__(self, server):
        self.server = server
        self.url = server.base_url
        self._thread = threading.Thread(target=server.serve_forever, name="spin-py-app", daemon=True)
        self._thread.start()

    def request(self, method, path, data=None, json=None, headers=None, timeout=120) -> Response:
        headers = dict(headers or {})
        if json is not None:
            data = jsonlib.dumps(json).encode("utf-8")
            headers.setdefault("content-type", "application/json")
        if isinstance(data, str):
            data = data.encode("utf-8")
        connection = http.client.HTTPConnection(self.server.config.host, self.server.port, timeout=timeout)
        try:
            connection.request(method, path, body=data, headers=headers)
            answer = connection.getresponse()
            return Response(answer.status, {k.lower(): v for k, v in answer.getheaders()}, answer.read())
        finally:
            connection.close()

    def get(self, path, **kwargs) -> Response:
        return self.request("GET", path, **kwargs)

    def post(self, path, data=None, **kwargs) -> Response:
        return self.request("POST", path, data=data, **kwargs)

    def stop(self) -> None:
        self.server.shutdown()
        self._thread.join(timeout=10)


def start_app(manifest, *, ai_engine="deterministic", env=None, python=None, state_dir=None, watch=False, build_check=False) -> SpinApp:
    from spin_py.config import UpConfig
    from spin_py.dev_server import DevServer
    from spin_py.manifest import manifest_file

    config = UpConfig(
        manifest=manifest_file(manifest),
        port=0,
        env=dict(env or {}),
        python=Path(python) if python else None,
        state_dir=Path(state_dir) if state_dir else None,
        ai_engine=ai_engine,
        watch=watch,
        build_check=build_check,  # off: a test's app serves without building it in the background
    )
    return SpinApp(DevServer(config))


@pytest.fixture
def spin_app() -> Iterator[Callable[..., SpinApp]]:
    """``spin_app(manifest, ai_engine="deterministic", env=None, python=None, state_dir=None, watch=False,
    build_check=False)`` -> a running SpinApp."""
    apps = []

    def start(manifest, **options) -> SpinApp:
        app = start_app(manifest, **options)
        apps.append(app)
        return app

    yield start
    for app in apps:
        app.stop()
