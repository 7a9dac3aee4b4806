"""The workers of one component.

Spin gives every request a fresh instance, so requests to one component run
concurrently. Here a worker serves one request at a time, so the pool starts
workers on demand up to ``max_workers``, keeps one spare started ahead so that
a request never waits for an interpreter to boot, retires extra workers that
sit idle for ``idle_timeout`` seconds, and beyond the limit queues requests in
arrival order.
"""

import collections
import threading
import time
from contextlib import contextmanager

from spin_py.host.worker import LoadFailed


class _Waiter:
    def __init__(self):
        self.event = threading.Event()
        self.worker = None
        self.error = None


class ComponentPool:
    def __init__(self, component_id, spawn, max_workers=8, idle_timeout=30.0, report=print):
        """``spawn()`` returns a ready Worker or raises LoadFailed; ``report(text)`` shows the
        load error of a worker started ahead, which no request is there to show."""
        self.component_id = component_id
        self._spawn = spawn
        self._report = report
        self.max_workers = max_workers
        self.idle_timeout = idle_timeout
        self._lock = threading.Lock()
        self._idle = []  # (worker, idle since), most recently used last
        self._waiters = collections.deque()
        self._total = 0  # running or starting
        self._starting = 0
        self._closed = False
        self._load_error = None  # the last load failure: no spare is started while it stands
        self._started = threading.Event()  # the first spare is ready, or its load error reported
        self._generation = 0  # bumped by reload(); workers of older generations serve no new request
        self.files = None  # the app's source files the current code imports, once a worker has loaded it
        self._reaper = threading.Thread(target=self._retire_idle, name=f"{component_id}-reaper", daemon=True)
        self._reaper.start()

    def start(self, wait=10.0):
        """Start the first worker ahead of any request, and wait (at most ``wait`` s) until it
        is ready or its load error is reported: startup shows code that does not load."""
        with self._lock:
            self._start_spare_locked()
            starting = self._starting
        if starting:
            self._started.wait(wait)

    @contextmanager
    def lease(self):
        """A worker for one request; it is replaced when it does not come back healthy."""
        worker = self._acquire()
        healthy = False
        try:
            yield worker
            healthy = True  # it answered; a worker that failed raised instead
        finally:
            self._release(worker, healthy)

    @property
    def size(self):
        with self._lock:
            return self._total

    def _acquire(self):
        with self._lock:
            if self._closed:
                raise LoadFailed(f"component '{self.component_id}' has been stopped")
            if self._idle:
                worker, _ = self._idle.pop()
                self._start_spare_locked()
                return worker
            if self._starting > len(self._waiters) or self._total >= self.max_workers:
                waiter = _Waiter()
                self._waiters.append(waiter)
            else:
                waiter = None
                self._total += 1
        if waiter is None:
            return self._spawn_for_request()
        waiter.event.wait()
        if waiter.error is not None:
            raise waiter.error
        with self._lock:
            self._start_spare_locked()
        return waiter.worker

    def _spawn_current(self):
        generation = self._generation
        worker = self._spawn()
        worker.generation = generation
        self.files = worker.files
        return worker

    def _spawn_reserved(self):
        """Start a worker for a place already counted in _total; a load failure gives the place back."""
        try:
            return self._spawn_current()
        except LoadFailed as error:
            with self._lock:
                self._total -= 1
                self._load_error = error
            raise

    def _spawn_for_request(self):
        worker = self._spawn_reserved()
        with self._lock:
            self._load_error = None
            self._start_spare_locked()
        return worker

    def _release(self, worker, healthy):
        with self._lock:
            if healthy and not self._closed and worker.generation == self._generation:
                self._hand_over_locked(worker)
                return
            self._total -= 1
            self._start_spare_locked()
        worker.stop()

    def _hand_over_locked(self, worker):
        if self._waiters:
            waiter = self._waiters.popleft()
            waiter.worker = worker
            waiter.event.set()
        else:
            self._idle.append((worker, time.monotonic()))

    def _start_spare_locked(self):
        """Start a worker for each waiter no worker is coming for, else keep one
        spare booting or idle beyond the busy ones (not while the code fails to load)."""
        if self._closed or self._total >= self.max_workers:
            return
        if self._waiters:
            needed = self._starting < len(self._waiters)
        else:
            needed = not self._idle and self._starting == 0 and self._load_error is None
        if not needed:
            return
        self._total += 1
        self._starting += 1
        threading.Thread(target=self._spawn_spare, name=f"{self.component_id}-spawn", daemon=True).start()

    def _spawn_spare(self):
        try:
            worker = self._spawn_current()
        except LoadFailed as error:
            with self._lock:
                self._total -= 1
                self._starting -= 1
                self._load_error = error
                # The code does not load: every queued request gets that error rather than a wait.
                waiters = list(self._waiters)
                self._waiters.clear()
            for waiter in waiters:
                waiter.error = error
                waiter.event.set()
            if not waiters:
                self._report(str(error))
            self._started.set()
            return
        self._started.set()
        with self._lock:
            self._starting -= 1
            self._load_error = None
            if not self._closed and worker.generation == self._generation:
                self._hand_over_locked(worker)
                return
            # Started on code that has since been reloaded: a waiter may need a fresh one.
            self._total -= 1
            self._start_spare_locked()
        worker.stop()

    def _retire_idle(self):
        while True:
            time.sleep(min(self.idle_timeout, 1.0))
            retired = []
            with self._lock:
                if self._closed:
                    return
                now = time.monotonic()
                # The most recently used worker stays: it is the spare.
                while len(self._idle) > 1 and now - self._idle[0][1] > self.idle_timeout:
                    retired.append(self._idle.pop(0)[0])
                    self._total -= 1
            for worker in retired:
                worker.stop()

    def uses(self, paths):
        """Would a change to ``paths`` change this component's code? Unknown until
        a worker has loaded, and always while the code fails to load (the fix may
        be a new file)."""
        if self.files is None or self._load_error is not None:
            return True
        return any(str(path) in self.files for path in paths)

    def set_spawn(self, spawn):
        """Start future workers with ``spawn`` (a changed manifest entry); call reload() to apply."""
        self._spawn = spawn

    def reload(self):
        """New code: from now on requests get workers started after this call.

        Busy workers finish their request on the old code and then stop.
        Returns once a worker with the new code is ready, or raises LoadFailed.
        """
        with self._lock:
            self._generation += 1
            self._load_error = None
            idle = [worker for worker, _ in self._idle]
            self._idle.clear()
            self._total -= len(idle)
            self._total += 1
        for worker in idle:
            worker.stop()
        worker = self._spawn_reserved()
        with self._lock:
            if worker.generation == self._generation and not self._closed:
                self._hand_over_locked(worker)
                return
            self._total -= 1
        worker.stop()

    def close(self):
        with self._lock:
            self._closed = True
            idle = [worker for worker, _ in self._idle]
            self._idle.clear()
            self._total -= len(idle)
            waiters = list(self._waiters)
            self._waiters.clear()
        for waiter in waiters:
            waiter.error = LoadFailed(f"component '{self.component_id}' has been stopped")
            waiter.event.set()
        for worker in idle:
            worker.stop()
