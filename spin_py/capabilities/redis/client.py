"""One Redis connection as Spin's host holds it (redis-rs's MultiplexedConnection):
commands go out and replies come back untouched by redis-py's per-command
response callbacks, so `execute` can tell a status reply from a bulk string
as Spin's RedisResult does. redis-py does the URL parsing, AUTH, SELECT and TLS."""

from typing import Any

from redis._parsers.resp2 import _RESP2Parser
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as _ClosedError
from redis.exceptions import InvalidResponse
from redis.retry import Retry
from redis.utils import SENTINEL

from spin_py.capabilities.limits import cut_socket, watched

CONNECT_TIMEOUT = 10  # seconds

# redis-rs's names for the error codes it knows (redis/src/types.rs); any other code is an extension error.
KNOWN_CODES = {
    "ERR": "ResponseError", "EXECABORT": "ExecAbortError", "LOADING": "BusyLoadingError",
    "NOSCRIPT": "NoScriptError", "MOVED": "Moved", "ASK": "Ask", "TRYAGAIN": "TryAgain",
    "CLUSTERDOWN": "ClusterDown", "CROSSSLOT": "CrossSlot", "MASTERDOWN": "MasterDown",
    "READONLY": "ReadOnly", "NOTBUSY": "NotBusy",
}


class Status(str):
    """A simple-string reply (``+OK``): Spin's RedisResult::Status."""


class ServerError(Exception):
    """An error reply, worded as redis-rs's RedisError displays it (what Spin's Other carries)."""

    def __init__(self, line: str) -> None:
        code, _, detail = line.partition(" ")
        if code in KNOWN_CODES:
            text = f"An error was signalled by the server - {KNOWN_CODES[code]}: {detail}" if detail else (
                f"An error was signalled by the server- {KNOWN_CODES[code]}")
        else:
            text = f"{code}: {detail}"
        super().__init__(text)


class RawParser(_RESP2Parser):
    """RESP2 with status replies kept apart from bulk strings and error replies as values."""

    def _read_response(self, disable_decoding: bool = False, timeout: Any = SENTINEL) -> Any:
        buffer: Any = self._buffer  # set while the connection is open
        raw = buffer.readline(timeout=timeout)
        if not raw:
            raise _ClosedError("Connection closed by server.")
        byte, rest = raw[:1], raw[1:]
        if byte == b"-":
            return ServerError(rest.decode("utf-8", "replace"))
        if byte == b"+":
            return Status(rest.decode("utf-8", "replace"))
        if byte == b":":
            return int(rest)
        if byte in (b"$", b"*") and rest == b"-1":
            return None
        if byte == b"$":
            return bytes(buffer.read(int(rest), timeout=timeout))
        if byte == b"*":
            return [self._read_response(timeout=timeout) for _ in range(int(rest))]
        raise InvalidResponse(f"Protocol Error: {raw!r}")


class RedisConnection:
    def __init__(self, address: str, request: Any = None) -> None:
        """Connects at once, for ``request`` (a seam.Instance: the connect and the handshake
        end with it; None: at most CONNECT_TIMEOUT and the socket timeout)."""
        import redis

        left = request.seconds_left() if request is not None else None
        timeout = CONNECT_TIMEOUT if left is None else max(0.001, min(CONNECT_TIMEOUT, left))
        # No retries: a command on a broken connection fails, as with redis-rs, and is not sent again.
        self._pool = redis.ConnectionPool.from_url(
            address, parser_class=RawParser, protocol=2, socket_connect_timeout=timeout, socket_timeout=60,
            retry=Retry(NoBackoff(), 0),
        )
        # The connection is made apart from the pool (which only parses the URL), so that the
        # watcher can reach its socket while the handshake waits for the server.
        self._connection = self._pool.make_connection()
        try:
            with watched(request.ended if request is not None else None, self.cut):
                self._connection.connect()
        except BaseException:
            self.close()
            raise

    def command(self, *args: Any) -> Any:
        """One command's reply; an error reply raises ServerError."""
        self._connection.send_command(*args)
        reply = self._connection.read_response()
        if isinstance(reply, ServerError):
            raise reply
        return reply

    def cut(self) -> None:
        """Shut the socket, so a command waiting for its reply in another thread fails at once."""
        sock = getattr(self._connection, "_sock", None)
        if sock is not None:
            cut_socket(sock.fileno())

    def close(self) -> None:
        self._connection.disconnect()
        self._pool.disconnect()
