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
asks for it (``read``), from a BodySource. What belongs to one turn (its body, its
answer, the per-request instance answering its host calls) is that turn's Turn.

A well-formed frame of an earlier turn (a thread the handler left behind wrote
it late) is dropped and said once under the component: the request being served
goes on, and the worker is replaced once its turn ends. Anything that breaks the
current turn itself (a second response, a frame that is not JSON or breaks the
framing, half a frame and then silence) means the channel can no longer be
trusted: the worker is stopped, its request gets a 500 that says what happened,
and nothing reaches another request. What a worker writes while idle is met by
its next turn, as above. A worker that died while idle is found when a request
is sent to it, before any of it arrived (WorkerGone): the request goes to another.

A worker serves one request (or one batch of Redis messages, a turn each) and is
not used again; the pool guarantees that.
"""


from __future__ import annotations

import os
import select
import signal
import socket
import struct
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from spin_py.capabilities.errors import CapabilityError
from spin_py.wire.frames import (
    FINISH_LIMIT,
    PIECE,
    PROGRESS,
    BodyPieceFrame,
    ErrorFrame,
    Headers,
    HttpFrame,
    RedisFrame,
    ReturnFrame,
)
from spin_py.wire.framing import Channel, ProtocolError

if TYPE_CHECKING:
    from spin_py.capabilities.seam import Instance
    from spin_py.host.instances import Zygote
    from spin_py.host.output import ComponentOutput
    from spin_py.host.runtime import AppRuntime

Frame = tuple[dict[str, Any], bytes]  # a frame as it arrived: its JSON object (unchecked) and its body

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

    handled: Sequence[str | None] = ()  # Worker.deliver: the results of the Redis messages handled before the failure


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
    headers: Headers
    body: bytes | ResponseStream


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

    def __init__(self, worker: Worker, client: socket.socket | None) -> None:
        self._worker = worker
        self._client = client
        self.ended_cleanly = False
        self._closed = False
        self.on_close: Callable[[bool], None] | None = None  # called once with ended_cleanly

    def __iter__(self) -> Iterator[bytes]:
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


def request_instance(runtime: AppRuntime, component_id: str) -> Instance:
    """A fresh per-request instance (``call(capability, function, args)`` and ``close()``)."""
    return runtime.instance(component_id)


def client_gone(client: socket.socket) -> bool:
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


class Turn:
    """One request's part of the conversation on a worker's channel (an HTTP request, or one
    Redis message of a batch), from the frame that starts it to the one that ends it, as
    uvicorn keeps a request's state in its RequestResponseCycle: which answer it waits for,
    the request body the worker pulls, the response body it streams, and the per-request
    instance that answers its host calls, closed when the turn ends."""

    def __init__(self, number: int, answer: str, instance: Instance | None, source: BodySource | None,
                 deadline: float | None, client: socket.socket | None, last_quiet: int | None = None) -> None:
        self.number = number
        self.deadline = deadline  # when the handler's time is up (time.monotonic()), None: never
        # The last turn a ``handled`` frame with ``first`` may end together with this one (a batch of
        # Redis messages handled quietly: guest/host.py); a turn alone ends only itself.
        self.last_quiet = number if last_quiet is None else last_quiet
        self.answer = answer  # the op that ends the handler's part: "response" (http) or "handled" (redis)
        self.instance = instance
        self.source = source  # the request body the worker pulls from; None when sent whole
        self.body_ended = source is None
        self.body_error: Exception | None = None  # why the client's body could not be read (the trigger answers with it)
        self.responded = False
        self.streaming = False  # a streamed response body is on its way
        self.stream_ended = False
        self.over = False  # ``done`` (or its equivalent) came, or the turn was abandoned
        if instance is not None:
            # A host call belongs to its request: it stops at the request's time limit, or once its
            # client has left (capabilities/seam.py, Instance.ended).
            instance.deadline = deadline
            if client is not None:
                instance.client_gone = lambda: client_gone(client)

    def answered(self) -> None:
        """The handler's answer came: what it spawned goes on without the client (finish())."""
        if self.instance is not None:
            self.instance.client_gone = None

    def owns_connection(self) -> bool:
        """Is the client's connection still the request body's? What it shows then is body
        bytes or the end of a body (or the host answers it itself), not a client that left."""
        return self.source is not None and (not self.body_ended or self.body_error is not None)

    def advance(self, op: object, message: dict[str, Any]) -> None:
        """A frame of this turn other than a call or a read: the answer, a piece of a streamed
        response, its end, ``done`` or ``failed``. Raises ChannelBroken for one out of order."""
        if op == self.answer:  # "response" to an http turn, "handled" to a redis one
            if self.responded:
                raise ChannelBroken(f"it sent a second {op}")
            self.responded = True
            self.streaming = op == "response" and message.get("stream") is True
        elif op in ("body", "end"):
            if not self.streaming or self.stream_ended:
                raise ChannelBroken(f"it sent a {op!r} frame outside a streamed response body")
            if op == "end":
                self.stream_ended = True
                if message.get("done") is True:
                    self.end()
        elif op == "done":
            if not self.responded:
                raise ChannelBroken("it said done before responding")
            if self.streaming and not self.stream_ended:
                raise ChannelBroken("it said done before the end of its response body")
            self.end()
        elif op == "failed":
            raise HandlerFailed(str(message.get("error", "the handler failed")))
        else:
            raise ChannelBroken(f"it sent an unexpected {op!r} frame")

    def call(self, message: dict[str, Any]) -> ReturnFrame | ErrorFrame:
        """Answer a ``call``: the host function's value, or its error."""
        capability, function, args = message.get("capability"), message.get("function"), message.get("args", {})
        if not isinstance(capability, str) or not isinstance(function, str) or not isinstance(args, dict):
            return self._error("Other", "spin-py: a host call needs a capability and function name and an object of arguments")
        if self.instance is None:
            return self._error("Other", "spin-py: no host functions here")
        try:
            value = self.instance.call(capability, function, args)
        except CapabilityError as error:
            return self._error(error.kind, error.message)
        except Exception as error:  # a host bug must not take the request down with it
            traceback.print_exc()
            return self._error("Other", f"spin-py host error: {error!r}")
        return {"op": "return", "turn": self.number, "value": value}

    def read(self, message: dict[str, Any]) -> tuple[BodyPieceFrame | ErrorFrame, bytes]:
        """Answer a ``read``: the next piece of the request body, at most ``max`` bytes."""
        size = message.get("max")
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            size = PIECE
        size = min(size, PIECE)
        if self.body_ended or self.body_error is not None or self.source is None:
            return {"op": "body", "turn": self.number, "end": True}, b""
        try:
            piece = self.source.read(size)
        except Exception as error:  # the client's body: cut short, malformed, over the limit
            self.body_error = error
            self.body_ended = True
            return self._error("BodyError", str(error)), b""
        self.body_ended = not piece
        return {"op": "body", "turn": self.number, "end": self.body_ended}, piece

    def _error(self, kind: str, text: str) -> ErrorFrame:
        return {"op": "error", "turn": self.number, "kind": kind, "message": text}

    def end(self) -> None:
        """The turn is over: its instance is closed (the resources its host calls opened)."""
        self.over = True
        self.source = None
        instance, self.instance = self.instance, None
        if instance is not None:
            try:
                instance.close()
            except Exception:
                traceback.print_exc()


# Every worker not yet stopped, so that the host's shutdown stops them all, busy or starting.
_live: set[Worker] = set()
_live_lock = threading.Lock()


def stop_all() -> None:
    """Stop every worker this process started (the host is shutting down)."""
    with _live_lock:
        workers = list(_live)
    for worker in workers:
        worker.stop()


class Worker:
    """One instance of a component: a process forked from its zygote (host/instances.py)
    that serves one request (or one batch of Redis messages, a turn each) and exits. What
    belongs to one request is its Turn's; what is here belongs to the channel."""

    def __init__(self, zygote: Zygote, output: ComponentOutput) -> None:
        self.component_id = zygote.component_id
        self.output = output
        self.files = zygote.files  # the app's source files its code imported
        self.generation = 0  # set by the pool
        self.pid: int | None = None  # the instance's process (and process group), once its ``ready`` frame is read
        self.zygote = zygote
        self._turn: Turn | None = None  # the current turn, or the last one (an instance serves one request)
        self._pending: Frame | None = None  # a frame read ahead while looking for ``done``
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
        self.channel = Channel(sock)

    @property
    def _number(self) -> int:
        """The number of the last turn started (0: none yet)."""
        return self._turn.number if self._turn is not None else 0

    @property
    def body_error(self) -> Exception | None:
        """Why the client's body could not be read, when it could not (the trigger answers with it)."""
        return self._turn.body_error if self._turn is not None else None

    def _ready(self, message: dict[str, Any]) -> bool:
        """Is ``message`` the instance's first frame, which says its process id?"""
        if self.pid is None and message.get("op") == "ready" and "turn" not in message:
            pid = message.get("pid")
            if isinstance(pid, int) and not isinstance(pid, bool) and pid > 1:
                self.pid = pid
                return True
            raise ChannelBroken("its ready frame has no process id")
        return False

    def wait_ready(self, limit: float = LOAD_LIMIT) -> None:
        """Block until the instance has said ready (it is forked at once: a few milliseconds)."""
        try:
            message, _ = self._next_frame(time.monotonic() + limit, None)
        except (EOFError, OSError):
            raise LoadFailed(f"the worker for component '{self.component_id}' {self._exit_status()} as it started") from None
        except RequestCancelled:
            self.stop()
            raise LoadFailed(f"the worker for component '{self.component_id}' did not start within {limit:g} s") from None
        except ProtocolError as error:
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
        except (EOFError, OSError, RequestCancelled, ProtocolError, ChannelBroken):
            return False

    # --- one turn --------------------------------------------------------------------------

    def serve(self, method: str, uri: str, headers: Headers, body: bytes | bytearray | memoryview | BodySource,
              instance: Instance | None = None, client: socket.socket | None = None,
              timeout: float | None = None) -> HttpResponse:
        """Send one request and return its response once it arrives; the turn may go on
        after that (see ``in_turn`` and ``finish``). ``body``: bytes, or a BodySource the
        worker pulls from as its handler reads (the response's body is then a
        ResponseStream when the worker streams it). ``instance`` answers the host calls
        of the whole turn and is closed when it ends. ``client``: the HTTP client's
        socket, watched so that a request whose client left is cancelled. ``timeout``:
        seconds the handler has to respond."""
        request: HttpFrame = {"op": "http", "turn": self._number + 1, "method": method, "uri": uri, "headers": headers}
        source: BodySource | None = None
        if not isinstance(body, (bytes, bytearray, memoryview)):
            request["stream"], source, body = True, body, b""
        turn = Turn(request["turn"], "response", instance, source, _deadline(timeout), client)
        message, payload = self._run_turn(turn, request, body, client, timeout, "the request")
        try:
            response = self._response(message, payload)
        except ChannelBroken as error:
            self._abandon()
            raise ChannelBroken(self._broken_text(error)) from None
        if turn.streaming:
            response.body = ResponseStream(self, client)
        return response

    def deliver(self, payloads: list[bytes], instances: Callable[[], Instance], timeout: float | None = None,
                meanwhile: Callable[[], None] | None = None) -> list[str | None]:
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
        first = self._number + 1
        last = first + len(payloads) - 1
        request: RedisFrame = {"op": "redis", "turn": first}
        if len(payloads) > 1:
            request["sizes"] = [len(payload) for payload in payloads]
        body = payloads[0] if len(payloads) == 1 else b"".join(payloads)
        results: list[str | None] = []
        try:
            while len(results) < len(payloads):
                turn = Turn(self._number + 1, "handled", instances(), None, _deadline(timeout), None, last)
                # Only the first turn sends: the worker starts the others itself, one after another.
                message, _ = self._run_turn(turn, None if results else request, body, None, timeout,
                                            "a Redis message", sent=None if results else meanwhile)
                error = message.get("error")
                if error is not None and not isinstance(error, str):
                    self._abandon()
                    raise ChannelBroken(self._broken_text("its handled frame has an error that is not text"))
                quiet = turn.number - first - len(results)  # the turns before this one that ended quietly
                results.extend([None] * quiet)
                results.append(error)
                if not turn.over and len(results) < len(payloads) and not self.finish():
                    break  # the next message needs this turn over, and it did not end
        except WorkerError as failure:
            # Messages it handled quietly, and had not said so yet when it failed, are not delivered again.
            results.extend([None] * self._quietly_handled(first + len(results), last))
            failure.handled = results
            raise
        return results

    def _quietly_handled(self, turn: int, last: int) -> int:
        """How many turns from ``turn`` on (up to ``last``) ended quietly, by the worker's progress map."""
        last = min(PROGRESS.unpack_from(self._progress)[0], last)
        return max(0, last - turn + 1)

    def _run_turn(self, turn: Turn, request: HttpFrame | RedisFrame | None, body: bytes | bytearray | memoryview,
                  client: socket.socket | None, timeout: float | None, what: str,
                  sent: Callable[[], None] | None = None) -> Frame:
        """Start ``turn`` with ``request`` (None: the worker starts it itself, the next of a
        batch already sent), call ``sent()`` once it is sent, and return the answer frame
        ``(message, payload)``."""
        self._turn = turn
        deadline = turn.deadline
        try:
            if request is not None:
                try:
                    self.channel.send(request, body)
                except (BrokenPipeError, ConnectionResetError):
                    raise WorkerGone(f"the worker for component '{self.component_id}' {self._exit_status()} "
                                     f"before {what} reached it") from None
                if sent is not None:
                    sent()
            while True:
                message, payload = self._next(deadline, client)
                if self._turn_frame(message) == turn.answer:
                    turn.answered()
                    if message.get("done") is True and not turn.streaming:
                        turn.end()  # the usual case: nothing goes on after the answer
                    elif not turn.streaming:
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
        except (ChannelBroken, ProtocolError) as error:
            self._abandon()
            raise ChannelBroken(self._broken_text(error)) from None
        except (EOFError, OSError):
            turn.end()
            raise HandlerFailed(
                f"the worker for component '{self.component_id}' {self._exit_status()} while handling {what}"
            ) from None
        except HandlerFailed:
            turn.end()
            raise

    @property
    def in_turn(self) -> bool:
        """Has the worker responded but not yet said ``done``?"""
        return self._turn is not None and not self._turn.over

    def finish(self, limit: float = DONE_LIMIT) -> bool:
        """Answer host calls until the worker says ``done`` (at most ``limit`` seconds).
        True when the turn ended cleanly; otherwise the worker is stopped and the
        reason goes to the component's output (the client already has its answer)."""
        deadline = time.monotonic() + limit
        turn = self._turn
        if turn is not None and turn.instance is not None:
            turn.instance.deadline = deadline  # the host calls of spawned work share its limit
        try:
            while self.in_turn:
                message, _ = self._next(deadline, None)
                self._turn_frame(message)
            return True
        except RequestCancelled:
            problem = f"did not finish within {limit:g} s after its response"
        except HandlerFailed as error:
            problem = f"failed after its response: {error}"
        except ProtocolError as error:
            problem = f"broke the channel protocol after its response ({error})"
        except (EOFError, OSError):
            problem = f"{self._exit_status()} after its response"
        self._abandon()
        self.output.write(f"the worker for component '{self.component_id}' {problem}; it was stopped".rstrip("\n"))
        return False

    def _turn_frame(self, message: dict[str, Any]) -> object:
        """Handle one frame of the current turn; returns its op (None: a stray frame, dropped)."""
        turn = self._turn
        assert turn is not None, "a frame read outside any turn"
        op = message.get("op")
        number = message.get("turn")
        if op == "handled" and message.get("first") == turn.number and isinstance(number, int) \
                and turn.number < number <= turn.last_quiet:
            turn.number = number  # a run of Redis messages handled quietly: no error, no host call (guest/host.py)
        if number != turn.number:
            if isinstance(number, int) and not isinstance(number, bool) and 0 <= number < turn.number:
                self._stray(op, number)
                return None
            raise ChannelBroken(f"it sent a {op!r} frame of turn {number!r} during turn {turn.number}")
        if op == "call":
            self.channel.send(turn.call(message))
        elif op == "read":
            self.channel.send(*turn.read(message))
        else:
            turn.advance(op, message)
        return op

    def _stray(self, op: object, number: int) -> None:
        """A well-formed frame of an earlier turn: not this request's business. Said once;
        the worker is replaced when the current turn ends."""
        self.retiring = True
        if not self._stray_said:
            self._stray_said = True
            self.output.write(
                f"the worker for component '{self.component_id}' sent a {op!r} frame of turn {number} during turn "
                f"{self._number} (a thread or task its handler left running?): it was dropped, and the worker is "
                "replaced once the current request ends"
            )

    def _next_piece(self, client: socket.socket | None) -> bytes | None:
        """The next piece of a streamed response body, None at its end (ResponseStream)."""
        turn = self._turn
        assert turn is not None, "a response body outside any turn"
        try:
            while not turn.stream_ended:
                message, payload = self._next(None, client)
                if self._turn_frame(message) == "body":
                    if turn.body_error is not None:  # the client's body broke while the response streamed
                        self._abandon()
                        raise ConnectionAbortedError(f"the request body could not be read: {turn.body_error}")
                    if payload:
                        return payload
        except ClientGone:
            raise ConnectionAbortedError("the client went away during the response body") from None
        except HandlerFailed as error:
            self._abandon()
            self.output.write(f"the worker for component '{self.component_id}' failed during its response body: {error}".rstrip("\n"))
        except ProtocolError as error:
            self._abandon()
            self.output.write(self._broken_text(error))
        except (EOFError, OSError):
            self._abandon()
            self.output.write(f"the worker for component '{self.component_id}' {self._exit_status()} during its response body")
        else:
            if not turn.over:
                self._take_done_if_here()
            return None
        raise ConnectionAbortedError("the response body was cut short: the worker failed")

    @staticmethod
    def _response(message: dict[str, Any], payload: bytes) -> HttpResponse:
        status, headers = message.get("status"), message.get("headers")
        if isinstance(status, bool) or not isinstance(status, int) or not isinstance(headers, list):
            raise ChannelBroken("its response frame has no status or headers")
        return HttpResponse(status, headers, payload)

    def _take_done_if_here(self) -> None:
        """``done`` may already be here (spawned work that ended at once): then the
        turn ends here, without a thread to wait for it."""
        try:
            if not self.channel.frame_ready():
                self.channel.fill_nowait()
            if self.channel.frame_ready():
                self._pending = self.channel.take()
                if self._pending[0].get("op") == "done" and self._pending[0].get("turn") == self._number:
                    self._pending = None
                    if self._turn is not None:
                        self._turn.end()
        except (EOFError, OSError, ProtocolError):
            pass  # finish() meets it again and says what it was

    def _abandon(self) -> None:
        """The turn cannot end normally: stop the worker (its whole process group)."""
        self.stop()
        if self._turn is not None:
            self._turn.end()

    def _broken_text(self, error: object) -> str:
        return (
            f"the worker for component '{self.component_id}' broke the channel protocol ({error}) "
            "and was stopped: nothing it sent reaches another request"
        )

    # --- the channel -------------------------------------------------------------------------

    def _next(self, deadline: float | None, client: socket.socket | None) -> Frame:
        """The next frame; waits at most until ``deadline`` (RequestCancelled) and
        raises ClientGone when ``client`` closes its connection meanwhile."""
        if self._pending is not None:
            frame, self._pending = self._pending, None
            return frame
        if self._turn is not None and self._turn.owns_connection():
            client = None
        while True:
            try:
                frame = self._next_frame(deadline, client)
                if self._ready(frame[0]):
                    continue
                return frame
            except ProtocolError as error:
                # A writer left over from an earlier turn (see _stray) also wrote bytes that are
                # no frame: they are its, not this request's. Skip to the next whole frame;
                # frames of this turn go on. Anything else that breaks the framing ends the turn.
                if not (self.retiring and self.in_turn) or self._resyncs >= _MOST_RESYNCS:
                    raise
                self._resyncs += 1
                self.channel.resync()
                if self._resyncs == 1:
                    self.output.write(f"the worker for component '{self.component_id}' also wrote bytes that are no frame "
                                      f"({error}): skipped")

    def _next_frame(self, deadline: float | None, client: socket.socket | None) -> Frame:
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
        """Fit to take a request, as far as the host knows without a system call: never used
        (an instance serves one request), not stopped, nothing unasked-for read from its
        channel. (A worker that died since is found when its request is sent: WorkerGone;
        one that wrote while idle, when its turn reads it.)"""
        return not (self._turn is not None or self._stopped or self.retiring or self._pending is not None
                    or self.channel.has_data() or self.channel.fileno() < 0)

    def _exit_status(self) -> str:
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

    def stop(self) -> None:
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


def _deadline(timeout: float | None) -> float | None:
    return time.monotonic() + timeout if timeout else None
