"""The workers of one component: its instances.

Spin gives every request a fresh instance, so requests to one component run
concurrently. Here a worker is an instance forked from the component's zygote
(host/instances.py), which serves one request and exits. The pool loads the
zygote of the current code on first need, forks instances up to
``max_workers`` at once, keeps instances forked ahead so that a request does not
wait for a fork (one more each time a request finds none, one fewer as idle ones
retire), and beyond the limit queues requests in arrival order. A
queued request whose client has gone is dropped.

An instance's place comes back once its turn has ended (spin_py/host/worker.py):
the response goes to the client at once, and what the handler spawned is
finished in the background before the place goes to a fresh instance. Before an
instance forked ahead is handed out it is checked as far as the host knows without a system call
(not stopped, idle, nothing unasked-for already read from its channel); one that
is not fit is replaced, and one found dead as a request is sent to it is the
trigger's to replace (WorkerGone). There are never more than ``max_workers``
workers, plus one started ahead by a reload while the others are busy.
"""

import collections
import threading
import time
from contextlib import contextmanager

from spin_py.host.worker import ClientGone, LoadFailed, client_gone

# How often a queued request looks whether its client is still there.
_QUEUE_POLL = 0.25


class _Waiter:
    def __init__(self):
        self.event = threading.Event()
        self.worker = None
        self.error = None


class ComponentPool:
    def __init__(self, component_id, source, max_workers=8, idle_timeout=30.0, report=print, *, make_worker):
        """``source`` loads the component's code (an InstanceSource: ``load()`` returns a
        zygote or raises LoadFailed); ``make_worker(zygote)`` forks an instance of it (a
        Worker); ``report(text)`` shows the load error of a worker started ahead, which no
        request is there to show."""
        self.component_id = component_id
        self._source = source
        self._make_worker = make_worker  # (zygote) -> Worker
        self._zygote = None  # the load of the current generation's code, once made
        self._zygote_generation = -1
        self._load_lock = threading.Lock()
        self._isolation_said = None
        self._report = report
        self.max_workers = max_workers
        self.idle_timeout = idle_timeout
        self._lock = threading.Lock()
        self._idle = []  # (worker, idle since), most recently used last
        self._waiters: collections.deque[_Waiter] = collections.deque()
        self._total = 0  # running or starting
        self._starting = 0
        self._closed = False
        self._load_error = None  # the last load failure: no spare is started while it stands
        self._started = threading.Event()  # the first spare is ready, or its load error reported
        self._generation = 0  # bumped by reload(); workers of older generations serve no new request
        # How many instances are kept forked ahead: one more each time a request finds none,
        # one fewer each time the reaper retires one that idled (a fork costs a millisecond or more).
        self._spares = 1
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
    def lease(self, client=None):
        """A worker for one request. It comes back once its turn has ended (in the
        background when the handler left work going after its response), and is
        replaced when it fails. ``client``: the HTTP client's socket; while the request
        waits in the queue and its client leaves, ClientGone is raised."""
        worker = self.take(client)
        try:
            yield worker
        except BaseException:
            self.give_back(worker, False)
            raise
        self.give_back(worker, True)

    def take(self, client=None):
        """A worker for one request, as ``lease`` gives it; hand it back with ``give_back``
        (a request whose response streams on after its handler returned keeps it till then)."""
        return self._acquire(client)

    def give_back(self, worker, ok: bool) -> None:
        """The request is over for its client. ``ok``: nothing went wrong; the worker
        comes back once its turn has ended (in the background when it goes on)."""
        if not ok:
            self._release(worker, False)
        elif worker.in_turn:
            threading.Thread(target=self._finish, args=(worker,), name=f"{self.component_id}-finish", daemon=True).start()
        else:
            self._release(worker, True)

    def _finish(self, worker):
        self._release(worker, worker.finish())

    @property
    def size(self):
        with self._lock:
            return self._total

    def _acquire(self, client=None):
        while True:
            unfit = waiter = None
            with self._lock:
                if self._closed:
                    raise LoadFailed(f"component '{self.component_id}' has been stopped")
                if self._idle:
                    worker, _ = self._idle.pop()
                    if worker.healthy():
                        self._start_spare_locked()
                        return worker
                    unfit = worker  # killed from outside, or it wrote while idle
                else:
                    # A request found no instance forked ahead: fork one more ahead from now on.
                    self._spares = min(self._spares + 1, self.max_workers)
                    if self._starting > len(self._waiters) or self._total >= self.max_workers:
                        waiter = _Waiter()
                        self._waiters.append(waiter)
                    else:
                        self._total += 1
            if unfit is not None:
                self._retire(unfit)
            elif waiter is not None:
                return self._wait(waiter, client)
            else:
                return self._spawn_for_request()

    def _wait(self, waiter, client):
        while not waiter.event.wait(_QUEUE_POLL if client is not None else None):
            if client_gone(client):
                with self._lock:
                    if waiter.worker is None and waiter.error is None:
                        self._waiters.remove(waiter)
                        raise ClientGone(f"the client of a request queued for component '{self.component_id}' went away")
        if waiter.error is not None:
            raise waiter.error
        with self._lock:
            self._start_spare_locked()
        return waiter.worker

    def _retire(self, worker):
        """Stop a worker, then give its place back (counted until its process is gone)."""
        worker.stop()
        with self._lock:
            self._total -= 1
            self._start_spare_locked()

    def _spawn_current(self):
        generation = self._generation
        zygote = self._zygote_for(generation)
        try:
            worker = self._make_worker(zygote)
        except LoadFailed:
            if not zygote.closed:
                raise
            worker = self._make_worker(self._zygote_for(generation))  # it died: a new load, once
        worker.generation = generation
        return worker

    def _zygote_for(self, generation):
        """The zygote of ``generation``'s code, loaded on first need; the one it replaces
        exits once the requests it serves have ended."""
        with self._load_lock:
            if self._zygote is not None and self._zygote_generation == generation and not self._zygote.closed:
                return self._zygote
            zygote = self._source.load()
            if zygote.isolation and zygote.isolation != self._isolation_said:
                self._isolation_said = zygote.isolation  # said once, not at every reload
                self._report(f"warning: {zygote.isolation}")
            with self._lock:
                old, self._zygote, self._zygote_generation = self._zygote, zygote, generation
                self.files = zygote.files
            if old is not None:
                old.close()
                if old.source is not zygote.source:
                    old.source.close()
            return zygote

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

    def _release(self, worker, ok):
        """A worker whose turn is over. An instance serves one request: one whose turn
        ended cleanly exits by itself; any other is stopped. Either way a fresh one
        takes its place."""
        if ok and not worker.in_turn and not worker.retiring:
            worker.close()
        else:
            worker.stop()
        orphans = []
        if not ok and not worker.zygote.alive():
            # Its zygote died (killed from outside): so did the instances it had forked ahead.
            with self._lock:
                orphans = [idle for idle, _ in self._idle if idle.zygote is worker.zygote]
                self._idle = [(idle, since) for idle, since in self._idle if idle.zygote is not worker.zygote]
        for orphan in orphans:
            orphan.stop()
        with self._lock:
            self._total -= 1 + len(orphans)
            self._start_spare_locked()

    def _hand_over_locked(self, worker):
        if self._waiters:
            waiter = self._waiters.popleft()
            waiter.worker = worker
            waiter.event.set()
        else:
            self._idle.append((worker, time.monotonic()))

    def _start_spare_locked(self):
        """Start a worker for each waiter no worker is coming for, else keep ``spares``
        instances forked ahead of the busy ones (not while the code fails to load)."""
        while not self._closed and self._total < self.max_workers:
            if self._waiters:
                needed = self._starting < len(self._waiters)
            else:
                needed = len(self._idle) + self._starting < self._spares and self._load_error is None
            if not needed or not self._fork_ahead_locked():
                return

    def _fork_ahead_locked(self) -> bool:
        """Start one worker: forked at once when the code is loaded (a message to the zygote,
        no thread), else loaded on a thread. False when no more should be tried now."""
        zygote = self._zygote
        if zygote is not None and self._zygote_generation == self._generation and not zygote.closed:
            try:
                worker = self._make_worker(zygote)
            except LoadFailed:
                return False
            worker.generation = self._generation
            self._total += 1
            self._hand_over_locked(worker)
            return True
        if self._starting:
            return False  # one load at a time: the instances come once it is done
        self._total += 1
        self._starting += 1
        threading.Thread(target=self._spawn_spare, name=f"{self.component_id}-spawn", daemon=True).start()
        return False

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
        self._retire(worker)

    def _retire_idle(self):
        while True:
            time.sleep(min(self.idle_timeout, 1.0))
            retired = []
            with self._lock:
                if self._closed:
                    return
                now = time.monotonic()
                # The most recently forked instance stays: it is the spare.
                while len(self._idle) > 1 and now - self._idle[0][1] > self.idle_timeout:
                    retired.append(self._idle.pop(0)[0])
                    self._spares = max(1, self._spares - 1)
            for worker in retired:
                self._retire(worker)

    def uses(self, paths):
        """Would a change to ``paths`` change this component's code? Unknown until
        a worker has loaded, and always while the code fails to load (the fix may
        be a new file)."""
        if self.files is None or self._load_error is not None:
            return True
        return any(str(path) in self.files for path in paths)

    def set_source(self, source):
        """Load future code with ``source`` (a changed manifest entry); call reload() to apply."""
        source.inherit(self._source)
        self._source = source

    def reload(self, packages_changed=False):
        """New code: from now on requests get workers started after this call.
        ``packages_changed``: the app's installed packages changed too, so the base
        process, which holds them imported, is replaced as well.

        Busy workers finish their request on the old code and then stop.
        Returns once a worker with the new code is ready, or raises LoadFailed;
        returns at once when every place is taken by busy workers (one comes free
        for the new code as the first of them ends its turn).
        """
        if packages_changed:
            with self._load_lock:
                self._source = self._source.renewed()
        with self._lock:
            self._generation += 1
            self._load_error = None
            idle = [worker for worker, _ in self._idle]
            self._idle.clear()
        for worker in idle:
            worker.stop()
        with self._lock:
            self._total -= len(idle)
            if self._total >= self.max_workers + 1:  # the one place beyond the limit is taken too
                return
            self._total += 1
        worker = self._spawn_reserved()
        with self._lock:
            if worker.generation == self._generation and not self._closed:
                self._hand_over_locked(worker)
                return
        self._retire(worker)

    def close(self):
        """No new requests; idle workers stop now, busy ones when their turn ends
        (the server's shutdown stops those too: see worker.stop_all)."""
        with self._lock:
            self._closed = True
            idle = [worker for worker, _ in self._idle]
            self._idle.clear()
            waiters = list(self._waiters)
            self._waiters.clear()
        for waiter in waiters:
            waiter.error = LoadFailed(f"component '{self.component_id}' has been stopped")
            waiter.event.set()
        for worker in idle:
            self._retire(worker)
        with self._load_lock:
            if self._zygote is not None:
                self._zygote.close()
            self._source.close()
