"""Drive one worker directly over its channel, as the host does, without an HTTP server."""

import textwrap
from pathlib import Path

from spin_py.guest import protocol
from spin_py.host.launch import WorkerSettings, start_worker


class GuestWorker:
    """A worker for the module ``app`` in ``folder``; its stdout and stderr go to files there."""

    def __init__(self, python, folder, module="app", paths=(), environment=None, protected=(), **popen_args):
        """``popen_args``: e.g. ``user=`` to run the worker as another user."""
        self.folder = Path(folder)
        self.stdout = self.folder / "worker-stdout.txt"
        self.stderr = self.folder / "worker-stderr.txt"
        settings = WorkerSettings(
            "guest-test", module, str(self.folder), [str(path) for path in paths], [str(path) for path in protected]
        )
        with open(self.stdout, "wb") as stdout, open(self.stderr, "wb") as stderr:
            self.process, sock, self.progress = start_worker(
                python, settings, environment or {}, stdout=stdout, stderr=stderr, **popen_args
            )
        sock.settimeout(120)  # a hung worker fails the test instead of hanging it
        self.channel = protocol.Channel(sock)
        self.turn = 0  # the number of the last request sent

    def recv(self):
        return self.channel.recv()

    def loaded(self):
        """The first message: ``ready`` or ``load-failed``."""
        message, _ = self.recv()
        return message

    def ready(self):
        message = self.loaded()
        assert message["op"] == "ready", message.get("error", message)
        return self

    def send_http(self, method, uri, headers=(), body=b""):
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
        return self.process.wait(timeout=timeout)

    def log(self):
        return self.stdout.read_text() + self.stderr.read_text()

    def close(self):
        try:
            self.channel.close()
        finally:
            if self.process.poll() is None:
                self.process.kill()
            self.process.wait()


def write(folder, files):
    """Write ``{relative path: source}`` under ``folder`` (sources dedented)."""
    folder = Path(folder)
    for name, source in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source).lstrip())
    return folder
