"""The development server behind `spin-py up`: load the app, bind the socket, print
what Spin prints, start the triggers, and (unless --no-watch) reload what changes.

It sits above both the host (spin_py/host/) and the triggers (spin_py/trigger/), which
import the host and never the other way round: what a runtime needs from the HTTP
trigger (its router, the host-served file server) is handed to it from here.
"""

import signal
import sys
import threading
from types import FrameType
from typing import TYPE_CHECKING, TextIO

from spin_py.capabilities import load_capabilities
from spin_py.capabilities.seam import HostContext
from spin_py.config import UpConfig
from spin_py.host.app_python import AppPython
from spin_py.host.instances import stop_all as stop_all_bases
from spin_py.host.output import write_terminal
from spin_py.host.runtime import AppRuntime
from spin_py.host.worker import stop_all as stop_all_workers
from spin_py.manifest import check_trigger_types, load_manifest
from spin_py.runtime_config import RuntimeConfig, load_runtime_config
from spin_py.telemetry import start as start_telemetry
from spin_py.trigger.http import HttpTrigger
from spin_py.trigger.http_server import ListenError, bind_trigger_server
from spin_py.trigger.kv_explorer import kv_explorer_for
from spin_py.trigger.redis import RedisTrigger, redis_plan
from spin_py.trigger.routes import WELL_KNOWN_PREFIX, router_for
from spin_py.trigger.static_files import static_files_for

if TYPE_CHECKING:  # each imported only when turned on
    from spin_py.host.build_check import BuildCheck
    from spin_py.host.reload import Reloader
    from spin_py.inspector import Inspector

__all__ = ["DevServer", "ListenError", "banner"]


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _stop_on_sigterm() -> None:
    """SIGTERM stops the server as Ctrl-C does: every worker stopped, then exit."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _interrupt)


# `spin up` starts only the trigger types an app has (spin src/commands/up.rs,
# trigger_commands_for_trigger_types), and only the HTTP trigger prints "Serving" and
# "Available Routes:" (crates/trigger-http/src/server.rs, print_startup_msgs): an app without
# an HTTP trigger prints neither. spin-py keeps its socket bound all the same, for its own
# endpoints only (a component's routes are none, so every other path is a 404): one process
# serves any app the same way, a reload that adds an HTTP trigger needs no new socket, and
# the health endpoint still tells a script or test that the server is up. This line says so
# in the words of neither Spin banner line, and carries the address for those that need it
# (tests/live.py waits for it as for "Serving").
NO_HTTP_TRIGGER = "Ready: the app has no HTTP trigger; only spin-py's own {prefix} endpoints answer, on {base_url}"


def banner(runtime: AppRuntime, base_url: str) -> str:
    if not runtime.app.http_triggers:
        return NO_HTTP_TRIGGER.format(prefix=WELL_KNOWN_PREFIX, base_url=base_url)
    lines = [f"Serving {base_url}", "Available Routes:"]
    lines += [route.banner_line(base_url) for route in runtime.router.routes()]
    return "\n".join(lines)


class DevServer:
    """The HTTP server, the app it serves, and the reloader; ``shutdown()`` stops them."""

    def __init__(self, config: UpConfig, terminal: TextIO | None = None) -> None:
        self.config = config
        self.terminal = terminal or sys.stderr
        self.base_url: str | None = None  # known once the socket is bound; self requests need it only while serving
        self.capabilities = load_capabilities(HostContext(config, self.say, origin=lambda: self.base_url))
        self.app_python: AppPython | None = None  # the app's Python environment: chosen with the first manifest, prepared before serving
        self.runtime = self.load_runtime(None)
        self.reloader: Reloader | None = None
        self.build_check: BuildCheck | None = None  # spin_py/host/build_check.py, started once serving
        # Spin prints its Redis subscriptions with println!, to stdout as the HTTP banner.
        self.redis = RedisTrigger(lambda: self.runtime, self.say, lambda text: print(text, file=sys.stdout, flush=True))
        try:
            self.http = bind_trigger_server(
                config.host,
                config.port,
                HttpTrigger(lambda: self.runtime, f"http://{config.host}:{config.port}", self.terminal),
            )
        except ListenError:
            self.runtime.close()
            raise
        self.port = self.http.socket.getsockname()[1]
        self.base_url = f"http://{config.host}:{self.port}"
        self.inspector: Inspector | None = None  # a listener of its own, so never one of the app's paths
        if config.inspector is not None:
            from spin_py import inspector

            try:
                self.inspector = inspector.Inspector(self, config.inspector)
            except ListenError:
                self.http.server_close()
                self.runtime.close()
                raise

    def load_runtime(self, previous: AppRuntime | None) -> AppRuntime:
        """Read the manifest and runtime config again and build the runtime that would replace ``previous``."""
        app = load_manifest(self.config.manifest, self.config.profile)
        if self.app_python is None:
            self.app_python = AppPython(self.config, app.dir, say=self.say)
        check_trigger_types(app)  # `spin up` refuses a trigger type it cannot run
        router = router_for(app)  # a route Spin refuses fails the load
        file = self.config.runtime_config_file
        runtime_config = load_runtime_config(file) if file else RuntimeConfig()
        return AppRuntime(
            self.config,
            app,
            capabilities=self.capabilities,
            runtime_config=runtime_config,
            terminal=self.terminal,
            previous=previous,
            current=lambda: self.runtime,
            python=self.app_python,
            router=router,
            file_server=static_files_for,
            kv_explorer=kv_explorer_for,
            # Spin refuses Redis addresses and channels it cannot resolve.
            check_triggers=lambda runtime: redis_plan(runtime.app, runtime.context.variables),
        )

    def replace_runtime(self, runtime: AppRuntime) -> None:
        previous, self.runtime = self.runtime, runtime
        previous.close(keep=runtime)
        runtime.start()
        self.redis.apply(runtime)
        for line in runtime.capability_lines():
            if line not in previous.capability_lines():
                self.say(line)
        if banner(previous, self.url) != banner(runtime, self.url):
            self.say(banner(runtime, self.url))

    @property
    def url(self) -> str:
        """The address served, as the banner shows it (the socket is bound in ``__init__``)."""
        assert self.base_url is not None
        return self.base_url

    def say(self, text: str) -> None:
        write_terminal(self.terminal, text)

    def serve_forever(self) -> None:
        assert self.app_python is not None  # chosen with the first manifest
        self.app_python.prepare()  # as `spin build` before `spin up`: requirements.txt installed, or one line why not
        for line in self.runtime.warnings() + self.runtime.capability_lines():
            self.say(line)
        self.say(f"Logging component stdio to \"{self.runtime.logs_dir}/\"")
        _stop_on_sigterm()
        stop_telemetry = start_telemetry(self.say, lambda: self.runtime.app.name)  # OTEL_* as `spin up` reads them
        try:
            self.runtime.start()
            if self.config.watch:
                from spin_py.host.reload import Reloader

                self.reloader = Reloader(self)
            print(banner(self.runtime, self.url), file=sys.stdout, flush=True)
            if self.inspector is not None:
                self.inspector.start()
                print(f"Inspector: {self.inspector.url}", file=sys.stdout, flush=True)
            self.redis.apply(self.runtime)
            if self.config.build_check:
                from spin_py.host.build_check import BuildCheck

                self.build_check = BuildCheck(lambda: self.runtime, self.app_python, self.say)
                self.build_check.start()
            self.http.serve_forever()  # returns on Ctrl-C (werkzeug takes the KeyboardInterrupt)
        finally:
            if self.inspector is not None:
                self.inspector.close()
            if self.build_check:
                self.build_check.close()  # a build that runs is killed
            self.redis.close()  # no new messages (one in hand stops with its worker)
            self.runtime.close()  # the pools take no more requests and start no more workers
            stop_all_workers()  # the busy ones too, and what their handlers forked
            if self.reloader:
                self.reloader.close()
            for capability in self.capabilities:
                capability.close()
            stop_all_workers()  # any a reload started meanwhile
            stop_all_bases()  # the components' base processes and their zygotes
            stop_telemetry()  # what is queued is sent (a few seconds at most)

    def shutdown(self) -> None:
        self.http.shutdown()
