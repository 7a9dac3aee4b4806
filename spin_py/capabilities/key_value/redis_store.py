"""The "redis" store type (crates/key-value-redis): every label on one server
shares its keyspace, as in Spin. redis-py is imported only when a store of this
type is configured.

A store opened for a request (its seam.Instance given) keeps to the request's
limits: a call still waiting for the server when the time limit passes, the
client leaves or the turn ends has the connections it sent on (its command's, a
new connection's handshake, a compare-and-swap's) cut by the host's watcher
(capabilities/limits.py) and fails with Other(the reason); a cut connection is
dropped, not reused. Commands are not retried on a broken connection, as
redis-rs does not retry them, so a cut call is not sent again.
"""

import threading
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from spin_py.capabilities.errors import CapabilityError
from spin_py.capabilities.key_value.errors import OTHER
from spin_py.capabilities.limits import cut_socket, watched

T = TypeVar("T")

SCHEMES = ("redis", "rediss", "redis+unix", "unix")  # what redis-rs's parse_redis_url accepts


def check_url(url: str) -> str | None:
    """Why ``url`` is not a Redis URL (None when it is one)."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises on a bad port)
    except ValueError:
        return "Invalid Redis URL"
    if parts.scheme not in SCHEMES or not (parts.hostname or parts.path):
        return "Invalid Redis URL"
    return None


class RedisStoreManager:
    def __init__(self, url: str) -> None:
        self.url = url
        self._pool: Any = None
        self._client: Any = None

    def summary(self) -> str:
        """Spin's "Redis at {addr}" (crates/key-value-redis/src/store.rs `summary`)."""
        parts = urlsplit(self.url)
        if parts.scheme in ("redis+unix", "unix"):
            return f"Redis at {parts.path}"
        return f"Redis at {parts.hostname}:{parts.port or 6379}"

    def pool(self) -> Any:
        if self._pool is None:
            import redis
            from redis.backoff import NoBackoff
            from redis.retry import Retry

            pool = redis.ConnectionPool.from_url(
                self.url, socket_timeout=30, socket_connect_timeout=10, retry=Retry(NoBackoff(), 0)
            )
            pool.connection_class = _recording(pool.connection_class)
            self._pool = pool
        return self._pool

    def client(self) -> Any:
        """A client that takes any free connection of the pool for each command."""
        if self._client is None:
            import redis

            self._client = redis.Redis(connection_pool=self.pool())
        return self._client

    def store(self, label: str, request: Any = None) -> "RedisStore":
        """The server's keys, for ``request`` (a seam.Instance whose limits bound each call; None: none)."""
        return RedisStore(self, request)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.disconnect()
            self._pool = self._client = None


_calls = threading.local()  # .connections: what this thread's current call has sent on


def _recording(connection_class: Any) -> Any:
    """``connection_class`` that notes each connection a call sends on, so the watcher can cut it."""

    class Recording(connection_class):
        def send_packed_command(self, command: Any, check_health: bool = True) -> Any:
            sent = getattr(_calls, "connections", None)
            if sent is not None:
                sent.append(self)
            return super().send_packed_command(command, check_health)

    Recording.__name__ = Recording.__qualname__ = f"Recording{connection_class.__name__}"
    return Recording


class RedisStore:
    def __init__(self, manager: RedisStoreManager, request: Any = None) -> None:
        self.manager = manager
        self.request = request

    def run(self, work: Callable[[Any], T]) -> T:
        """``work(client)``; Redis errors become Spin's `Other`, and so does the end of the request."""
        import redis

        ended = self.request.ended if self.request is not None else None
        reason = ended() if ended is not None else None
        if reason is not None:
            raise CapabilityError(OTHER, reason)
        sent: list[Any] = []
        _calls.connections = sent
        try:
            with watched(ended, lambda: _cut(sent)):
                return work(self.manager.client())
        except redis.RedisError as error:
            reason = ended() if ended is not None else None
            raise CapabilityError(OTHER, reason or f"{type(error).__name__}: {error}") from None
        finally:
            _calls.connections = None

    def get(self, key: str) -> bytes | None:
        return self.run(lambda r: r.get(key))

    def set(self, key: str, value: bytes) -> None:
        self.run(lambda r: r.set(key, value))

    def delete(self, key: str) -> None:
        self.run(lambda r: r.delete(key))

    def exists(self, key: str) -> bool:
        return bool(self.run(lambda r: r.exists(key)))

    def get_keys(self) -> list[str]:
        return [key.decode("utf-8", "replace") for key in self.run(lambda r: r.keys("*"))]

    def get_many(self, keys: list[str]) -> list[tuple[str, bytes]]:
        if not keys:
            return []
        values = self.run(lambda r: r.mget(keys))
        return [(key, value) for key, value in zip(keys, values, strict=False) if value is not None]

    def set_many(self, pairs: list[tuple[str, bytes]]) -> None:
        if pairs:
            self.run(lambda r: r.mset(dict(pairs)))

    def delete_many(self, keys: list[str]) -> None:
        if keys:
            self.run(lambda r: r.delete(*keys))

    def increment(self, key: str, delta: int) -> int:
        return int(self.run(lambda r: r.incrby(key, delta)))

    def compare_and_swap(self, key: str) -> "RedisCas":
        return RedisCas(self, key)


class RedisCas:
    """WATCH the key in `current`, then MULTI/SET/EXEC in `swap`, on a connection of its own."""

    def __init__(self, store: RedisStore, key: str) -> None:
        self.store = store
        self.key = key
        self.pipe: Any = None

    def current(self) -> bytes | None:
        def work(r: Any) -> bytes | None:
            if self.pipe is None:
                self.pipe = r.pipeline()
            self.pipe.watch(self.key)
            return self.pipe.get(self.key)

        return self.store.run(work)

    def renew(self) -> "RedisCas":
        return RedisCas(self.store, self.key)

    def swap(self, value: bytes) -> bool:
        import redis

        def work(r: Any) -> bool:
            pipe = self.pipe or r.pipeline()
            try:
                pipe.multi()
                pipe.set(self.key, value)
                pipe.execute()
                return True
            except redis.WatchError:
                return False
            finally:
                pipe.reset()
                self.pipe = None

        return self.store.run(work)

    def close(self) -> None:
        if self.pipe is not None:
            self.pipe.reset()
            self.pipe = None


def _cut(connections: list[Any]) -> None:
    for connection in list(connections):
        sock = getattr(connection, "_sock", None)
        if sock is not None:
            cut_socket(sock.fileno())
