"""A worker's life: import the component's module, say ready, then serve one
request (an HTTP request or a Redis message) at a time until the host closes
the channel. Each request is a turn (see protocol.py): the response (for a
Redis message, ``handled``), then whatever the handler spawned, then ``done``.
A handler that raises or exits ends the worker: its module state may be
broken, and the host starts a fresh one."""

import importlib
import json
import mmap
import os
import signal
import socket
import sys

from . import async_support, bindings, bodies, fresh_imports, handlers, hardening, host, network_guard, protocol, tracebacks

GUEST_DIR = os.path.dirname(os.path.abspath(__file__))
SHIMS = os.path.join(GUEST_DIR, "shims")


def _set_path(settings):
    entries = [SHIMS, *settings.get("paths", []), settings["workdir"]]
    sys.path[:0] = [entry for index, entry in enumerate(entries) if entry not in entries[:index]]


def _end(code):
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _sdk_too_new(error):
    """The spin-sdk version when ``error`` is a SyntaxError in one of its files: newer syntax than this Python's."""
    if not isinstance(error, SyntaxError) or not error.filename:
        return None
    from importlib import metadata

    try:
        sdk = metadata.distribution("spin-sdk")
    except metadata.PackageNotFoundError:
        return None
    failed = os.path.realpath(error.filename)
    return sdk.version if any(os.path.realpath(sdk.locate_file(f)) == failed for f in sdk.files or ()) else None


def _load_error(settings, error):
    module = settings["module"]
    if isinstance(error, handlers.LoadError):
        detail = f"{error}\n"
    elif isinstance(error, SystemExit):
        detail = f"the module called sys.exit({error.code!r}) while it was imported\n"
    elif sdk := _sdk_too_new(error):
        v = sys.version_info
        detail = (f"spin-sdk {sdk} needs Python {v.major}.{v.minor + 1} or newer; "
                  f"the app runs on Python {v.major}.{v.minor}.{v.micro} ({sys.executable})\n")
    else:
        detail = tracebacks.describe(error)
        if isinstance(error, ModuleNotFoundError) and error.name:
            if module == error.name or module.startswith(error.name + "."):
                places = dict.fromkeys([*settings.get("paths", []), settings["workdir"]])  # sys.path order, once each
                detail += f"(looked for it in: {', '.join(places)})\n"
            else:
                detail += f"(is '{error.name}' installed in the app's Python environment, {sys.executable}?)\n"
    return f"Component '{settings['component']}' failed to load module '{module}':\n{detail}"


def _load(settings):
    network_guard.install(settings)  # the component's sockets reach only its allowed_outbound_hosts
    bindings.install()
    async_support.install()
    module = importlib.import_module(settings["module"])
    return handlers.find_handlers(module)


def _serve(found, message, body):
    """One turn: the handler's response (or ``handled``), then what it spawned, then ``done``."""
    host.begin(message["turn"])
    try:
        if message["op"] == "http":
            handler = found.http
            if message.get("stream"):
                body = bodies.StreamedBody()
            try:
                status, headers, payload = handler(message["method"], message["uri"], message["headers"], body)
            except host.BodyReadError as error:  # before the handler ran: the host answers its client itself
                status, headers, payload = 500, [], f"{error}\n".encode()
            answer = {"op": "response", "status": status, "headers": headers}
        else:
            handler, payload = found.redis, b""
            answer = {"op": "handled", "error": handler(body)}
    except SystemExit as error:
        _fail(f"the handler called sys.exit({error.code!r})\n")
    except BaseException as error:
        _fail(tracebacks.describe(error))
    if getattr(payload, "sent", False):  # the handler sent its whole response itself (bindings/wasi_http_02.py)
        _after(handler)
        host.end()
        return
    if answer["op"] == "handled" and answer["error"] is None and not async_support.pending() and host.quietly_handled():
        return
    if bodies.is_small(payload):
        if not async_support.pending():
            host.send(answer, payload, end=True)  # nothing goes on after it: the answer ends the turn
            return
        host.send(answer, payload)
    else:
        answer["stream"] = True
        if isinstance(payload, (bytes, bytearray, memoryview)) and answer["status"] not in (204, 304) and not any(
            name == "content-length" for name, _ in answer["headers"]
        ):
            answer["headers"].append(["content-length", str(len(payload))])  # as a body sent whole gets it
        host.send(answer)
        try:
            for piece in bodies.pieces(payload):
                host.send({"op": "body"}, piece)
        except BaseException as error:  # the handler's stream failed (or the channel closed: _fail ends us)
            _fail("while writing the response body: " + tracebacks.describe(error))
        if not async_support.running():
            _after(handler)  # reports what finished with an error; waits for nothing
            host.send({"op": "end"}, end=True)
            return
        host.send({"op": "end"})
    _after(handler)
    host.end()


def _after(handler):
    try:
        handler.after_response()
    except BaseException as error:
        _fail("after the response: " + tracebacks.describe(error))


def _fail(text):
    host.send({"op": "failed", "error": text})
    _end(1)


def main(fd, settings_json, progress_fd):
    settings = json.loads(settings_json)
    # Before any app code: siblings cannot read this process, and the app's configuration is not writable.
    hardening.not_dumpable()
    hardening.protect(settings.get("protected", []))
    hardening.die_with_host(fd, _end)
    channel = protocol.Channel(socket.socket(fileno=fd))
    host.connect(channel, mmap.mmap(progress_fd, protocol.PROGRESS.size))
    os.close(progress_fd)  # the map stays; a process the handler starts does not get the descriptor
    # Ctrl-C in the developer's terminal reaches the whole process group: the host
    # decides when workers stop (it closes the channel), so a worker never dumps a
    # KeyboardInterrupt traceback in the middle of the host's shutdown.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # As in a Spin component, the app sees no command line (ours carries our settings).
    sys.argv[:] = []
    _set_path(settings)
    roots = fresh_imports.install([settings["workdir"], *settings.get("paths", [])])
    try:
        found = _load(settings)
    except BaseException as error:
        channel.send({"op": "load-failed", "error": _load_error(settings, error)})
        _end(1)
    channel.send({"op": "ready", "files": fresh_imports.app_files(roots)})
    while True:
        try:
            message, body = channel.recv()
        except (EOFError, OSError, ValueError):
            hardening.end_group()
            _end(0)
        turns = _turns(message, body)
        if turns is None:
            # Only the host writes here, and it sends nothing else: the channel is not ours any more.
            print(f"spin-py worker: unexpected {message.get('op')!r} frame from the host; stopping", file=sys.stderr)
            _end(1)
        try:
            for turn in turns:
                _serve(found, *turn)
            host.flush()
        except OSError:
            _end(0)  # the channel closed under us (the host stopped the worker), or a forked child returned here


def _turns(message, body):
    """The turns one frame from the host starts, as ``(message, body)`` pairs, or None when
    it is no request: an ``http`` frame is one turn; a ``redis`` frame with ``sizes``
    carries that many messages, one turn each, numbered on from its own."""
    op, turn, sizes = message.get("op"), message.get("turn"), message.get("sizes")
    if op not in ("http", "redis") or not isinstance(turn, int):
        return None
    if sizes is None:
        return [(message, body)]
    if op != "redis" or not isinstance(sizes, list) or not all(isinstance(size, int) and size >= 0 for size in sizes) \
            or sum(sizes) != len(body):
        return None
    turns, start = [], 0
    for index, size in enumerate(sizes):
        turns.append(({"op": "redis", "turn": turn + index}, body[start:start + size]))
        start += size
    return turns
