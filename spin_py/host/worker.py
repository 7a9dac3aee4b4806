"""The host's handle on one instance of a component (a worker): hand it a request
(an HTTP request, or Redis messages), and answer the host calls it makes while it
serves it. The instance is a process forked from the component's zygote
(host/instances.py): it serves that one request and exits, as Spin instantiates a
component afresh for every request.

Each request is a *turn* (spin_py/wire/frames.py): every frame carries the
turn's number, and the turn ends with ``done``. The client gets its response as
soon as ``response`` arrives (a streamed body follows piece by piece, see
ResponseStream); the worker goes back to its pool only once the turn has ended
cleanly. A request body is handed over whole, or piece by piece as the worker
asks for it (``read``), from a BodySource.

A well-formed frame of an earlier turn (a thread the handler left behind wrote
it late) is dropped and said once under the component: the request being served
goes on, and the worker is replaced once its turn ends. Anything that breaks the
current turn itself (a second response, a frame that is not JSON or breaks the
framing, half a frame and then silence) means the channel can no longer be
trusted: the worker is stopped, its request gets a 500 that says what happened,
and nothing reaches another request. What a worker writes while idle is met by
its next turn, as above. A worker that died while idle is found when a request
is sent to it, before any of it arrived (WorkerGone): the request goes to another.

A worker serves one request at a time; the pool guarantees that.
"""

import os
import select
import signal
import socket
import struct
import threading
import time
import traceback
from dataclasses import dataclass
from typing import Protocol

from spin_py.capabilities.errors import CapabilityError
from spin_py.wire import framing as protocol
from spin_py.wire.frames import FINISH_LIMIT, PIECE, PROGRESS

# How long an instance may take to say ready once forked.
LOAD_LIMIT = 120.0
# How often (seconds) a request waiting for its worker looks whether its client is still there
# and its time is up.
WATCH = 0.1
# How many times one worker's stray bytes are skipped before its channel counts as broken.
_MOST_RESYNCS = 64
# How long after the response the host waits for ``done``: the guest cancels spawned
# work after FINISH_LIMIT seconds, and gets a little more to say so.
DONE_LIMIT = FINISH_LIMIT + 10.0

_EVENTS_GONE = select.POLLHUP | select.POLLERR | select.POLLNVAL | getattr(select, "POLLRDHUP", 0)


class WorkerError(Exception):
    """The worker could not serve: the text is meant for the developer (terminal and 500 body)."""

    handled = ()  # Worker.deliver: the results of the Redis messages handled before the failure


class LoadFailed(WorkerError):
    """The component's code did not import."""


class HandlerFailed(WorkerError):
    """The handler raised, called sys.exit, or its process died while serving."""


class WorkerGone(HandlerFailed):
    """The worker had exited before the request reached it (it died while idle): the request
    can go to another worker."""


class ChannelBroken(HandlerFailed):
    """The worker sent something outside its turn or not in the protocol: it was stopped."""


class RequestCancelled(WorkerError):
    """The client went away, or the handler ran past the time limit: the worker was stopped."""


class ClientGone(RequestCancelled):
    pass


@dataclass
class HttpResponse:
    status: int
    headers: list
    body: "bytes | ResponseStream"


class BodySource(Protocol):
    """A request body the worker pulls: ``read(size)`` returns at most ``size`` bytes, b"" at
    its end, and raises when the client's body cannot be read (the text says why)."""

    def read(self, size: int) -> bytes: ...


class ResponseStream:
    """A response body the worker sends in pieces (each at most PIECE bytes):
    iterate for them, as the worker sends them; host calls and reads of the request body
    are answered meanwhile. ``close()`` says how it ended: a stream left before its end
    stops the worker (its turn cannot end). ``ended_cleanly`` is True once the worker
    sent the whole body."""

    def __init__(self, worker, client):
        self._worker = worker
        self._client = client
        self.ended_cleanly = False
        self._closed = False
        self.on_close = None  # called once with ended_cleanly

    def __iter__(self):
        while not self.ended_cleanly:
            piece = self._worker._next_piece(self._client)
            if piece is None:
                self.ended_cleanly = True
                return
            yield piece

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if not self.ended_cleanly:
            self._worker._abandon()
        if self.on_close is not None:
            self.on_close(self.ended_cleanly)


class _CallOnly:
    """An Instance for a runtime that only offers ``answer_call(component_id)``."""

    def __init__(self, answer):
        self.call = answer

    def close(self) -> None:
        pass


def request_instance(runtime, component_id):
    """A fresh per-request instance (``call(capability, function, args)`` and ``close()``)."""
    make = getattr(runtime, "instance", None)
    if make is not None:
        return make(component_id)
    return _CallOnly(runtime.answer_call(component_id))


def client_gone(client) -> bool:
    """Has the HTTP client closed its connection? Never waits. (Data it sent early is
    left for the server.)"""
    fd = client.fileno()
    if fd < 0:
        return True
    poller = select.poll()
    poller.register(fd, select.POLLIN | _EVENTS_GONE)
    if not poller.poll(0):
        return False
    try:
        # Readable: peeking tells an orderly close (b"") from early data. (The socket may
        # have a timeout, which would make even a MSG_DONTWAIT recv wait: hence the poll first.)
        return client.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except (TimeoutError, BlockingIOError, InterruptedError):
        return False
    except OSError:
        return True


# Every worker not yet stopped, so that the host's shutdown stops them all, busy or starting.
_live = set()
_live_lock = threading.Lock()


def stop_all() -> None:
    """Stop every worker this process started (the host is shutting down)."""
    with _live_lock:
        workers = list(_live)
    for worker in workers:
        worker.stop()


class Worker:
    """One instance of a component: a process forked from its zygote (host/instances.py)
    that serves one request (or one batch of Redis messages) and exits."""

    def __init__(self, zygote, output):
        self.component_id = zygote.component_id
        self.output = output
        self.files = zygote.files  # the app's source files its code imported
        self.generation = 0  # set by the pool
        self.pid = None  # the instance's process (and process group), once its ``ready`` frame is read
        self.zygote = zygote
        self._used = False  # an instance serves one turn (a batch of Redis turns): then it is done
        self._turn = 0  # the number of the last turn started
        self._last_quiet = 0  # the last turn a ``handled`` frame may end with the ones before it (deliver)
        self._in_turn = False  # between ``http`` and ``done``
        self._responded = False
        self._answer_op = "response"  # what ends the handler's part of the turn
        self._instance = None
        self._pending = None  # a frame read ahead while looking for ``done``
        self._body = None  # the request body the worker pulls from (a BodySource), None when sent whole
        self._body_ended = False
        self.body_error = None  # why the client's body could not be read (the trigger answers with it)
        self._streaming = False  # a streamed response body is on its way
        self._stream_ended = False
        self._stray_said = False
        self.retiring = False  # it wrote a frame of an earlier turn: replaced once this turn ends
        self._resyncs = 0
        self._stopped = False
        self._stop_lock = threading.Lock()
        sock, self._progress = zygote.fork_instance()
        with _live_lock:
            _live.add(self)
        # Waiting for a frame is one read that gives up after WATCH seconds without a byte, to look at
        # the client and the clock, rather than a poll before every read: each system call lets the
        # server's other threads take the interpreter lock, and getting it back costs more than the call.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("ll", 0, int(WATCH * 1_000_000)))
        self.channel = protocol.Channel(sock)

    def _ready(self, message) -> bool:
        """Is ``message`` the instance's first frame, which says its process id?"""
        if self.pid is None and message.get("op") == "ready" and "turn" not in message:
            pid = message.get("pid")
            if isinstance(pid, int) and not isinstance(pid, bool) and pid > 1:
                self.pid = pid
                return True
            raise ChannelBroken("its ready frame has no process id")
        return False

    def wait_ready(self, limit=LOAD_LIMIT) -> None:
        """Block until the instance has said ready (it is forked at once: a few milliseconds)."""
        try:
            message, _ = self._next_frame(time.monotonic() + limit, None)
        except (EOFError, OSError):
            raise LoadFailed(f"the worker for component '{self.component_id}' {self._exit_status()} as it started") from None
        except RequestCancelled:
            self.stop()
            raise LoadFailed(f"the worker for component '{self.component_id}' did not start within {limit:g} s") from None
        except protocol.ProtocolError as error:
            self.stop()
            raise LoadFailed(f"the worker for component '{self.component_id}' broke the channel protocol as it started: {error}") from None
        if not self._ready(message):
            self.stop()
            raise LoadFailed(f"the worker for component '{self.component_id}' sent {message.get('op')!r} before ready")

    def _learn_pid(self, limit: float) -> bool:
        """Read the instance's ready frame, if it sent one within ``limit`` seconds."""
        try:
            message, _ = self._next_frame(time.monotonic() + limit, None)
            return self._ready(message)
        except (EOFError, OSError, RequestCancelled, protocol.ProtocolError, ChannelBroken):
            return False

    # --- one turn --------------------------------------------------------------------------

    def serve(self, method, uri, headers, body, instance=None, client=None, timeout=None) -> HttpResponse:
        """Send one request and return its response once it arrives; the turn may go on
        after that (see ``in_turn`` and ``finish``). ``body``: bytes, or a BodySource the
        worker pulls from as its handler reads (the response's body is then a
        ResponseStream when the worker streams it). ``instance`` answers the host calls
        of the whole turn and is closed when it ends. ``client``: the HTTP client's
        socket, watched so that a request whose client left is cancelled. ``timeout``:
        seconds the handler has to respond."""
        request = {"op": "http", "method": method, "uri": uri, "headers": headers}
        source = None
        if not isinstance(body, (bytes, bytearray, memoryview)):
            request["stream"], source, body = True, body, b""
        message, payload = self._run_turn(request, body, "response", instance, client, timeout, "the request", source)
        try:
            response = self._response(message, payload)
        except ChannelBroken as error:
            self._abandon()
            raise ChannelBroken(self._broken_text(error)) from None
        if self._streaming:
            response.body = ResponseStream(self, client)
        return response

    def deliver(self, payloads, instances, timeout=None, meanwhile=None) -> list:
        """Hand Redis messages' payloads to the handler, in order, as Spin handles one
        message after another: one frame carries them all (``sizes``), and each is a turn
        of its own, with a fresh instance from ``instances()``. Returns the result of each
        message handled, in order: None, or why it failed without raising (the ``Err`` it
        returned, or no Redis export), in words for ``Component <id> handler failed: ...``.
        Fewer results than payloads: the worker was stopped after the last of them (what
        it spawned failed; said under the component), and the rest are still to be
        delivered. When the handler fails at a message, the WorkerError raised has
        ``handled``: the results of the messages before it. ``meanwhile()``, when given,
        runs once the worker has the messages (host calls wait for it to return)."""
        request = {"op": "redis"}
        if len(payloads) > 1:
            request["sizes"] = [len(payload) for payload in payloads]
        body = payloads[0] if len(payloads) == 1 else b"".join(payloads)
        first = self._turn + 1
        self._last_quiet = first + len(payloads) - 1
        results = []
        try:
            while len(results) < len(payloads):
                # Only the first turn sends: the worker starts the others itself, one after another.
                message, _ = self._run_turn(None if results else request, body, "handled", instances(), None, timeout,
                                            "a Redis message", sent=None if results else meanwhile)
                error = message.get("error")
                if error is not None and not isinstance(error, str):
                    self._abandon()
                    raise ChannelBroken(self._broken_text("its handled frame has an error that is not text"))
                quiet = self._turn - first - len(results)  # the turns before this one that ended quietly
                results.extend([None] * quiet)
                results.append(error)
                if self._in_turn and len(results) < len(payloads) and not self.finish():
                    break  # the next message needs this turn over, and it did not end
        except WorkerError as failure:
            # Messages it handled quietly, and had not said so yet when it failed, are not delivered again.
            results.extend([None] * self._quietly_handled(first + len(results)))
            failure.handled = results
            raise
        return results

    def _quietly_handled(self, turn):
        """How many turns from ``turn`` on ended quietly, by the worker's progress map."""
        last = min(PROGRESS.unpack_from(self._progress)[0], self._last_quiet)
        return max(0, last - turn + 1)

    def _run_turn(self, request, body, answer, instance, client, timeout, what, source=None, sent=None):
        """Start a turn with ``request`` (None: the worker starts it itself, the next of a
        batch already sent), call ``sent()`` once it is sent, and return the ``answer``
        frame ``(message, payload)``."""
        self._turn += 1
        self._used = True
        self._in_turn, self._responded, self._instance, self._answer_op = True, False, instance, answer
        self._body, self._body_ended, self.body_error = source, source is None, None
        self._streaming = self._stream_ended = False
        deadline = time.monotonic() + timeout if timeout else None
        if instance is not None:
            # A host call belongs to its request: it stops at the request's time limit, or once its
            # client has left (capabilities/seam.py, Instance.ended).
            instance.deadline = deadline
            if client is not None:
                instance.client_gone = lambda: client_gone(client)
        try:
            if request is not None:
                try:
                    self.channel.send({**request, "turn": self._turn}, body)
                except (BrokenPipeError, ConnectionResetError):
                    raise WorkerGone(f"the worker for component '{self.component_id}' {self._exit_status()} "
                                     f"before {what} reached it") from None
                if sent is not None:
                    sent()
            while True:
                message, payload = self._next(deadline, client)
                if self._turn_frame(message) == answer:
                    if instance is not None:
                        # Answered: what the handler spawned goes on without the client (finish()).
                        instance.client_gone = None
                    if message.get("done") is True and not self._streaming:
                        self._end_turn()  # the usual case: nothing goes on after the answer
                    elif not self._streaming:
                        self._take_done_if_here()
                    return message, payload
        except ClientGone:
            self._abandon()
            raise ClientGone(
                f"the client of a request to component '{self.component_id}' went away: "
                "the request was cancelled and its worker stopped"
            ) from None
        except RequestCancelled:
            self._abandon()
            raise RequestCancelled(
                f"the handler of component '{self.component_id}' did not respond within {timeout:g} s "
                "(--request-timeout): its worker was stopped"
            ) from None
        except ChannelBroken as error:
            self._abandon()
            raise ChannelBroken(self._broken_text(error)) from None
        except protocol.ProtocolError as error:
            self._abandon()
            raise ChannelBroken(self._broken_text(error)) from None
        except (EOFError, OSError):
            self._end_turn()
            raise HandlerFailed(
                f"the worker for component '{self.component_id}' {self._exit_status()} while handling {what}"
            ) from None
        except HandlerFailed:
            self._end_turn()
            raise

    @property
    def in_turn(self) -> bool:
        """Has the worker responded but not yet said ``done``?"""
        return self._in_turn

    def finish(self, limit=DONE_LIMIT) -> bool:
        """Answer host calls until the worker says ``done`` (at most ``limit`` seconds).
        True when the turn ended cleanly; otherwise the worker is stopped and the
        reason goes to the component's output (the client already has its answer)."""
        deadline = time.monotonic() + limit
        if self._instance is not None:
            self._instance.deadline = deadline  # the host calls of spawned work share its limit
        try:
            while self._in_turn:
                message, _ = self._next(deadline, None)
                self._turn_frame(message)
            return True
        except RequestCancelled:
            problem = f"did not finish within {limit:g} s after its response"
        except HandlerFailed as error:
            problem = f"failed after its response: {error}"
        except protocol.ProtocolError as error:
            problem = f"broke the channel protocol after its response ({error})"
        except (EOFError, OSError):
            problem = f"{self._exit_status()} after its response"
        self._abandon()
        self.output.write(f"the worker for component '{self.component_id}' {problem}; it was stopped".rstrip("\n"))
        return False

    def _turn_frame(self, message):
        """Handle one frame of the current turn; returns its op (None: a stray frame, dropped)."""
        op = message.get("op")
        turn = message.get("turn")
        if op == "handled" and message.get("first") == self._turn and isinstance(turn, int) \
                and self._turn < turn <= self._last_quiet:
            self._turn = turn  # a run of Redis messages handled quietly: no error, no host call (guest/host.py)
        if turn != self._turn:
            if isinstance(turn, int) and not isinstance(turn, bool) and 0 <= turn < self._turn:
                self._stray(op, turn)
                return None
            raise ChannelBroken(f"it sent a {op!r} frame of turn {turn!r} during turn {self._turn}")
        if op == "call":
            self.channel.send(self._answer(message))
        elif op == "read":
            self._send_piece(message)
        elif op == self._answer_op:  # "response" to an http turn, "handled" to a redis one
            if self._responded:
                raise ChannelBroken(f"it sent a second {op}")
            self._responded = True
            self._streaming = op == "response" and message.get("stream") is True
        elif op in ("body", "end"):
            if not self._streaming or self._stream_ended:
                raise ChannelBroken(f"it sent a {op!r} frame outside a streamed response body")
            if op == "end":
                self._stream_ended = True
                if message.get("done") is True:
                    self._end_turn()
        elif op == "done":
            if not self._responded:
                raise ChannelBroken("it said done before responding")
            if self._streaming and not self._stream_ended:
                raise ChannelBroken("it said done before the end of its response body")
            self._end_turn()
        elif op == "failed":
            raise HandlerFailed(str(message.get("error", "the handler failed")))
        else:
            raise ChannelBroken(f"it sent an unexpected {op!r} frame")
        return op

    def _stray(self, op, turn):
        """A well-formed frame of an earlier turn: not this request's business. Said once;
        the worker is replaced when the current turn ends."""
        self.retiring = True
        if not self._stray_said:
            self._stray_said = True
            self.output.write(
                f"the worker for component '{self.component_id}' sent a {op!r} frame of turn {turn} during turn "
                f"{self._turn} (a thread or task its handler left running?): it was dropped, and the worker is "
                "replaced once the current request ends"
            )

    def _send_piece(self, message):
        """Answer a ``read``: the next piece of the request body, at most ``max`` bytes."""
        size = message.get("max")
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            size = PIECE
        size = min(size, PIECE)
        if self._body_ended or self.body_error is not None:
            self.channel.send({"op": "body", "turn": self._turn, "end": True})
            return
        try:
            piece = self._body.read(size)
        except Exception as error:  # the client's body: cut short, malformed, over the limit
            self.body_error = error
            self._body_ended = True
            self.channel.send({"op": "error", "turn": self._turn, "kind": "BodyError", "message": str(error)})
            return
        self._body_ended = not piece
        self.channel.send({"op": "body", "turn": self._turn, "end": self._body_ended}, piece)

    def _next_piece(self, client):
        """The next piece of a streamed response body, None at its end (ResponseStream)."""
        try:
            while not self._stream_ended:
                message, payload = self._next(None, client)
                if self._turn_frame(message) == "body":
                    if self.body_error is not None:  # the client's body broke while the response streamed
                        self._abandon()
                        raise ConnectionAbortedError(f"the request body could not be read: {self.body_error}")
                    if payload:
                        return payload
        except ClientGone:
            raise ConnectionAbortedError("the client went away during the response body") from None
        except HandlerFailed as error:
            self._abandon()
            self.output.write(f"the worker for component '{self.component_id}' failed during its response body: {error}".rstrip("\n"))
        except protocol.ProtocolError as error:
            self._abandon()
            self.output.write(self._broken_text(error))
        except (EOFError, OSError):
            self._abandon()
            self.output.write(f"the worker for component '{self.component_id}' {self._exit_status()} during its response body")
        else:
            if self._in_turn:
                self._take_done_if_here()
            return None
        raise ConnectionAbortedError("the response body was cut short: the worker failed")

    def _response(self, message, payload):
        status, headers = message.get("status"), message.get("headers")
        if isinstance(status, bool) or not isinstance(status, int) or not isinstance(headers, list):
            raise ChannelBroken("its response frame has no status or headers")
        return HttpResponse(status, headers, payload)

    def _take_done_if_here(self):
        """``done`` may already be here (spawned work that ended at once): then the
        turn ends here, without a thread to wait for it."""
        try:
            if not self.channel.frame_ready():
                self.channel.fill_nowait()
            if self.channel.frame_ready():
                self._pending = self.channel.take()
                if self._pending[0].get("op") == "done" and self._pending[0].get("turn") == self._turn:
                    self._pending = None
                    self._end_turn()
        except (EOFError, OSError, protocol.ProtocolError):
            pass  # finish() meets it again and says what it was

    def _answer(self, message):
        capability, function, args = message.get("capability"), message.get("function"), message.get("args", {})
        if not isinstance(capability, str) or not isinstance(function, str) or not isinstance(args, dict):
            return {"op": "error", "turn": self._turn, "kind": "Other",
                    "message": "spin-py: a host call needs a capability and function name and an object of arguments"}
        if self._instance is None:
            return {"op": "error", "turn": self._turn, "kind": "Other", "message": "spin-py: no host functions here"}
        try:
            value = self._instance.call(capability, function, args)
        except CapabilityError as error:
            return {"op": "error", "turn": self._turn, "kind": error.kind, "message": error.message}
        except Exception as error:  # a host bug must not take the request down with it
            traceback.print_exc()
            return {"op": "error", "turn": self._turn, "kind": "Other", "message": f"spin-py host error: {error!r}"}
        return {"op": "return", "turn": self._turn, "value": value}

    def _end_turn(self):
        self._in_turn = False
        self._body = None
        instance, self._instance = self._instance, None
        if instance is not None:
            try:
                instance.close()
            except Exception:
                traceback.print_exc()

    def _abandon(self):
        """The turn cannot end normally: stop the worker (its whole process group)."""
        self.stop()
        self._end_turn()

    def _broken_text(self, error):
        return (
            f"the worker for component '{self.component_id}' broke the channel protocol ({error}) "
            "and was stopped: nothing it sent reaches another request"
        )

    # --- the channel -------------------------------------------------------------------------

    def _next(self, deadline, client):
        """The next frame; waits at most until ``deadline`` (RequestCancelled) and
        raises ClientGone when ``client`` closes its connection meanwhile."""
        if self._pending is not None:
            frame, self._pending = self._pending, None
            return frame
        if self._body is not None and (not self._body_ended or self.body_error is not None):
            # The connection is still the body's (or the host answers it itself): what it
            # shows now is body bytes or the end of a body, not a client that left.
            client = None
        while True:
            try:
                frame = self._next_frame(deadline, client)
                if self._ready(frame[0]):
                    continue
                return frame
            except protocol.ProtocolError as error:
                # A writer left over from an earlier turn (see _stray) also wrote bytes that are
                # no frame: they are its, not this request's. Skip to the next whole frame;
                # frames of this turn go on. Anything else that breaks the framing ends the turn.
                if not (self.retiring and self._in_turn) or self._resyncs >= _MOST_RESYNCS:
                    raise
                self._resyncs += 1
                self.channel.resync()
                if self._resyncs == 1:
                    self.output.write(f"the worker for component '{self.component_id}' also wrote bytes that are no frame "
                                      f"({error}): skipped")

    def _next_frame(self, deadline, client):
        channel = self.channel
        while not channel.frame_ready():
            try:
                channel.fill()  # gives up after WATCH seconds without a byte (SO_RCVTIMEO)
                continue
            except BlockingIOError:
                pass
            if deadline is not None and time.monotonic() >= deadline:
                raise RequestCancelled("time limit")
            if client is not None and client_gone(client):
                raise ClientGone("client gone")
        return channel.take()

    def healthy(self) -> bool:
        """Fit to take a request, as far as the host knows without a system call: not stopped,
        idle, nothing unasked-for read from its channel. (A worker that died since is found when
        its request is sent: WorkerGone; one that wrote while idle, when its turn reads it.)"""
        return not (self._used or self._stopped or self.retiring or self._in_turn or self._pending is not None
                    or self.channel.has_data() or self.channel.fileno() < 0)

    def _exit_status(self):
        if self._stopped:
            return "was stopped by spin-py (shutting down, or the component was removed)"
        if self.pid is None and not self._learn_pid(2.0):
            return "ended before it started (its zygote was gone)"
        return self.zygote.exit_status(self.pid)

    def close(self) -> None:
        """The instance's turn ended cleanly: it exits by itself; let go of its channel."""
        with self._stop_lock:
            if self._stopped:
                return
            self._stopped = True
        self.channel.close()
        self._progress.close()
        with _live_lock:
            _live.discard(self)

    def stop(self):
        """Kill the instance's process group (what it started goes too; its zygote reaps it)."""
        with self._stop_lock:
            if self._stopped:
                return
            self._stopped = True
        if self.pid is None:
            self._learn_pid(1.0)  # else it never started, or already ended: its channel closing ends it
        if self.pid is not None:
            try:
                os.killpg(self.pid, signal.SIGKILL)  # the instance leads its own session and group
            except (ProcessLookupError, PermissionError):
                pass
        self.channel.close()
        with _live_lock:
            _live.discard(self)
