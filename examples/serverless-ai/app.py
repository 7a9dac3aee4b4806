"""Spin's Serverless AI guide, in Python.

POST /joke        a prompt ("cats"): a joke from llama2-chat
POST /code        a task ("reverse a string in Python"): code from codellama-instruct
POST /embeddings  JSON list of sentences: their all-minilm-l6-v2 vectors, and how alike the first is to each
"""

import json

from spin_sdk import llm
from spin_sdk.http import IncomingHandler, Request, Response
from spin_sdk.wit.types import Err


def reply(status, body):
    return Response(status, {"content-type": "application/json"}, json.dumps(body).encode("utf-8"))


def joke(topic):
    prompt = f"Tell me a short joke about {topic}.\nJoke:"
    result = llm.infer_with_options("llama2-chat", prompt, llm.InferencingParams(max_tokens=48, temperature=0.7))
    return {"joke": result.text.strip(), "tokens": result.usage.generated_token_count}


def code(task):
    prompt = f"# Python\n# Task: {task}\n"
    result = llm.infer_with_options("codellama-instruct", prompt, llm.InferencingParams(max_tokens=64, temperature=0.0))
    return {"code": result.text, "tokens": result.usage.generated_token_count}


def embeddings(sentences):
    result = llm.generate_embeddings("all-minilm-l6-v2", sentences)
    first = result.embeddings[0]
    alike = [round(sum(a * b for a, b in zip(first, vector)), 3) for vector in result.embeddings]
    return {"dimensions": len(first), "similarity_to_first": alike, "tokens": result.usage.prompt_token_count}


class IncomingHandler(IncomingHandler):
    def handle_request(self, request: Request) -> Response:
        path = request.uri.split("?", 1)[0]
        text = (request.body or b"").decode("utf-8").strip()
        if request.method != "POST" or path not in ("/joke", "/code", "/embeddings"):
            return reply(404, {"try": ["POST /joke", "POST /code", "POST /embeddings"]})
        try:
            if path == "/embeddings":
                sentences = json.loads(text or "[]")
                if not sentences or not all(isinstance(s, str) for s in sentences):
                    return reply(400, {"error": "POST a JSON list of sentences"})
                return reply(200, embeddings(sentences))
            if not text:
                return reply(400, {"error": "POST a prompt as the body"})
            return reply(200, joke(text) if path == "/joke" else code(text))
        except Err as error:
            return reply(500, {"error": type(error.value).__name__, "detail": getattr(error.value, "value", None)})
