"""The inspector's bounded record of recent requests: what each one was, the host calls
it made in order, the lines its component printed while it ran, and how it ended.

Memory stays bounded whatever the app does: the last ``keep`` requests, at most
``most_calls`` host calls and ``most_lines`` output lines each, and every value cut
to ``value_limit`` characters (bytes to that many, still base64) when it is recorded.
Whatever is cut says how long it was.

It is an observer of spin_py/observe.py. The request path does as little as it can: an
object made, a few fields set, a list appended to, a counter raised under one plain lock;
nothing is woken (a page's event stream looks for changes itself, every POLL seconds).
Making values readable (bytes as text, a call's summary, the spin.toml line a refused call
wants) happens when the page asks (spin_py/inspector/calls.py), never while the request runs.
"""

import collections
import itertools
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from spin_py import observe

KEEP = 200  # requests kept
VALUE_LIMIT = 4096  # characters of one string value kept (bytes: that many bytes)
MOST_CALLS = 256  # host calls kept per request
MOST_LINES = 256  # output lines kept per request
MOST_ITEMS = 64  # items of one list or keys of one object kept
MOST_DEPTH = 6  # nesting kept; deeper is said, not shown
# Output that arrives just after its request ended (the pipe reader is a thread of its own) still
# belongs to it for this long.
LATE_OUTPUT = 1.0
POLL = 0.25  # seconds between looks for changes while a page's event stream waits


def cut(value: Any, limit: int = VALUE_LIMIT, depth: int = 0) -> Any:
    """``value`` (JSON as it crossed the channel) with every part bounded; a cut string ends
    with a note of its length, a cut list with how many items were left out."""
    if isinstance(value, str):
        return value if len(value) <= limit else value[:limit] + f"… ({len(value)} characters)"
    if isinstance(value, dict):
        encoded = value.get("$bytes")
        if isinstance(encoded, str) and len(value) == 1:
            if len(encoded) <= limit * 4 // 3 + 4:
                return value
            size = len(encoded) * 3 // 4 - encoded[-2:].count("=")
            return {"$bytes": encoded[: limit * 4 // 3 // 4 * 4], "$size": size}
        if depth >= MOST_DEPTH:
            return "{…}"
        items = list(itertools.islice(value.items(), MOST_ITEMS))
        kept = {str(key): cut(item, limit, depth + 1) for key, item in items}
        if len(value) > MOST_ITEMS:
            kept["…"] = f"{len(value) - MOST_ITEMS} more keys"
        return kept
    if isinstance(value, (list, tuple)):
        if depth >= MOST_DEPTH:
            return ["…"]
        kept_list = [cut(item, limit, depth + 1) for item in value[:MOST_ITEMS]]
        if len(value) > MOST_ITEMS:
            kept_list.append(f"… {len(value) - MOST_ITEMS} more items")
        return kept_list
    if isinstance(value, (bytes, bytearray, memoryview)):
        data = bytes(value)
        return {"$text": data[:limit].decode("utf-8", "replace"), "$size": len(data)}
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return cut(repr(value), limit, depth)


@dataclass(slots=True)
class CallRecord:
    """One host call, as it went in and came out."""

    capability: str
    function: str
    args: Any
    offset: float  # ms from the request's start to the call's
    duration: float  # ms
    value: Any = None  # what it returned (cut), when it did not fail
    error: tuple[str, str] | None = None  # (kind, message) when it failed
    extra: dict = field(default_factory=dict)  # what the capability knows beyond the value: time to first token, ...


@dataclass(eq=False, slots=True)  # one request is itself only: found by identity
class RequestRecord:
    """One request, from its start; ``status`` stays None while it runs."""

    id: int
    trigger: str  # "http" or "redis"
    method: str  # HTTP method, or "MESSAGE" for a Redis message
    path: str  # path and query, or the Redis channel
    component: str | None
    started: float  # time.time()
    status: int | None = None
    duration: float | None = None  # ms
    error: str | None = None  # why the handler failed, as the worker said (its traceback)
    calls: list[CallRecord] = field(default_factory=list)
    lines: list[tuple[str, str]] = field(default_factory=list)  # (stream, text)
    calls_dropped: int = 0
    lines_dropped: int = 0
    ended_at: float = 0.0  # time.monotonic() when it ended
    parent: int | None = None  # the request whose component sent this one (service chaining)

    def summary(self) -> dict:
        """The row the request list shows."""
        return {
            "id": self.id, "trigger": self.trigger, "method": self.method, "path": self.path,
            "component": self.component, "started": self.started, "status": self.status,
            "duration": self.duration, "calls": len(self.calls) + self.calls_dropped,
            "denied": any(call.error is not None for call in self.calls), "failed": self.error is not None,
            "parent": self.parent,
        }


class Recorder(observe.Observer):
    """The last ``keep`` requests, and a change counter the page's event stream waits on."""

    def __init__(self, keep: int = KEEP, value_limit: int = VALUE_LIMIT, most_calls: int = MOST_CALLS,
                 most_lines: int = MOST_LINES) -> None:
        self.keep = keep
        self.value_limit = value_limit
        self.most_calls = most_calls
        self.most_lines = most_lines
        self._ids = itertools.count(1)
        self._requests: collections.OrderedDict[int, RequestRecord] = collections.OrderedDict()
        self._running: dict[str, list[RequestRecord]] = {}  # component -> its requests still running
        self._last: dict[str, RequestRecord] = {}  # component -> its request that ended last
        self._lock = threading.Lock()  # a plain lock: the request path never waits on anything else
        self._closed = threading.Event()
        self._version = 0
        self._recent: collections.deque[tuple[int, int]] = collections.deque(maxlen=4 * keep)  # (version, id)
        self.other_lines: collections.deque[tuple[str, str, str]] = collections.deque(maxlen=most_lines)  # outside requests

    # --- what happens (spin_py/observe.py calls these on the request path) ------------------------

    def request_started(self, request: observe.Request) -> None:
        record = RequestRecord(request.id, request.trigger, request.method or request.trigger.upper(),
                               cut(request.path, self.value_limit), None, request.started)
        if request.parent is not None:
            record.parent = request.parent.id
        request.data[self] = record
        with self._lock:
            self._requests[record.id] = record
            while len(self._requests) > self.keep:
                _, evicted = self._requests.popitem(last=False)
                running = self._running.get(evicted.component or "")
                if running is not None and evicted in running:  # one that never ended goes with it
                    running.remove(evicted)
            self._note(record.id)
        if request.component is not None:
            self.request_routed(request)

    def request_routed(self, request: observe.Request) -> None:
        record = request.data.get(self)
        if record is None or request.component is None or record.component is not None:
            return
        with self._lock:
            record.component = request.component
            self._running.setdefault(request.component, []).append(record)
            self._note(record.id)

    def request_ended(self, request: observe.Request) -> None:
        record = request.data.get(self)
        if record is None:
            return
        record.duration = (request.duration or 0.0) * 1000
        record.error = cut(request.error, self.value_limit * 4) if request.error else None
        record.ended_at = time.monotonic()
        with self._lock:
            record.status = request.status
            running = self._running.get(record.component or "")
            if running is not None and record in running:
                running.remove(record)
            if record.component is not None:
                self._last[record.component] = record
            self._note(record.id)

    def call_ended(self, call: observe.Call) -> None:
        record = call.request.data.get(self)
        if record is None:
            return
        if len(record.calls) >= self.most_calls:
            record.calls_dropped += 1
            return
        limit = self.value_limit
        error = None if call.error_kind is None else (call.error_kind, cut(call.error or "", limit))
        record.calls.append(CallRecord(
            call.capability, call.function, cut(call.args, limit), (call.started - record.started) * 1000,
            (call.duration or 0.0) * 1000, None if error is not None else cut(call.result, limit), error,
            dict(call.facts) if call.facts else {},
        ))
        with self._lock:
            self._note(record.id)

    def output(self, line: observe.OutputLine) -> None:
        """A line the component printed: its request's where the host could tell; else the request
        of that component running now (the newest, when several are), or the one that ended a
        moment ago (the pipes are read by a thread of their own, a little behind)."""
        text = cut(line.text, self.value_limit)
        component = line.component
        with self._lock:
            record = line.request.data.get(self) if line.request is not None else None
            if record is None:
                running = self._running.get(component)
                record = running[-1] if running else None
            if record is None:
                last = self._last.get(component)
                if last is not None and time.monotonic() - last.ended_at <= LATE_OUTPUT:
                    record = last
            if record is None:
                self.other_lines.append((component, line.stream, text))
                return
            if len(record.lines) >= self.most_lines:
                record.lines_dropped += 1
                return
            record.lines.append((line.stream, text))
            self._note(record.id)

    def _note(self, request_id: int) -> None:
        """Under the lock: one more change, to ``request_id``."""
        self._version += 1
        self._recent.append((self._version, request_id))

    # --- what the page reads ---------------------------------------------------------------------

    def summaries(self) -> tuple[int, list[dict]]:
        """``(version, rows)``: every kept request, oldest first."""
        with self._lock:
            return self._version, [record.summary() for record in self._requests.values()]

    def get(self, request_id: int) -> RequestRecord | None:
        with self._lock:
            return self._requests.get(request_id)

    def wake(self) -> None:
        """Every ``wait_changes`` returns now, and from now on at once (the server is closing)."""
        self._closed.set()

    def wait_changes(self, since: int, timeout: float) -> tuple[int, list[dict] | None]:
        """Wait up to ``timeout`` seconds for changes after version ``since``: ``(version, rows
        of the requests changed)``; rows None when ``since`` is too old to say (read them all again).
        It looks every POLL seconds: the request path tells no one of a change, it only counts it."""
        deadline = time.monotonic() + timeout
        while self._version == since and not self._closed.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                break
            self._closed.wait(min(POLL, left))
        with self._lock:
            if self._version == since:
                return since, []
            if not self._recent or self._recent[0][0] > since + 1:
                return self._version, None
            newer = list(itertools.takewhile(lambda pair: pair[0] > since, reversed(self._recent)))  # only these are read
            changed = dict.fromkeys(request_id for _, request_id in reversed(newer))
            rows = [self._requests[request_id].summary() for request_id in changed if request_id in self._requests]
            return self._version, rows
