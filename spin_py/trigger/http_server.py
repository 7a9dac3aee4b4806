"""The HTTP trigger's wire layer: HTTP/1.1 over a socket for the trigger's WSGI app
(trigger/http.py), on werkzeug's threaded server with socketserver's connection
handling. Response heads as hyper writes them under Spin, request heads refused
where hyper refuses them, every read and write bounded in time.
"""

import collections
import io
import re
import socket
import struct
import threading
import time
from typing import TYPE_CHECKING

from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication

from spin_py.trigger.body import PIECE
from spin_py.trigger.http import RAW_HEADERS, RAW_INPUT

# Seconds one socket read or write may wait: a client that stops sending or reading loses its
# connection rather than holding a thread forever. (Spin sets no timer on hyper, whose connections
# are async tasks; here each is a thread.) A write is bounded as a whole too: each SEND_SLICE of
# a response must be taken within IO_TIMEOUT, so a client that stops reading is cut then (and the
# worker streaming to it freed), however the kernel's per-call limit counts. A client that
# trickles a byte at a time still holds a thread while it sends.
IO_TIMEOUT = 30
SEND_SLICE = 64 * 1024
# Seconds a connection's thread waits for another connection once its own has ended.
THREAD_IDLE = 5


class _QuietRequestHandler(WSGIRequestHandler):
    """HTTP/1.1 responses, as Spin gives them (werkzeug still closes each connection); the trigger logs
    requests itself. The trigger gets the headers as sent and the undechunked stream (see RAW_HEADERS)."""

    protocol_version = "HTTP/1.1"

    def setup(self):
        # StreamRequestHandler.setup, with the time limit kept by the kernel (SO_RCVTIMEO and SO_SNDTIMEO,
        # set on the listening socket: each connection gets them from it, see DevServer). Python's
        # socket timeout would add a poll before every read and write, each one a switch of the
        # interpreter lock between the server's threads.
        self.connection = self.request
        self.rfile = _ConnectionReader(io.BufferedReader(_TimedSocketIO(self.connection, "rb")))
        self.wfile = _ConnectionWriter(self.connection)

    # Response heads as hyper writes them under Spin: no `server` header, and a `date` only
    # when the response has none (hyper's Server::encode adds it then); http.server would
    # add both, beside the component's own.
    def send_response(self, code, message=None):
        self.log_request(code)
        self.send_response_only(code, message)
        self._dated = False

    def send_header(self, keyword, value):
        if keyword.lower() == "date":
            self._dated = True
        super().send_header(keyword, value)

    def end_headers(self):
        if not getattr(self, "_dated", True):
            super().send_header("Date", self.date_time_string())
        super().end_headers()

    def flush_headers(self):
        # BaseHTTPRequestHandler writes the head at once; werkzeug then writes the body and flushes.
        if hasattr(self, "_headers_buffer"):
            self.wfile.hold(b"".join(self._headers_buffer))
            self._headers_buffer = []

    def parse_request(self):
        """http.server's, and then hyper's refusal of a header it cannot parse (a space before the
        colon, a folded line): a 400, as hyper answers, where Python's parser would take the rest
        of the head for a body and drop those headers unseen (``Transfer-Encoding : chunked``)."""
        if not super().parse_request():
            return False
        problem = _header_problem(self.headers)
        if problem is None:
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

    def connection_dropped(self, error, environ=None):
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

    def make_environ(self):
        environ = super().make_environ()
        environ[RAW_HEADERS] = list(self.headers.items())
        environ[RAW_INPUT] = self.rfile
        return environ

    def log_request(self, *args, **kwargs):
        pass


def _header_problem(headers) -> str | None:
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

    def readinto(self, buffer):
        self._checkClosed()
        self._checkReadable()
        try:
            return self._sock.recv_into(buffer)
        except BlockingIOError:
            raise TimeoutError("timed out") from None


class _ConnectionReader:
    """The connection's buffered reader, except that a read of more than PIECE bytes returns
    what one socket read brings (at most PIECE), as a raw read may: werkzeug drains what a
    client still sends after the response with reads of 10 MB each."""

    def __init__(self, stream):
        self._stream = stream

    def read(self, size=-1):
        if size is None or size < 0 or size > PIECE:
            return self._stream.read1(PIECE)
        return self._stream.read(size)

    def __getattr__(self, name):
        return getattr(self._stream, name)


class _ConnectionWriter(io.BufferedIOBase):
    """socketserver's unbuffered writer, except that the response head it is given to hold
    goes out with the first piece of the body (one send, not two), and a write the kernel's
    time limit cut off raises TimeoutError, as with a socket timeout."""

    def __init__(self, sock):
        self._sock = sock
        self._head = b""

    def writable(self):
        return True

    def hold(self, head):
        self._head += head

    def write(self, data):
        size = memoryview(data).nbytes
        if self._head:
            data, self._head = self._head + bytes(data), b""
        self._send(data)
        return size

    def flush(self):
        if self._head:
            data, self._head = self._head, b""
            self._send(data)

    def _send(self, data):
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

    def fileno(self):
        return self._sock.fileno()


class _ThreadReusingServer(ThreadedWSGIServer):
    """werkzeug's threaded server (a thread for each connection, however many), except that a
    thread whose connection has ended waits THREAD_IDLE seconds for the next one instead of
    exiting: starting a thread costs more than serving a small request. (A bounded pool, such
    as concurrent.futures', would let slow clients hold every thread; here a connection that
    finds no idle thread still gets a new one at once.)"""

    block_on_close = False  # idle threads end on their own; shutdown does not wait for them

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._ready = threading.Condition()
        self._waiting = collections.deque()  # connections handed to idle threads, not yet taken
        self._idle = 0  # threads waiting for a connection

    def process_request(self, request, client_address):
        with self._ready:
            if self._idle > len(self._waiting):
                self._waiting.append((request, client_address))
                self._ready.notify()
                return
        threading.Thread(target=self._serve_connections, args=(request, client_address), daemon=True).start()

    def _serve_connections(self, request, client_address):
        while True:
            self.process_request_thread(request, client_address)  # ThreadingMixIn's: handle, then close
            connection = self._next_connection()
            if connection is None:
                return
            request, client_address = connection

    def _next_connection(self):
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
    pass


def bind_server(host, port, app, **options):
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


def bind_trigger_server(host: str, port: int, app: "WSGIApplication") -> "_ThreadReusingServer":
    """The HTTP trigger's server on HOST:PORT: ``bind_server`` with this module's request handler,
    and every connection's reads and writes bounded by IO_TIMEOUT."""
    server = bind_server(host, port, app, handler=_QuietRequestHandler)
    # Every connection accepted inherits these from the listening socket (see _QuietRequestHandler.setup).
    limit = struct.pack("ll", IO_TIMEOUT, 0)
    server.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, limit)
    server.socket.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, limit)
    return server
