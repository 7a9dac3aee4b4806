"""A component's processes, after Spin's instance model (forks.py):

- the *base* (``main``): the process the host starts; it imports the guest, hooks
  the SDK's generated bindings, and forks a zygote for each load of the app's code;
- a *zygote* (``_zygote``): imports the component's module once (componentize-py's
  pre-initialization), builds the component's filesystem (mounts.py), then forks
  an instance for each request;
- an *instance* (``_instance``): a fresh copy of the post-import state, in the
  world WebAssembly gives it (wasm_world.py), that serves one request and exits.
  Nothing a request does survives it.

A request is a turn (see spin_py/wire/frames.py): the response (for a Redis message,
``handled``), then whatever the handler spawned, then ``done``. Redis messages
that cross together are one instance's batch, each turn served by a process of its
own forked from it."""

import gc
import importlib
import json
import mmap
import os
import signal
import socket
import sys
from typing import Any, NoReturn

from spin_py_wire import frames, framing
from spin_py_wire.control import ReadyFrame, control_from_fd
from spin_py_wire.frames import InstanceReadyFrame

from . import (
    async_support,
    bindings,
    bodies,
    forks,
    fresh_imports,
    handlers,
    hardening,
    host,
    mounts,
    network_guard,
    tracebacks,
    wasm_world,
)

GUEST_DIR = os.path.dirname(os.path.abspath(__file__))
# Kept before the app's world takes them away (wasm_world.py): the guest still needs them.
_setsid = os.setsid
_kill = os.kill
_EXECUTABLE = sys.executable  # the app sees "" as under WASI; load errors name the real one
SHIMS = os.path.join(GUEST_DIR, "shims")


def _set_path(settings) -> None:
    entries = [SHIMS, *settings.get("paths", []), settings["workdir"]]
    sys.path[:0] = [entry for index, entry in enumerate(entries) if entry not in entries[:index]]


def _end(code: int) -> NoReturn:
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _sdk_too_new(error: BaseException) -> str | None:
    """The spin-sdk version when ``error`` is a SyntaxError in one of its files: newer syntax than this Python's."""
    if not isinstance(error, SyntaxError) or not error.filename:
        return None
    from importlib import metadata

    try:
        sdk = metadata.distribution("spin-sdk")
    except metadata.PackageNotFoundError:
        return None
    failed = os.path.realpath(error.filename)
    return sdk.version if any(os.path.realpath(str(sdk.locate_file(f))) == failed for f in sdk.files or ()) else None


def _load_error(settings, error) -> str:
    module = settings["module"]
    if isinstance(error, handlers.LoadError):
        detail = f"{error}\n"
    elif isinstance(error, SystemExit):
        detail = f"the module called sys.exit({error.code!r}) while it was imported\n"
    elif sdk := _sdk_too_new(error):
        v = sys.version_info
        detail = (f"spin-sdk {sdk} needs Python {v.major}.{v.minor + 1} or newer; "
                  f"the app runs on Python {v.major}.{v.minor}.{v.micro} ({_EXECUTABLE})\n")
    else:
        detail = tracebacks.describe(error)
        if isinstance(error, ModuleNotFoundError) and error.name:
            if module == error.name or module.startswith(error.name + "."):
                places = dict.fromkeys([*settings.get("paths", []), settings["workdir"]])  # sys.path order, once each
                detail += f"(looked for it in: {', '.join(places)})\n"
            else:
                detail += f"(is '{error.name}' installed in the app's Python environment, {_EXECUTABLE}?)\n"
    return f"Component '{settings['component']}' failed to load module '{module}':\n{detail}"


def _prepare(settings) -> None:
    """What every load shares, in the base: the guest's hooks around the SDK, the
    component's network rules."""
    network_guard.install(settings)  # the component's sockets reach only its allowed_outbound_hosts
    bindings.install()
    async_support.install()


def _load(settings: dict[str, Any]) -> handlers.Handlers:
    module = importlib.import_module(settings["module"])
    found = handlers.find_handlers(module)
    # What the guest's bindings import while they serve, imported with the app (an instance imports nothing).
    if "componentize_py_async_support" in sys.modules:
        forks.preload(["componentize_py_async_support.futures", "componentize_py_async_support.streams"])
    return found


def _serve(found, message, body) -> None:
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


def _after(handler) -> None:
    try:
        handler.after_response()
    except BaseException as error:
        _fail("after the response: " + tracebacks.describe(error))


def _fail(text) -> None:
    host.send({"op": "failed", "error": text})
    _end(1)


def main(control_fd, settings_json) -> None:
    """The base: imports the guest, the SDK's hooks and what earlier loads imported from
    outside the app's folders, then forks a zygote for each load of the app's code
    (forks.py)."""
    settings = json.loads(settings_json)
    # Before any app code: siblings cannot read this process, and the app's configuration is not writable.
    hardening.not_dumpable()
    hardening.protect(settings.get("protected", []))
    # Ctrl-C in the developer's terminal reaches the whole process group: the host
    # decides when workers stop (it closes the channel), so a worker never dumps a
    # KeyboardInterrupt traceback in the middle of the host's shutdown.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # As in a Spin component, the app sees no command line (ours carries our settings), and an
    # environment of what the host passed only (not the LC_CTYPE that CPython's locale coercion adds).
    sys.argv[:] = []
    # Every instance of the component writes to the same pipes: a line goes out in one write
    # (atomic up to PIPE_BUF), never cut by another instance's (python -u writes each piece).
    for stream in (sys.stdout, sys.stderr):
        stream.reconfigure(line_buffering=True, write_through=False)  # type: ignore[union-attr]  # (TextIOWrappers)
    if "environment_names" in settings:
        for name in set(os.environ) - set(settings["environment_names"]):
            del os.environ[name]
    _set_path(settings)
    roots = fresh_imports.install([settings["workdir"], *settings.get("paths", [])])
    _prepare(settings)
    forks.preload(settings.get("preload", ()))
    control = control_from_fd(control_fd)
    control.send({"op": "ready"})
    forks.ForkServer(control, lambda message, fds: _zygote(settings, roots, fds)).serve()


def _zygote(settings, roots, fds) -> None:
    """A load of the app's code: import it (the pre-initialization), build the
    component's filesystem, then fork an instance per request."""
    control = control_from_fd(fds[0])
    known = set(sys.modules)
    wasm_world.before_load()
    try:
        found = _load(settings)
    except BaseException as error:
        control.send({"op": "load-failed", "error": _load_error(settings, error)})
        _end(1)
    # Only what this load imported: the base imports none of the app's own modules.
    files, others = fresh_imports.split_new([name for name in sys.modules if name not in known], roots)
    tracebacks.keep_sources(files)  # the instance's filesystem no longer has them
    isolation: str | None = "the component's files are not isolated (no folder to build them on)"
    if settings.get("root"):
        try:
            isolation = mounts.enter(settings.get("mounts", []), settings["root"])
        except OSError as error:  # a mount the kernel refused, in a namespace made for it
            control.send({"op": "load-failed",
                          "error": f"Component '{settings['component']}': its files could not be mounted: {error}\n"})
            _end(1)
    wasm_world.after_load(isolated=isolation is None)
    # Instances live for one request: the collector need not walk (and so copy) what they share.
    gc.freeze()
    ready: ReadyFrame = {"op": "ready", "files": files, "modules": others, "isolation": isolation}
    control.send(ready)
    forks.ForkServer(control, lambda message, channels: _instance(found, channels)).serve()


def _instance(found, fds) -> None:
    """One request (or one batch of Redis messages), then the process ends."""
    channel_fd, progress_fd = fds
    _setsid()  # its own process group: the host stops it and all it started with one kill
    channel = framing.Channel(socket.socket(fileno=channel_fd))
    host.connect(channel, mmap.mmap(progress_fd, frames.PROGRESS_MAP_SIZE))
    os.close(progress_fd)
    ready: InstanceReadyFrame = {"op": "ready", "pid": os.getpid()}
    channel.send(ready)
    try:
        message, body = channel.recv()
    except (EOFError, OSError, ValueError):
        _end(0)
    turns = _turns(message, body)
    if turns is None:
        # Only the host writes here, and it sends nothing else: the channel is not ours any more.
        print(f"spin-py worker: unexpected {message.get('op')!r} frame from the host; stopping", file=sys.stderr)
        _end(1)
    try:
        if len(turns) == 1:
            wasm_world.enter_instance()
            _serve(found, *turns[0])
        else:
            _serve_batch(found, turns)
        host.flush()
    except OSError:
        _end(0)  # the channel closed under us: the host stopped the instance
    _end(0)


def _serve_batch(found, turns) -> None:
    """Redis messages that crossed together: each turn in a fresh instance of its own,
    forked from this one, which runs no app code. A turn whose process fails ends the
    batch with the same status, so the host sees what it would see for one message."""
    for turn in turns:
        pid = host.fork_turn()
        if pid == 0:
            wasm_world.enter_instance()
            _serve(found, *turn)
            host.flush_quiet_to_parent()
            _end(0)
        _pid, status = forks.wait_process(pid, 0)
        host.after_turn_fork(turn[0]["turn"])
        if os.WIFSIGNALED(status):
            sys.stdout.flush()
            _kill(os.getpid(), os.WTERMSIG(status))
        if os.WEXITSTATUS(status) != 0:
            _end(os.WEXITSTATUS(status))


def _turns(message: dict[str, Any], body: bytes) -> list[tuple[dict[str, Any], bytes]] | None:
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
