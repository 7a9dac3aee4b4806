"""The dev inspector: a page `spin-py up` serves on a listener of its own (loopback, a free
port unless ``--inspector HOST:PORT`` says otherwise; ``--no-inspector`` turns it off), so
it never shares a path with the app's routes. It shows requests as they happen, each one's
host calls, output and traceback, a refused call with the spin.toml line that would allow
it, the app's key-value stores and SQLite databases (the store browser, mounted as it is),
and the build check's outcome.

Its data comes from spin_py/observe.py: the recorder (recorder.py) is one observer, keeping
the last requests within fixed bounds. The page is plain HTML, CSS and JavaScript in
static/, read from the package: nothing is built, nothing is fetched from the network.
"""

import socket
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler

from spin_py import observe
from spin_py.inspector.recorder import Recorder
from spin_py.inspector.web import InspectorApp, WsgiApp

if TYPE_CHECKING:
    from spin_py.dev_server import DevServer

DEFAULT_ADDRESS = ("127.0.0.1", 0)  # loopback only; a free port, so it never takes one an app may want


class _QuietHandler(WSGIRequestHandler):
    """The page's own requests are not the app's: nothing of them on the terminal."""

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass

    def log_error(self, *args: Any) -> None:
        pass


class Inspector:
    """Bound when made (a taken address fails startup with one line); serves from ``start()``
    until ``close()``."""

    def __init__(self, server: "DevServer", address: tuple[str, int], recorder: Recorder | None = None) -> None:
        host, port = address
        self.recorder = recorder or Recorder()
        self.app = InspectorApp(self.recorder, lambda: server.runtime, lambda: server.build_check,
                                allowed=lambda component, target, scheme: _allowed(server, component, target, scheme),
                                stores=_store_browser(server))
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        try:
            listener = socket.create_server((host, port), family=family)
        except OSError as error:
            from spin_py.dev_server import ListenError

            raise ListenError(f"--inspector {host}:{port}: {error.strerror or error}") from None
        self.http = ThreadedWSGIServer(host, port, self.app, handler=_QuietHandler, fd=listener.fileno())
        listener.detach()
        bound = self.http.socket.getsockname()
        shown = f"[{bound[0]}]" if family == socket.AF_INET6 else bound[0]
        self.url = f"http://{shown}:{bound[1]}/"
        if bound[0] in ("127.0.0.1", "::1"):  # asked for elsewhere (0.0.0.0, a LAN address), any name may reach it
            self.app.hosts = {f"{name}:{bound[1]}" for name in (shown, "localhost", "127.0.0.1", "[::1]")}
        self._thread: threading.Thread | None = None
        self._unsubscribe: Callable[[], None] | None = None

    def start(self) -> None:
        self._unsubscribe = observe.subscribe(self.recorder)
        self._thread = threading.Thread(target=self.http.serve_forever, name="inspector", daemon=True)
        self._thread.start()

    def close(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
        self.app.closed.set()
        self.recorder.wake()  # event streams waiting for a change see the close now
        if self._thread is not None:
            self.http.shutdown()
            self._thread.join(timeout=5)
        self.http.server_close()


def _allowed(server: "DevServer", component: str, address: str, scheme: str) -> bool | None:
    """Whether the current manifest lets ``component`` reach ``address`` with ``scheme`` (None:
    cannot tell), asked of the outbound capability's own rules without its terminal lines."""
    from spin_py.capabilities.outbound_networking import OutboundUrl

    configured = server.runtime.capabilities.get(scheme)
    networking = getattr(getattr(configured, "access", None), "networking", None)
    if networking is None:
        return None
    try:
        return bool(networking.hosts(component).allows(OutboundUrl.parse(address, scheme)))
    except Exception:  # an address or an entry that does not parse: the call's own error says so
        return None


def _store_browser(server: "DevServer") -> WsgiApp | None:
    """The store browser (spin_py/stores_browser) for the runtime serving now, mounted as it is."""
    try:
        from spin_py.stores_browser import StoresBrowser
    except ImportError:  # a build of spin-py without it: the page says so
        return None
    browser: WsgiApp = StoresBrowser(lambda: server.runtime)
    return browser
