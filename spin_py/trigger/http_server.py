"""The HTTP trigger's wire layer: HTTP/1.1 over a socket for the trigger's WSGI app
(trigger/http.py), on werkzeug's threaded server with socketserver's connection
handling. Response heads as hyper writes them under Spin, request heads refused
where hyper refuses them, every read and write bounded in time.

Connections are kept alive, as hyper keeps them under Spin (crates/trigger-http/src/server.rs
serves each connection with hyper-util's auto Builder, keep-alive on): one connection serves
its requests one after another, in the order they came (pipelined ones too: the next request
is read only once the previous response has gone), until the client says ``Connection:
close``, speaks HTTP/1.0 without ``keep-alive``, or waits KEEP_ALIVE_IDLE seconds between
requests. A request body the component did not read to its end is read and dropped before the
next request (up to DRAIN_LIMIT bytes; past that, or when its framing is broken, the connection
closes instead), so the rest of a body is never taken for a request.

Each connection has its thread while it lives, so a slow or hostile client holds its own
connection's thread and nothing more; what a connection holds in memory is its buffered
reader (one read's worth) and the piece of a response on its way.
"""

import collections
import io
import re
import socket
import struct
import sys
import threading
import time
import traceback
from collections.abc import Callable
from email.message import Message
from typing import TYPE_CHECKING, Any

from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler

from spin_py.trigger.body import PIECE, BodyError, framing, iter_body
from spin_py.trigger.http import RAW_HEADERS, RAW_INPUT

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication, WSGIEnvironment

# Seconds one socket read or write may wait: a client that stops sending or reading loses its
# connection rather than holding a thread forever. (Spin sets no timer on hyper, whose connections
# are async tasks; here each is a thread.) A write is bounded as a whole too: each SEND_SLICE of
# a response must be taken within IO_TIMEOUT, so a client that stops reading is cut then (and the
# worker streaming to it freed), however the kernel's per-call limit counts. A client that
# trickles a byte at a time still holds a thread while it sends.
IO_TIMEOUT = 30
SEND_SLICE = 64 * 1024
# Seconds a kept-alive connection may wait for its next request. hyper under Spin has no timer
# (its idle connections cost a task, here they cost a thread), so the figure is uvicorn's default
# (timeout_keep_alive): longer than a browser's or a load tool's gap between requests.
KEEP_ALIVE_IDLE = 5
# The most of an unread request body read and dropped to keep its connection.
DRAIN_LIMIT = 1024 * 1024
# Seconds a connection's thread waits for another connection once its own has ended.
THREAD_IDLE = 5


def _limit(seconds: float) -> bytes:
    return struct.pack("ll", int(seconds), int(seconds % 1 * 1_000_000))


class _QuietRequestHandler(WSGIRequestHandler):
    """HTTP/1.1 with keep-alive, as Spin gives it; the trigger logs requests itself. The trigger
    gets the headers as sent and the undechunked stream (see RAW_HEADERS)."""

    protocol_version = "HTTP/1.1"
    rfile: "_ConnectionReader"  # type: ignore[assignment]
    wfile: "_ConnectionWriter"

    def setup(self) -> None:
        # StreamRequestHandler.setup, with the time limit kept by the kernel (SO_RCVTIMEO and SO_SNDTIMEO,
        # set on the listening socket: each connection gets them from it, see bind_trigger_server).
        # Python's socket timeout would add a poll before every read and write, each one a switch of
        # the interpreter lock between the server's threads.
        self.connection = self.request
        self.rfile = _ConnectionReader(io.BufferedReader(_TimedSocketIO(self.connection, "rb")))
        self.wfile = _ConnectionWriter(self.connection)

    def handle(self) -> None:
        """http.server's loop over one connection's requests, with the wait for each request
        after the first bounded by KEEP_ALIVE_IDLE (werkzeug's ``handle``: a dropped
        connection ends quietly)."""
        try:
            self.close_connection = True
            self.handle_one_request()
            while not self.close_connection and self._next_request_came():
                self.handle_one_request()
        except (ConnectionError, TimeoutError) as error:
            self.connection_dropped(error)

    def _next_request_came(self) -> bool:
        """Has the next request begun (in the buffer already, or within KEEP_ALIVE_IDLE)? False when
        the client closed its side or stayed silent."""
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, _limit(KEEP_ALIVE_IDLE))
        try:
            return bool(self.rfile.peek(1))
        except OSError:  # the wait passed (TimeoutError), or the client reset the connection
            return False
        finally:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, _limit(IO_TIMEOUT))

    # Response heads as hyper writes them under Spin: no `server` header, and a `date` only
    # when the response has none (hyper's Server::encode adds it then); http.server would
    # add both, beside the component's own. hyper writes the names it adds in lower case.
    def send_response(self, code: int, message: str | None = None) -> None:
        self.log_request(code)
        self.send_response_only(code, message)
        self._dated = False

    def send_header(self, keyword: str, value: str) -> None:
        if keyword.lower() == "date":
            self._dated = True
        super().send_header(keyword, value)

    def end_headers(self) -> None:
        if not getattr(self, "_dated", True):
            super().send_header("date", self.date_time_string())
        super().end_headers()

    def flush_headers(self) -> None:
        # The head goes out with the first piece of the body (see _ConnectionWriter.hold).
        buffered: list[bytes] = getattr(self, "_headers_buffer", [])
        if buffered:
            self.wfile.hold(b"".join(buffered))
            self._headers_buffer: list[bytes] = []

    def parse_request(self) -> bool:
        """http.server's, then hyper's refusal of a header it cannot parse (a space before the
        colon, a folded line): a 400, as hyper answers, where Python's parser would take the rest
        of the head for a body and drop those headers unseen (``Transfer-Encoding : chunked``).
        Whether the connection stays open follows the request's version and every ``Connection``
        token (http.server compares the whole header value with one word)."""
        if not super().parse_request():
            return False
        problem = _header_problem(self.headers)
        if problem is None:
            tokens = {t.strip().lower() for v in self.headers.get_all("connection", []) for t in v.split(",")}
            if self.request_version == "HTTP/1.1":
                self.close_connection = "close" in tokens
            else:  # HTTP/1.0 keeps a connection only when asked to (RFC 9112 9.3)
                self.close_connection = "keep-alive" not in tokens or "close" in tokens
            return True
        self.close_connection = True
        body = f"{problem}\n".encode()
        self.send_response(400)
        self.send_header("content-type", "text/plain; charset=utf-8")
        self.send_header("content-length", str(len(body)))
        self.send_header("connection", "close")
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()
        return False

    def run_wsgi(self) -> None:
        """werkzeug's, for a connection that serves another request after this one: the
        response says whether the connection stays (it is framed by its length or chunks, or
        ends with the connection for an HTTP/1.0 client), and the request's body is read to
        its end afterwards, or the connection closed."""
        if self.headers.get("Expect", "").lower().strip(" \t") == "100-continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        self.environ = environ = self.make_environ()
        body: _RequestBody = environ[RAW_INPUT]
        response = _Response(self, environ["REQUEST_METHOD"], body)
        try:
            iterable = self.server.app(environ, response.start)
            try:
                for data in iterable:
                    response.write(data)
                response.end()
            finally:
                close = getattr(iterable, "close", None)
                if close is not None:
                    close()
        except (ConnectionError, TimeoutError) as error:
            self.connection_dropped(error, environ)
            return
        except Exception:  # a bug below the trigger (which answers its own errors): the connection ends
            self.close_connection = True
            traceback.print_exc(file=sys.stderr)
            if not response.sent:
                response.start("500 Internal Server Error", [("content-length", "0")])
                response.end()
            return
        if not self.close_connection and not body.drain(DRAIN_LIMIT):
            self.close_connection = True

    def connection_dropped(self, error: BaseException, environ: "WSGIEnvironment | None" = None) -> None:
        """The response could not go on (the client stopped reading, or its body broke a rule and
        was cut): the connection ends here, not serving another request (the client cannot tell
        where the cut response ended)."""
        self.close_connection = True
        if isinstance(error, TimeoutError) and environ is not None:
            log = getattr(self.server.app, "log", None)
            if log is not None:
                log(f"{environ.get('REQUEST_METHOD')} {environ.get('RAW_URI') or environ.get('PATH_INFO')}: the client "
                    f"took nothing of the response for {IO_TIMEOUT} s (the I/O limit): the connection was cut")
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def make_environ(self) -> "WSGIEnvironment":
        environ = super().make_environ()
        environ[RAW_HEADERS] = list(self.headers.items())
        environ[RAW_INPUT] = _RequestBody(self.rfile, [(name.lower(), value) for name, value in self.headers.items()])
        return environ

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


class _Response:
    """One response on its way: werkzeug's ``write`` and ``start_response``, with the
    connection's fate said in the head."""

    def __init__(self, handler: _QuietRequestHandler, method: str, body: "_RequestBody") -> None:
        self._handler = handler
        self._method = method
        self._body = body
        self._status: str | None = None
        self._headers: list[tuple[str, str]] = []
        self.sent = False
        self._chunked = False

    def start(self, status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], object]:
        if exc_info and self.sent:
            raise exc_info[1].with_traceback(exc_info[2])
        self._status, self._headers = status, headers
        return self.write

    def write(self, data: bytes) -> None:
        if not self.sent:
            self._send_head()
        if data:
            if self._chunked:
                data = b"%x\r\n%s\r\n" % (len(data), data)
            self._handler.wfile.write(data)

    def end(self) -> None:
        if not self.sent:
            self._send_head()
        if self._chunked:
            self._handler.wfile.write(b"0\r\n\r\n")
        self._handler.wfile.flush()

    def _send_head(self) -> None:
        assert self._status is not None, "write() before start_response"
        handler = self._handler
        self.sent = True
        code_text, _, message = self._status.partition(" ")
        code = int(code_text)
        handler.send_response(code, message)
        names = set()
        for name, value in self._headers:
            handler.send_header(name, value)
            names.add(name.lower())
        # RFC 9112 6.3: a body without a length is chunked for an HTTP/1.1 client, and ends with
        # the connection for an HTTP/1.0 one.
        bodiless = self._method == "HEAD" or code < 200 or code in (204, 304)
        if not bodiless and "content-length" not in names:
            if handler.request_version == "HTTP/1.1":
                self._chunked = True
                handler.send_header("transfer-encoding", "chunked")
            else:
                handler.close_connection = True
        if not handler.close_connection and not self._body.drainable(DRAIN_LIMIT):
            handler.close_connection = True
        if handler.close_connection:
            handler.send_header("connection", "close")
        elif handler.request_version != "HTTP/1.1":
            handler.send_header("connection", "keep-alive")
        handler.end_headers()


def _header_problem(headers: Message) -> str | None:
    """Why hyper would refuse the request's head (httparse: a header name is a token followed by
    a colon; obs-fold continuation lines are refused), or None."""
    if headers.defects or headers.get_payload():
        line = str(headers.get_payload()).split("\r\n", 1)[0].split("\n", 1)[0]
        return f"invalid HTTP header line {line[:80]!r}"
    for name, value in headers.items():
        if not _TOKEN.fullmatch(name):
            return f"invalid HTTP header name {name[:80]!r}"
        if "\n" in value or "\r" in value:
            return f"invalid HTTP header {name!r}: a folded (multi-line) value"
    return None


# RFC 9110 5.6.2: a header name is a token (httparse refuses anything else).
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")


class _TimedSocketIO(socket.SocketIO):
    """A read the kernel's time limit cut off raises TimeoutError, as with a socket timeout
    (SocketIO would return None, which a buffered reader passes on as an end of stream)."""

    _sock: socket.socket

    def readinto(self, buffer: Any) -> int:
        self._checkClosed()
        self._checkReadable()  # type: ignore[attr-defined]
        try:
            return self._sock.recv_into(buffer)
        except BlockingIOError:
            raise TimeoutError("timed out") from None


class _ConnectionReader:
    """The connection's buffered reader, except that a read of more than PIECE bytes returns
    what one socket read brings (at most PIECE), as a raw read may: no reader of a body makes
    the connection hold more than one piece of it."""

    def __init__(self, stream: io.BufferedReader) -> None:
        self._stream = stream

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0 or size > PIECE:
            return self._stream.read1(PIECE)
        return self._stream.read(size)

    def readline(self, size: int | None = -1) -> bytes:
        return self._stream.readline(size)

    def peek(self, size: int = 0) -> bytes:
        return self._stream.peek(size)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


class _RequestBody:
    """The connection's stream as the trigger reads one request's body from it (RAW_INPUT),
    counting what it takes, so that the connection knows where the next request begins: the
    body's end is known from its Content-Length, or, chunked, when the trigger's reader
    (trigger/body.py's ``iter_body``) says it has read the last chunk (``body_ended``)."""

    def __init__(self, stream: _ConnectionReader, headers: list[tuple[str, str]]) -> None:
        self._stream = stream
        self._headers = headers
        self.taken = 0
        self.ended = False
        self._kind: str
        self._length: int | None
        try:
            self._kind, self._length = framing(headers)
        except BodyError:  # the trigger answers 400; where the body ends cannot be known
            self._kind, self._length = "broken", None

    def read(self, size: int | None = -1) -> bytes:
        data = self._stream.read(size)
        self.taken += len(data)
        return data

    def readline(self, size: int | None = -1) -> bytes:
        data = self._stream.readline(size)
        self.taken += len(data)
        return data

    def body_ended(self) -> None:
        self.ended = True

    def _left(self) -> int | None:
        """Bytes of the body not read yet; None for a chunked body, whose chunks tell."""
        if self.ended or self._kind == "none":
            return 0
        if self._kind == "length":
            assert self._length is not None
            return self._length - self.taken
        return None

    def drainable(self, limit: int) -> bool:
        """Can the rest of the body be read and dropped (``drain``) to keep the connection?"""
        if self._kind == "broken":
            return False
        left = self._left()
        if left is None:
            return self.taken == 0  # chunks are read again only from their start
        return left <= limit

    def drain(self, limit: int) -> bool:
        """Read and drop the rest of the body, at most ``limit`` bytes of it; False when the
        connection cannot serve another request (too much left, broken framing, a client gone)."""
        if not self.drainable(limit):
            return False
        left = self._left()
        try:
            if left is None:
                for _ in iter_body(self, self._headers, limit):
                    pass
                return self.ended
            while left > 0:
                piece = self._stream.read(min(left, PIECE))
                if not piece:
                    return False
                left -= len(piece)
        except (BodyError, OSError):
            return False
        return True


class _ConnectionWriter(io.BufferedIOBase):
    """socketserver's unbuffered writer, except that the response head it is given to hold
    goes out with the first piece of the body (one send, not two), and a write the kernel's
    time limit cut off raises TimeoutError, as with a socket timeout."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._head = b""

    def writable(self) -> bool:
        return True

    def hold(self, head: bytes) -> None:
        self._head += head

    def write(self, data: Any) -> int:
        size = memoryview(data).nbytes
        if self._head:
            data, self._head = self._head + bytes(data), b""
        self._send(data)
        return size

    def flush(self) -> None:
        if self._head:
            data, self._head = self._head, b""
            self._send(data)

    def _send(self, data: Any) -> None:
        view = memoryview(data).cast("B")
        offset, total = 0, len(view)
        while offset < total:
            end = min(offset + SEND_SLICE, total)
            deadline = time.monotonic() + IO_TIMEOUT
            while offset < end:
                try:
                    offset += self._sock.send(view[offset:end])
                except BlockingIOError:  # the kernel's limit passed with nothing taken
                    raise TimeoutError("timed out") from None
                # Taken in part: the kernel returns what went once its limit passes, so a client
                # reading a trickle would hold the thread one limit per call without this.
                if offset < end and time.monotonic() >= deadline:
                    raise TimeoutError("timed out")

    def fileno(self) -> int:
        return self._sock.fileno()


class _ThreadReusingServer(ThreadedWSGIServer):
    """werkzeug's threaded server (a thread for each connection, however many), except that a
    thread whose connection has ended waits THREAD_IDLE seconds for the next one instead of
    exiting: starting a thread costs more than serving a small request. (A bounded pool, such
    as concurrent.futures', would let slow clients hold every thread; here a connection that
    finds no idle thread still gets a new one at once.)"""

    block_on_close = False  # idle threads end on their own; shutdown does not wait for them

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._ready = threading.Condition()
        self._waiting: collections.deque[tuple[Any, Any]] = collections.deque()  # connections handed to idle threads, not yet taken
        self._idle = 0  # threads waiting for a connection

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._ready:
            if self._idle > len(self._waiting):
                self._waiting.append((request, client_address))
                self._ready.notify()
                return
        threading.Thread(target=self._serve_connections, args=(request, client_address), daemon=True).start()

    def _serve_connections(self, request: Any, client_address: Any) -> None:
        while True:
            self.process_request_thread(request, client_address)  # ThreadingMixIn's: handle, then close
            connection = self._next_connection()
            if connection is None:
                return
            request, client_address = connection

    def _next_connection(self) -> tuple[Any, Any] | None:
        deadline = time.monotonic() + THREAD_IDLE
        with self._ready:
            self._idle += 1
            try:
                while not self._waiting:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        return None
                    self._ready.wait(left)
                return self._waiting.popleft()
            finally:
                self._idle -= 1


class ListenError(Exception):
    """The address cannot be listened on; the text is one line naming it."""


def bind_server(host: str, port: int, app: "WSGIApplication", **options: Any) -> _ThreadReusingServer:
    """A threaded werkzeug server on HOST:PORT; ListenError (one line) when the address is taken.

    werkzeug exits the process when it cannot bind, so the socket is bound here and handed over.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        listener = socket.create_server((host, port), family=family, backlog=128)
    except OSError as error:
        raise ListenError(f"--listen {host}:{port}: {error.strerror or error}") from None
    server = _ThreadReusingServer(host, port, app, fd=listener.fileno(), **options)
    listener.detach()
    return server


def bind_trigger_server(host: str, port: int, app: "WSGIApplication") -> _ThreadReusingServer:
    """The HTTP trigger's server on HOST:PORT: ``bind_server`` with this module's request handler,
    and every connection's reads and writes bounded by IO_TIMEOUT."""
    server = bind_server(host, port, app, handler=_QuietRequestHandler)
    # Every connection accepted inherits these from the listening socket (see _QuietRequestHandler.setup).
    server.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, _limit(IO_TIMEOUT))
    server.socket.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, _limit(IO_TIMEOUT))
    return server
