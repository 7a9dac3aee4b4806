import json
import os

from spin_sdk.http import IncomingHandler, Request, Response


class IncomingHandler(IncomingHandler):
    def handle_request(self, request: Request) -> Response:
        if request.uri.endswith("/json"):
            seen = {
                "method": request.method,
                "uri": request.uri,
                "spin-path-info": request.headers.get("spin-path-info"),
                "body-bytes": len(request.body or b""),
            }
            return Response(200, {"content-type": "application/json"}, json.dumps(seen).encode())
        greeting = os.environ.get("GREETING", "Hi")
        return Response(200, {"content-type": "text/plain"}, f"{greeting} from Python!\n".encode())
