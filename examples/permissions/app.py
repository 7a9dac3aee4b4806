from spin_sdk import llm
from spin_sdk.http import IncomingHandler, Request, Response
from spin_sdk.wit.types import Err


class IncomingHandler(IncomingHandler):
    def handle_request(self, request: Request) -> Response:
        try:
            params = llm.InferencingParams(max_tokens=12, temperature=0.0)
            result = llm.infer_with_options("llama2-chat", "The capital of France is", params)
        except Err as error:
            kind = type(error.value).__name__.removeprefix("Error_")
            return Response(403, {"content-type": "text/plain"}, f"{kind}: {error.value.value}\n".encode())
        return Response(200, {"content-type": "text/plain"}, f"{result.text.strip()}\n".encode())
