"""The HTTP trigger: a WSGI app that routes each request to a component's
worker, as Spin's trigger-http does, and logs one line per request."""

import json
import sys
import time

from werkzeug.wrappers import Request, Response

from spin_py.host.worker import WorkerError
from spin_py.trigger.headers import spin_headers
from spin_py.trigger.routes import WELL_KNOWN_PREFIX


class HttpTrigger:
    def __init__(self, runtime, scheme_host, terminal=None):
        """``runtime()`` returns the AppRuntime to serve with: it can change between requests."""
        self.runtime = runtime
        self.scheme_host = scheme_host  # "http://127.0.0.1:3000", for the banner
        self.terminal = terminal or sys.stderr

    def __call__(self, environ, start_response):
        started = time.perf_counter()
        request = Request(environ)
        raw_path = environ.get("RAW_URI") or environ.get("REQUEST_URI") or request.full_path
        path, _, query = raw_path.partition("?")
        component_id, response = self._respond(request, environ, path, raw_path)
        elapsed = (time.perf_counter() - started) * 1000
        self.log(f"{request.method} {raw_path} -> {component_id or '-'} {response.status_code} {elapsed:.1f}ms")
        return response(environ, start_response)

    def _respond(self, request, environ, path, raw_path):
        runtime = self.runtime()
        if path.startswith(WELL_KNOWN_PREFIX):
            return None, self._well_known(path[len(WELL_KNOWN_PREFIX):], runtime)
        match = runtime.router.route(path)
        if match is None:
            return None, Response(status=404)
        component = runtime.components[match.component]
        if component.pool is None:
            return component.id, Response(
                f"Component '{component.id}' is not served by spin-py: {component.not_python}\n",
                501,
                content_type="text/plain",
            )
        host = request.host or self.scheme_host.split("://", 1)[1]
        headers = [[name.lower(), value] for name, value in request.headers.items()]
        headers += [
            [name, value]
            for name, value in spin_headers(
                match,
                full_url=f"{request.scheme}://{host}{raw_path}",
                path_and_query=raw_path,
                client_addr=(environ.get("REMOTE_ADDR"), environ.get("REMOTE_PORT")),
                base=runtime.app.http_base,
            )
        ]
        body = request.get_data()
        try:
            with component.pool.lease() as worker:
                answer = worker.serve(request.method, raw_path, headers, body, runtime.answer_call(component.id))
        except WorkerError as error:
            component.output.write(str(error))
            return component.id, Response(str(error).rstrip("\n") + "\n", 500, content_type="text/plain")
        response = Response(answer.body, answer.status)
        response.headers.clear()
        for name, value in answer.headers:
            response.headers.add(name, value)
        if "content-length" not in response.headers:
            response.headers["content-length"] = str(len(answer.body))
        return component.id, response

    @staticmethod
    def _well_known(name, runtime):
        """Spin answers these itself, before routing."""
        if name == "health":
            return Response("OK", 200)
        if name == "info":
            info = {"name": runtime.app.name}
            if runtime.app.version:
                info["version"] = runtime.app.version
            return Response(json.dumps(info, indent=2), 200, content_type="application/json")
        return Response(status=404)

    def log(self, line):
        print(line, file=self.terminal, flush=True)
