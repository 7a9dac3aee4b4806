"""A worker's life: import the component's module, say ready, then serve one
request at a time until the host closes the channel. A handler that raises or
exits ends the worker: its module state may be broken, and the host starts a
fresh one."""

import importlib
import json
import os
import socket
import sys
import traceback

from . import fresh_imports, handlers, host, protocol, sdk_bindings

SHIMS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "shims")
GUEST_DIR = os.path.dirname(os.path.abspath(__file__))


def _user_traceback(error):
    """The traceback without the frames of this package and of importlib."""
    frames = [
        frame
        for frame in traceback.extract_tb(error.__traceback__)
        if not frame.filename.startswith(GUEST_DIR) and not frame.filename.startswith("<frozen importlib")
    ]
    text = "".join(traceback.format_exception_only(type(error), error))
    if frames:
        text = "Traceback (most recent call last):\n" + "".join(traceback.format_list(frames)) + text
    return text


def _set_path(settings):
    entries = [SHIMS, *settings.get("paths", []), settings["workdir"]]
    sys.path[:0] = [entry for index, entry in enumerate(entries) if entry not in entries[:index]]


def _end(code):
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def main(fd, settings_json):
    settings = json.loads(settings_json)
    channel = protocol.Channel(socket.socket(fileno=fd))
    host.connect(channel)
    _set_path(settings)
    roots = fresh_imports.install([settings["workdir"], *settings.get("paths", [])])
    sdk_bindings.install()
    try:
        module = importlib.import_module(settings["module"])
        handler = handlers.find_handler(module)
    except (Exception, SystemExit) as error:
        message = f"Component '{settings['component']}' failed to load module '{settings['module']}':\n"
        channel.send({"op": "load-failed", "error": message + _user_traceback(error)})
        _end(1)
    handlers.release_componentize_loop()
    channel.send({"op": "ready", "files": fresh_imports.app_files(roots)})
    while True:
        try:
            message, body = channel.recv()
        except (EOFError, OSError):
            _end(0)
        if message.get("op") != "http":
            continue
        try:
            status, headers, payload = handler(message["method"], message["uri"], message["headers"], body)
        except SystemExit as error:
            channel.send({"op": "failed", "error": f"the handler called sys.exit({error.code!r})"})
            _end(1)
        except BaseException as error:
            channel.send({"op": "failed", "error": _user_traceback(error)})
            _end(1)
        channel.send({"op": "response", "status": status, "headers": headers}, payload)
