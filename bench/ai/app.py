import json

from spin_http import Response
from spin_llm import LLMInferencingParams, generate_embeddings, llm_infer

# A vector of the model's size, for requests that measure everything but the model call.
STORED = [((index * 7919) % 1000) / 5000 - 0.1 for index in range(384)]


def handle_request(request):
    if request.uri.endswith("/stored"):
        return Response(200, {"content-type": "application/json"}, json.dumps(STORED).encode())
    if request.uri.endswith("/embed"):
        result = generate_embeddings("all-minilm-l6-v2", [request.body.decode()])
        return Response(200, {"content-type": "application/json"}, json.dumps(result.embeddings[0]).encode())
    options = json.loads(request.body)
    params = LLMInferencingParams(
        options["max_tokens"], 1.1, 64, options["temperature"], 40, 0.9
    )
    result = llm_infer("llama2-chat", options["prompt"], params)
    body = {"text": result.text, "generated": result.usage.generated_token_count}
    return Response(200, {"content-type": "application/json"}, json.dumps(body).encode())
