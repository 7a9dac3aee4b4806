"""The "redis" store type (crates/key-value-redis): every label on one server
shares its keyspace, as in Spin. redis-py is imported only when a store of this
type is configured."""

from urllib.parse import urlsplit

from spin_py.capabilities.errors import CapabilityError
from spin_py.capabilities.key_value.errors import OTHER

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
    def __init__(self, url: str):
        self.url = url
        self._client = None

    def summary(self) -> str:
        """Spin's "Redis at {addr}" (crates/key-value-redis/src/store.rs `summary`)."""
        parts = urlsplit(self.url)
        if parts.scheme in ("redis+unix", "unix"):
            return f"Redis at {parts.path}"
        return f"Redis at {parts.hostname}:{parts.port or 6379}"

    def client(self):
        if self._client is None:
            import redis

            self._client = redis.Redis.from_url(self.url, socket_timeout=30, socket_connect_timeout=10)
        return self._client

    def run(self, work):
        import redis

        try:
            return work(self.client())
        except redis.RedisError as error:
            raise CapabilityError(OTHER, f"{type(error).__name__}: {error}") from None

    def store(self, label: str) -> "RedisStore":
        return RedisStore(self)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


class RedisStore:
    def __init__(self, manager: RedisStoreManager):
        self.manager = manager

    def get(self, key: str) -> bytes | None:
        return self.manager.run(lambda r: r.get(key))

    def set(self, key: str, value: bytes) -> None:
        self.manager.run(lambda r: r.set(key, value))

    def delete(self, key: str) -> None:
        self.manager.run(lambda r: r.delete(key))

    def exists(self, key: str) -> bool:
        return bool(self.manager.run(lambda r: r.exists(key)))

    def get_keys(self) -> list[str]:
        return [key.decode("utf-8", "replace") for key in self.manager.run(lambda r: r.keys("*"))]

    def get_many(self, keys: list[str]) -> list[tuple[str, bytes | None]]:
        if not keys:
            return []
        values = self.manager.run(lambda r: r.mget(keys))
        return [(key, value) for key, value in zip(keys, values) if value is not None]

    def set_many(self, pairs: list[tuple[str, bytes]]) -> None:
        if pairs:
            self.manager.run(lambda r: r.mset(dict(pairs)))

    def delete_many(self, keys: list[str]) -> None:
        if keys:
            self.manager.run(lambda r: r.delete(*keys))

    def increment(self, key: str, delta: int) -> int:
        return int(self.manager.run(lambda r: r.incrby(key, delta)))

    def compare_and_swap(self, key: str) -> "RedisCas":
        return RedisCas(self.manager, key)


class RedisCas:
    """WATCH the key in `current`, then MULTI/SET/EXEC in `swap`, on a connection of its own."""

    def __init__(self, manager: RedisStoreManager, key: str):
        self.manager = manager
        self.key = key
        self.pipe = None

    def current(self) -> bytes | None:
        def work(r):
            if self.pipe is None:
                self.pipe = r.pipeline()
            self.pipe.watch(self.key)
            return self.pipe.get(self.key)

        return self.manager.run(work)

    def renew(self) -> "RedisCas":
        return RedisCas(self.manager, self.key)

    def swap(self, value: bytes) -> bool:
        import redis

        def work(r):
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

        return self.manager.run(work)

    def close(self) -> None:
        if self.pipe is not None:
            self.pipe.reset()
            self.pipe = None
