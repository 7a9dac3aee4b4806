"""Semantic search over a few built-in documents: GET /search?q=... answers with
every document ranked by the cosine similarity of its embedding to the query's.

Add `&limit=N` for the best N only. GET / answers with how to search.
"""

import json
import math
from urllib.parse import parse_qs, urlsplit

from spin_sdk import llm
from spin_sdk.http import IncomingHandler, Request, Response
from spin_sdk.wit.types import Err

MODEL = "all-minilm-l6-v2"  # must be listed in the component's `ai_models` in spin.toml

DOCUMENTS = [
    "Spin is a framework for building and running event-driven serverless apps with WebAssembly.",
    "Python components are compiled to WebAssembly with componentize-py.",
    "A key-value store keeps small pieces of data between requests.",
    "Serverless AI lets a component run a language model or compute text embeddings.",
    "Cats spend most of the day asleep in the sun.",
    "A good espresso needs finely ground coffee and water just off the boil.",
]

# The documents' embeddings, computed on the first search and then reused. Not at
# import time: componentize-py runs this module's top level while building
# app.wasm, where there is no host to compute them. (Spin starts a fresh instance
# per request, so there the cache lasts one request; spin-py keeps it as long as
# the worker lives.)
_document_embeddings = None


def document_embeddings():
    global _document_embeddings
    if _document_embeddings is None:
        _document_embeddings = llm.generate_embeddings(MODEL, DOCUMENTS).embeddings
    return _document_embeddings


def cosine(a, b):
    dot = sum(x * y for x, y in zip(a, b))
    norms = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norms if norms else 0.0


def search(query, limit):
    [query_embedding] = llm.generate_embeddings(MODEL, [query]).embeddings
    scored = [
        {"text": text, "score": round(cosine(query_embedding, embedding), 4)}
        for text, embedding in zip(DOCUMENTS, document_embeddings())
    ]
    scored.sort(key=lambda result: result["score"], reverse=True)
    return scored[:limit]


def json_response(status, body):
    return Response(status, {"content-type": "application/json"}, json.dumps(body).encode("utf-8"))


def usage(request, path):
    """What a browser or a bare `curl` on the app's route sees: how to search."""
    # Spin gives the URL the client asked for in spin-full-url; without the query and the
    # trailing slash it is where /search sits below.
    base = (request.headers.get("spin-full-url") or request.uri).split("?", 1)[0]
    base = base.removesuffix(path).rstrip("/")
    lines = [
        f"Semantic search over {len(DOCUMENTS)} documents with {MODEL} embeddings. Search with:",
        "",
        f"  curl '{base}/search?q=how+do+I+compile+python'",
        f"  curl '{base}/search?q=coffee&limit=2'       # the best 2 only",
        "",
        'The answer is JSON: "results" lists the documents, most similar first, each with its "score".',
        "Edit DOCUMENTS in app.py to search your own texts.",
    ]
    return Response(200, {"content-type": "text/plain; charset=utf-8"}, "\n".join(lines + [""]).encode("utf-8"))


def describe(error):
    """Spin's llm errors: ModelNotSupported, RuntimeError(message), InvalidInput(message)."""
    kind = type(error).__name__.removeprefix("Error_")
    message = getattr(error, "value", None)
    return f"{kind}: {message}" if message else kind


class IncomingHandler(IncomingHandler):
    def handle_request(self, request: Request) -> Response:
        # spin-path-info is the path below the route ("" for the route itself), so the app
        # works wherever it is mounted.
        path = request.headers.get("spin-path-info", urlsplit(request.uri).path)
        if request.method == "GET" and path in ("", "/"):
            return usage(request, path)
        if path.rstrip("/") != "/search":
            return json_response(404, {"error": "search with GET /search?q=your+question"})
        if request.method != "GET":
            return json_response(405, {"error": "search with GET /search?q=your+question"})
        query = parse_qs(urlsplit(request.uri).query)
        text = query.get("q", [""])[0].strip()
        if not text:
            return json_response(400, {"error": "the query is empty: GET /search?q=your+question"})
        try:
            limit = int(query.get("limit", [len(DOCUMENTS)])[0])
        except ValueError:
            return json_response(400, {"error": "limit must be a whole number"})
        try:
            results = search(text, max(limit, 0))
        except Err as error:
            return json_response(500, {"error": describe(error.value)})
        return json_response(200, {"query": text, "model": MODEL, "results": results})
