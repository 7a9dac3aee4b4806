"""The host's handle on one worker subprocess: start it, hand it requests, and
answer the host calls it makes while it serves one.

A worker serves one request at a time; the pool guarantees that, so nothing
here is shared between threads.
"""

import subprocess
import traceback
from dataclasses import dataclass

from spin_py.capabilities.errors import CapabilityError
from spin_py.guest import protocol
from spin_py.host.launch import start_worker


class WorkerError(Exception):
    """The worker could not serve: the text is meant for the developer (terminal and 500 body)."""


class LoadFailed(WorkerError):
    """The component's code did not import."""


class HandlerFailed(WorkerError):
    """The handler raised, called sys.exit, or its process died while serving."""


@dataclass
class HttpResponse:
    status: int
    headers: list
    body: bytes


class Worker:
    def __init__(self, python, settings, environment, output):
        self.component_id = settings.component
        self.files = ()  # the app's source files the worker imported
        try:
            self.process, sock = start_worker(python, settings, environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        except OSError as error:
            raise LoadFailed(f"cannot start a worker for component '{self.component_id}' with {python}: {error.strerror or error}") from None
        self.channel = protocol.Channel(sock)
        output.follow(self.process)

    def wait_ready(self):
        """Block until the handler module imported; raise LoadFailed otherwise."""
        try:
            message, _ = self.channel.recv()
        except (EOFError, OSError):
            raise LoadFailed(f"worker for component '{self.component_id}' {self._exit_status()} while loading")
        if message.get("op") == "load-failed":
            self.stop()
            raise LoadFailed(message.get("error", "the component failed to load"))
        if message.get("op") != "ready":
            self.stop()
            raise LoadFailed(f"worker for component '{self.component_id}' sent {message.get('op')!r} before ready")
        self.files = frozenset(message.get("files", ()))

    def serve(self, method, uri, headers, body, answer_call):
        """Send one request; answer host calls with ``answer_call(capability, function, args)``."""
        try:
            self.channel.send({"op": "http", "method": method, "uri": uri, "headers": headers}, body)
            while True:
                message, payload = self.channel.recv()
                op = message.get("op")
                if op == "response":
                    return HttpResponse(message["status"], message["headers"], payload)
                if op == "call":
                    self.channel.send(self._answer(answer_call, message))
                elif op == "failed":
                    raise HandlerFailed(message.get("error", "the handler failed"))
                else:
                    raise HandlerFailed(f"worker sent an unexpected {op!r} message")
        except (EOFError, OSError, ValueError):
            raise HandlerFailed(
                f"the worker for component '{self.component_id}' {self._exit_status()} while handling the request"
            )

    def _answer(self, answer_call, message):
        try:
            value = answer_call(message.get("capability"), message.get("function"), message.get("args") or {})
        except CapabilityError as error:
            return {"op": "error", "kind": error.kind, "message": error.message}
        except Exception as error:  # a host bug must not take the request down with it
            traceback.print_exc()
            return {"op": "error", "kind": "RuntimeError", "message": f"spin-py host error: {error!r}"}
        return {"op": "return", "value": value}

    def _exit_status(self):
        try:
            code = self.process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            return "stopped answering"
        if code < 0:
            return f"was killed by signal {-code}"
        return f"exited with status {code}"

    def stop(self):
        self.channel.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=2)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
