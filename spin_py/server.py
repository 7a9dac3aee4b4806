"""`spin-py up`: load the app, bind the socket, print what Spin prints, serve."""

import sys

from werkzeug.serving import WSGIRequestHandler, make_server

from spin_py.host.runtime import AppRuntime
from spin_py.trigger.http import HttpTrigger


class _QuietRequestHandler(WSGIRequestHandler):
    # Keep-alive as Spin's server has it; the trigger logs requests itself.
    protocol_version = "HTTP/1.1"

    def log_request(self, *args, **kwargs):
        pass


class ListenError(Exception):
    pass


def banner(runtime, base_url):
    lines = [f"Serving {base_url}", "Available Routes:"]
    lines += [route.banner_line(base_url) for route in runtime.router.routes()]
    return "\n".join(lines)


class DevServer:
    """The HTTP server and the app it serves; ``shutdown()`` stops both."""

    def __init__(self, config, terminal=None):
        self.config = config
        self.terminal = terminal or sys.stderr
        self.runtime = AppRuntime.load(config, terminal=self.terminal)
        try:
            self.http = make_server(
                config.host,
                config.port,
                HttpTrigger(lambda: self.runtime, f"http://{config.host}:{config.port}", self.terminal),
                threaded=True,
                request_handler=_QuietRequestHandler,
            )
        except OSError as error:
            self.runtime.close()
            raise ListenError(f"--listen {config.host}:{config.port}: {error.strerror or error}") from None
        self.port = self.http.server_port
        self.base_url = f"http://{config.host}:{self.port}"

    def serve_forever(self):
        for line in self.runtime.warnings():
            print(line, file=self.terminal, flush=True)
        print(f"Logging component stdio to \"{self.runtime.logs_dir}/\"", file=self.terminal, flush=True)
        self.runtime.start()
        print(banner(self.runtime, self.base_url), file=sys.stdout, flush=True)
        try:
            self.http.serve_forever()
        finally:
            self.runtime.close()

    def shutdown(self):
        self.http.shutdown()
