"""The browser's page: one HTML file (static/browser.html) with its style and script inline, so
whoever serves it answers one request and nothing is fetched from the network. What it talks to is
given in a JSON object written into the page: ``{"mode": "browser", "api": ...}`` for the store
browser's own API, ``{"mode": "kv-explorer", "root": ..., "stores": [...], ...}`` for
spin-kv-explorer's REST API."""

import json
from functools import cache
from pathlib import Path
from typing import Any

STATIC = Path(__file__).resolve().parent / "static"
_MARK = "/*SPIN_PY_CONFIG*/null"


@cache
def _template() -> str:
    return (STATIC / "browser.html").read_text(encoding="utf-8")


def page(config: dict[str, Any]) -> bytes:
    """The page, with ``config`` written into its script (safe inside <script>: no "</")."""
    text = json.dumps(config, ensure_ascii=True).replace("</", "<\\/")
    return _template().replace(_MARK, text, 1).encode("utf-8")
