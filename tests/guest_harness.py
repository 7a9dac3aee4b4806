"""Drive a component's worker processes directly over their channels, as the host does, without an HTTP server."""

import os
import signal
import textwrap
import time
from pathlib import Path

from spin_py.host.launch import WorkerSettings, control_pair, instance_channels, start_base
from spin_py.wire import framing


class GuestWorker:
    """A component's processes for the module ``app`` in ``folder``, driven as the host does:
    its base process, one zygote of its code, and a fresh instance for each request (the
    last one is ``channel``). Their stdout and stderr go to files there."""

    def __init__(self, python, folder, module="app", paths=(), environment=None, protected=(), **settings_and_popen):
        """``settings_and_popen``: WorkerSettings fields (``mounts``, ``root``), else Popen arguments
        (e.g. ``user=`` to run the worker as another user)."""
        self.folder = Path(folder)
        self.stdout = self.folder / "worker-stdout.txt"
        self.stderr = self.folder / "worker-stderr.txt"
        fields = {name: settings_and_popen.pop(name) for name in ("mounts", "root") if name in settings_and_popen}
        settings = WorkerSettings(
            "guest-test", module, str(self.folder), [str(path) for path in paths], [str(path) for path in protected],
            environment_names=sorted(environment or {}), **fields,
        )
        with open(self.stdout, "wb") as stdout, open(self.stderr, "wb") as stderr:
            self.process, self.base = start_base(python, settings, environment or {}, stdout=stdout, stderr=stderr,
                                                 **settings_and_popen)
        self.base.sock.settimeout(120)  # a hung worker fails the test instead of hanging it
        self.zygote = None
        self.channel = None
        self.progress = None
        self.pid = None  # the current instance's
        self.turn = 0  # the number of the last request sent
        self._loaded = None

    def loaded(self):
        """The zygote's first message: ``ready`` or ``load-failed``."""
        if self._loaded is None:
            message, _ = self.base.recv()
            assert message == {"op": "ready"}, message
            self.zygote, guest_end = control_pair()
            self.base.send({"op": "fork"}, (guest_end.fileno(),))
            guest_end.close()
            self.zygote.sock.settimeout(120)
            self._loaded, _ = self.zygote.recv()
        return self._loaded

    def ready(self):
        message = self.loaded()
        assert message["op"] == "ready", message.get("error", message)
        return self

    def new_instance(self):
        """Fork a fresh instance: the next request goes to it."""
        self.ready()
        sock, self.progress, (guest_end, progress_fd) = instance_channels()
        self.zygote.send({"op": "fork"}, (guest_end.fileno(), progress_fd))
        guest_end.close()
        os.close(progress_fd)
        sock.settimeout(120)
        self.channel = framing.Channel(sock)
        message, _ = self.channel.recv()
        assert message["op"] == "ready" and isinstance(message["pid"], int), message
        self.pid = message["pid"]
        return self

    def recv(self):
        return self.channel.recv()

    def send_http(self, method, uri, headers=(), body=b""):
        self.new_instance()
        self.turn += 1
        message = {"op": "http", "turn": self.turn, "method": method, "uri": uri, "headers": [list(h) for h in headers]}
        self.channel.send(message, body)

    def answer(self, message):
        """Send a host frame (``return`` or ``error``) of the current turn."""
        self.channel.send({**message, "turn": self.turn})

    def http(self, method, uri, headers=(), body=b""):
        """Send one request; returns its first answer ``(message, body)``. The end of the
        turn is read too: ``done: true`` in the response, else a ``done`` frame after it."""
        self.send_http(method, uri, headers, body)
        message, payload = self.recv()
        if message.get("op") == "response" and not message.pop("done", False):
            self.done()
        return message, payload

    def done(self):
        """A ``done`` frame of this turn (the handler spawned work that went on after its response)."""
        message, _ = self.recv()
        assert message == {"op": "done", "turn": self.turn}, message

    def response(self, method, uri, headers=(), body=b""):
        message, payload = self.http(method, uri, headers, body)
        assert message["op"] == "response", message.get("error", message)
        return message["status"], message["headers"], payload

    def exit_code(self, timeout=30):
        """How the last instance ended; before any, how the zygote did (a failed load)."""
        deadline = time.monotonic() + timeout
        if self.pid is None:
            message = self.loaded()
            if message["op"] == "load-failed":
                return 1
            return self.process.wait(timeout=timeout)
        while True:
            self.zygote.send({"op": "status", "pid": self.pid})
            message, _ = self.zygote.recv()
            if message.get("status") is not None:
                return message["status"]
            assert time.monotonic() < deadline, f"instance {self.pid} still running"
            time.sleep(0.02)

    def log(self):
        return self.stdout.read_text() + self.stderr.read_text()

    def close(self):
        try:
            if self.channel is not None:
                self.channel.close()
            self.base.close()
            if self.zygote is not None:
                self.zygote.close()
        finally:
            if self.process.poll() is None:
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def write(folder, files):
    """Write ``{relative path: source}`` under ``folder`` (sources dedented)."""
    folder = Path(folder)
    for name, source in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source).lstrip())
    return folder
