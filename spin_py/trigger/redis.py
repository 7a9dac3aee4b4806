"""The Redis trigger: each ``[[trigger.redis]]`` channel subscribed on its Redis
server, and every message published there handed to its components' workers,
as Spin's crates/trigger-redis/src/lib.rs does.

What Spin does, and so does this module:
- Addresses and channels are templates over the application variables; the
  default address is ``[application.trigger.redis] address``. Triggers are
  grouped by resolved address: one connection (one subscriber) per server.
- Startup prints, for each server, ``Active Channels on <host:port>:`` and a
  ``\t<host:port>/<channel>: [<component>,...]`` line per channel (Spin's
  println!; its "Connecting to Redis server at ..." is tracing at info level,
  which `spin up` does not show by default, and neither does spin-py).
- One server's messages are handled one at a time, in arrival order: Spin awaits
  each message's handlers before it reads the next one. The components
  subscribed to one channel handle a message concurrently (Spin's join_all).
- A handler that fails is logged, ``Component <id> handler failed: <why>``, and
  the subscription goes on.

Where spin-py differs (a development server should not die with its Redis):
Spin's trigger ends, and `spin up` with it, when it cannot connect or the
connection drops ("disconnected from <addr>"); here the subscriber says so once,
retries with backoff, says once when it is back, and subscribes again. Messages
published meanwhile are lost, as with any Redis pub/sub subscriber.

Messages of a channel with one component that have already arrived are handed
to its worker together (at most MOST_AT_ONCE, MOST_BYTES_AT_ONCE bytes): the
worker still handles them one after another, in order, each in a turn of its own
with a fresh instance, so nothing a handler can see changes, but the host and
the worker cross their channel once for the lot instead of once a message. A
handler that fails one of them takes only that one down: the rest go to a
fresh worker.

The backlog stays bounded: while a worker handles a batch, the next is read from
the connection (what has already arrived, within the same bounds), and no more
until that batch is handled, so a publisher faster than the handlers fills
the socket buffers and then Redis's output buffer for this
client; past ``client-output-buffer-limit pubsub`` (32 MB by default) Redis drops
the connection, which is reconnected as above. spin-py's memory does not grow.

This module knows nothing of capabilities: a message goes to a worker with a
fresh request instance from the runtime, as an HTTP request does.
"""

import collections
import threading
from collections.abc import Callable
from urllib.parse import urlsplit

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from spin_py import observe
from spin_py.capabilities.variables.resolver import Resolver, VariablesError
from spin_py.host.worker import WorkerError, WorkerGone, request_instance
from spin_py.manifest import ManifestError
from spin_py.manifest.model import App
from spin_py.wire.rust_text import rust_debug

# How long a subscriber waits for a message before it looks for a stop or a new channel set.
POLL = 0.2
# Reconnection backoff: the first retry after FIRST_RETRY s, doubling up to LAST_RETRY s.
FIRST_RETRY = 0.1
LAST_RETRY = 2.0
CONNECT_TIMEOUT = 2.0
# The most messages of one channel handed to a worker at once (those already read from the
# connection), and the most bytes of them: each is still one turn with its own instance.
MOST_AT_ONCE = 256
MOST_BYTES_AT_ONCE = 1024 * 1024

# How many workers found dead as messages are sent to them are replaced before the first message counts as failed.
_RETRIES_WHEN_GONE = 2

_TCP_SCHEMES = ("redis", "rediss")
_UNIX_SCHEMES = ("unix", "redis+unix")

Plan = dict[str, dict[str, tuple[str, ...]]]  # address -> {channel: (component id, ...)}, in manifest order


def server_addr(address: str) -> str:
    """The server as redis-rs's ConnectionAddr displays it (Spin's ``{server_addr}``):
    ``host:port`` (port 6379 unless given), or a Unix socket's path."""
    parts = urlsplit(address)
    if parts.scheme in _UNIX_SCHEMES:
        return parts.path
    return f"{parts.hostname}:{parts.port or 6379}"


def _address_problem(address: str) -> str | None:
    """Why redis-rs's Client::open would refuse ``address`` (its error texts), or None."""
    try:
        parts = urlsplit(address)
        parts.port  # noqa: B018 (raises ValueError for a port that is not a number)
    except ValueError:
        return "Redis URL did not parse- InvalidClientConfig"
    if parts.scheme in _TCP_SCHEMES:
        return None if parts.hostname else "Missing hostname- InvalidClientConfig"
    if parts.scheme in _UNIX_SCHEMES:
        return None if parts.path else "Redis URL did not parse- InvalidClientConfig"
    return "Redis URL did not parse- InvalidClientConfig"


def redis_plan(app: App, variables: Callable[[], Resolver]) -> Plan:
    """What to subscribe to, resolved as Spin's RedisTrigger::run resolves it, with the
    app's one variables resolver (``variables()``, the runtime's shared one); a
    ManifestError with Spin's text when it cannot be (Spin refuses to start)."""
    if not app.redis_triggers:
        return {}
    resolver = variables()

    def resolve(text, key, what):
        try:
            return resolver.resolve_template(text)
        except VariablesError as error:
            raise ManifestError(app.path, f"failed to resolve redis trigger {what}: {error}", key=key) from None

    expression = app.redis_address or ""
    default = resolve(expression, "application.trigger.redis.address", f"default address {rust_debug(expression)}")
    plan: dict[str, dict[str, list[str]]] = {}
    for trigger in app.redis_triggers:
        component = trigger.component
        key = f"trigger.redis (component {component})"
        expression = trigger.address if trigger.address is not None else default
        address = resolve(expression, key, f"address {rust_debug(expression)} for component {component}")
        channel = resolve(trigger.channel, key, f"channel {rust_debug(trigger.channel)} for component {component}")
        problem = _address_problem(address)
        if problem:
            where = "application.trigger.redis.address" if trigger.address is None else key
            raise ManifestError(app.path, f"{rust_debug(address)}: {problem}", key=where)
        components = plan.setdefault(address, {}).setdefault(channel, [])
        components.append(component)
    return {address: {channel: tuple(ids) for channel, ids in channels.items()} for address, channels in plan.items()}


def active_channels(address: str, channels: dict) -> list[str]:
    """Spin's lines for one server's subscriptions."""
    addr = server_addr(address)
    return [f"Active Channels on {addr}:"] + [f"\t{addr}/{channel}: [{','.join(ids)}]" for channel, ids in channels.items()]


class RedisTrigger:
    """Every Redis server the current manifest subscribes to: ``apply(runtime)`` for each
    runtime served (startup and every manifest edit), ``close()`` at shutdown."""

    def __init__(self, runtime: Callable, say: Callable[[str], None], announce: Callable[[str], None]):
        """``runtime()``: the AppRuntime serving now (a message goes to its components);
        ``say(line)``: spin-py's own lines; ``announce(line)``: what Spin prints to stdout."""
        self.runtime = runtime
        self.say = say
        self.announce = announce
        self._subscribers: dict[str, _Subscriber] = {}
        self._lock = threading.Lock()
        self.closed = False  # shutting down: workers are being stopped, their failures are not news

    def apply(self, runtime) -> None:
        """Subscribe to what ``runtime``'s manifest names: new servers connect, changed
        channel sets resubscribe on the open connection, servers no longer named close."""
        try:
            plan = redis_plan(runtime.app, runtime.context.variables)
        except ManifestError as error:  # checked when the manifest loaded; .env may have changed since
            self.say(f"Redis trigger: keeping the previous subscriptions: {error}")
            return
        with self._lock:
            if self.closed:
                return
            gone = [self._subscribers.pop(address) for address in list(self._subscribers) if address not in plan]
            for address, channels in plan.items():
                subscriber = self._subscribers.get(address)
                if subscriber is None:
                    self._subscribers[address] = _Subscriber(self, address, channels)
                else:
                    subscriber.update(channels)
        for subscriber in gone:
            subscriber.stop()

    def close(self) -> None:
        """Stop every subscription (the server is shutting down)."""
        with self._lock:
            self.closed = True
            subscribers = list(self._subscribers.values())
            self._subscribers.clear()
        for subscriber in subscribers:
            subscriber.stop(wait=False)
        for subscriber in subscribers:
            # Idle, it stops within POLL s; a message in hand is not waited for: its worker is stopped with the others.
            subscriber.join(timeout=2 * POLL)

    # --- one message ---------------------------------------------------------------------

    def dispatch(self, components, payloads, meanwhile=lambda: None) -> None:
        """Hand ``payloads`` (messages of one channel, in arrival order) to each component
        subscribed to it, and return when all have handled them. Several messages come
        only for a channel with one component; a channel's components handle each message
        at the same time, as Spin's join_all. ``meanwhile()`` runs once the handlers have
        them (it reads the next messages; it never raises)."""
        runtime = self.runtime()
        if len(components) == 1:
            self._deliver(runtime, components[0], payloads, meanwhile)
            return
        threads = [
            threading.Thread(target=self._deliver, args=(runtime, component_id, payloads), daemon=True)
            for component_id in components
        ]
        for thread in threads:
            thread.start()
        meanwhile()
        for thread in threads:
            thread.join()

    def _deliver(self, runtime, component_id, payloads, meanwhile=None):
        """The messages to one component, one after another; one that fails its worker
        is logged, and the rest go to another worker."""
        gone = 0  # workers found dead before the messages reached them
        while payloads and not self.closed:
            component = runtime.components.get(component_id)
            if component is None or component.pool is None:
                reason = component.not_python if component is not None else "it is not in the manifest any more"
                for _ in payloads:
                    self._failed(component_id, f"it is not served by spin-py: {reason}")
                return
            try:
                with component.pool.lease() as worker:
                    results = worker.deliver(payloads, lambda: observe.redis_instance(request_instance(runtime, component_id), component_id),
                                             timeout=runtime.config.request_timeout, meanwhile=meanwhile)
                    meanwhile = None
            except WorkerError as failure:
                observe.redis_handled(failure.handled, str(failure).rstrip("\n"))  # spin_py/observe.py
                if isinstance(failure, WorkerGone) and gone < _RETRIES_WHEN_GONE:
                    gone += 1
                    continue  # it died while idle, before the messages reached it: another worker takes them
                self._report(component, failure.handled, failed=True)
                if self.closed:
                    return
                text = str(failure).rstrip("\n")
                component.output.write(text)  # the traceback or the load error, as the component's output
                self._failed(component_id, text.splitlines()[-1] if text else type(failure).__name__)
                payloads = payloads[len(failure.handled) + 1:]
                continue
            observe.redis_handled(results)
            self._report(component, results)
            payloads = payloads[len(results):]  # not all: the worker stopped after the last one handled

    def _report(self, component, results, failed=False) -> None:
        if failed or any(error is not None for error in results):
            component.output.catch_up()  # what the handlers printed comes before the lines saying they failed
        for error in results:
            if error is not None:
                self._failed(component.id, error)

    def _failed(self, component_id, why):
        if self.closed:
            return
        # crates/trigger-redis/src/lib.rs: tracing::info!("Component {component_id} handler failed: {err}")
        self.say(f"Component {component_id} handler failed: {why}")


class _Subscriber:
    """One Redis server: a thread that keeps a pub/sub connection subscribed to the
    wanted channels, hands the messages over a batch at a time, and reads the next
    batch while a worker handles the last (in the same thread: a second thread reading
    ahead measured slower, its handoff costing more than the read)."""

    def __init__(self, trigger, address, channels):
        self.trigger = trigger
        self.address = address
        self.addr = server_addr(address)
        self._wanted = dict(channels)
        self._announced = None  # the channel set last printed
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"redis-{self.addr}", daemon=True)
        self._thread.start()

    def update(self, channels):
        self._wanted = dict(channels)  # the reading thread applies it within POLL seconds

    def stop(self, wait=True):
        self._stopping.set()
        if wait:
            self.join()

    def join(self, timeout=CONNECT_TIMEOUT + 1):
        """Wait for the thread (it looks at the stop flag every POLL seconds, and between messages)."""
        self._thread.join(timeout=timeout)

    # --- the connection ------------------------------------------------------------------

    def _run(self):
        delay, down = FIRST_RETRY, False
        while not self._stopping.is_set():
            pubsub = None
            try:
                pubsub, subscribed = self._connect()
                if down:
                    self.trigger.say(f"Redis trigger reconnected to {self.addr}")
                    down, delay = False, FIRST_RETRY
                self._listen(pubsub, subscribed)
            except (redis.RedisError, OSError) as error:
                if not down and not self._stopping.is_set():
                    if self._announced is None:  # never connected: Spin's words, then spin-py's retry
                        self.trigger.say(f"Redis trigger failed to connect to {self.addr}: {error} (retrying until it answers)")
                    else:
                        self.trigger.say(f"Redis trigger disconnected from {self.addr}: {error} (reconnecting)")
                    down = True
                self._stopping.wait(delay)
                delay = min(delay * 2, LAST_RETRY)
            finally:
                if pubsub is not None:
                    try:
                        pubsub.close()
                    except Exception:
                        pass

    def _connect(self):
        url = "unix://" + self.address[len("redis+unix://"):] if self.address.startswith("redis+unix://") else self.address
        # No retries inside redis-py: a lost connection is this loop's to report and retry. RESP2, as
        # Spin's redis-rs client speaks by default (redis-py 8 would speak RESP3, parsed more slowly).
        client = redis.Redis.from_url(url, retry=Retry(NoBackoff(), 0), socket_connect_timeout=CONNECT_TIMEOUT, protocol=2)
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        subscribed = dict(self._wanted)
        pubsub.subscribe(*subscribed)
        return pubsub, subscribed

    def _listen(self, pubsub, subscribed):
        self._announce(subscribed)
        backlog = _Backlog(pubsub)
        while not self._stopping.is_set():
            wanted = self._wanted
            if backlog.error is not None and not backlog:
                raise backlog.error  # the connection broke while messages were read ahead; they are handled
            if wanted != subscribed:
                removed = [channel for channel in subscribed if channel not in wanted]
                added = [channel for channel in wanted if channel not in subscribed]
                if removed:
                    pubsub.unsubscribe(*removed)
                if added:
                    pubsub.subscribe(*added)
                subscribed = dict(wanted)
                self._announce(subscribed)
            if not backlog:
                backlog.wait(POLL)
                if not backlog:
                    continue
                backlog.fill()  # what else has arrived
            channel, payloads = backlog.next_batch(subscribed)
            components = subscribed.get(channel)
            if components is None:  # published just before an unsubscribe took effect
                # crates/trigger-redis/src/lib.rs: tracing::error!, "message from unexpected channel"
                self.trigger.say(f"Error handling message from {self.addr}: message from unexpected channel {rust_debug(channel)}")
                continue
            try:
                # One at a time, in arrival order, as Spin; the next messages are read meanwhile.
                observe.redis_message(channel, self.addr, components)
                self.trigger.dispatch(components, payloads, meanwhile=backlog.fill)
            except Exception as error:  # a host bug must not end the subscription
                self.trigger.say(f"Error handling message from {self.addr}: {error!r}")

    def _announce(self, channels):
        if channels != self._announced:
            self._announced = channels
            self.trigger.announce("\n".join(active_channels(self.address, channels)))


class _Backlog:
    """Messages read from one connection and not yet handled, in arrival order: at most
    MOST_AT_ONCE of them and MOST_BYTES_AT_ONCE bytes, so memory stays bounded whatever
    is published (beyond that they wait in the socket and in Redis)."""

    def __init__(self, pubsub):
        self._pubsub = pubsub
        self._messages: collections.deque[tuple[str, bytes]] = collections.deque()
        self._bytes = 0
        self.error = None  # why the connection failed while reading ahead (raised once the backlog is handled)

    def __bool__(self):
        return bool(self._messages)

    def wait(self, timeout) -> None:
        """Wait at most ``timeout`` s for a message (the backlog is empty); raises when the connection fails."""
        self._take(self._pubsub.get_message(timeout=timeout))

    def fill(self) -> None:
        """Take in the messages that have already arrived, within the bounds; never waits
        or raises (it runs while a worker handles the previous ones)."""
        try:
            while self.error is None and len(self._messages) < MOST_AT_ONCE and self._bytes < MOST_BYTES_AT_ONCE:
                message = self._pubsub.get_message(timeout=0)
                if message is None:
                    return
                self._take(message)
        except (redis.RedisError, OSError) as error:
            self.error = error

    def _take(self, message):
        if message is not None and message.get("type") == "message":
            self._messages.append((message["channel"].decode("utf-8", "replace"), message["data"]))
            self._bytes += len(message["data"])

    def next_batch(self, subscribed) -> tuple:
        """``(channel, payloads)``: the oldest message, and after it those of the same channel
        when one component handles that channel (several components handle each message
        together, so theirs go one at a time), up to MOST_BYTES_AT_ONCE bytes."""
        channel, payload = self._messages.popleft()
        payloads, size = [payload], len(payload)
        if len(subscribed.get(channel, ())) == 1:
            while self._messages and self._messages[0][0] == channel and size + len(self._messages[0][1]) <= MOST_BYTES_AT_ONCE:
                payloads.append(self._messages.popleft()[1])
                size += len(payloads[-1])
        self._bytes -= size
        return channel, payloads
