"""Where a component's instances come from: its base process and, per load of its
code, a zygote (spin_py/guest/forks.py and worker.py tell the guest's side).

Spin instantiates a component's pre-initialized snapshot afresh for every request.
Here the snapshot is a zygote, a process that imported the component's module once;
each request gets an instance forked from it, which serves that request and exits.
The base, started once per component settings, holds what does not change between
loads (spin-py's guest, the SDK, the app's third-party packages), so a reload
costs only the import of the app's own modules.
"""

import os
import select
import signal
import subprocess
import threading
import time
from dataclasses import replace

from spin_py.host.launch import control_pair, instance_channels, start_base
from spin_py.host.worker import LoadFailed
from spin_py.wire.control import Control

# How long a base or a zygote may take to import what it needs and say ready.
LOAD_LIMIT = 120.0


def _code_text(code):
    if code is None:
        return "stopped answering"
    if code < 0:
        return f"was killed by signal {-code}"
    return f"exited with status {code}"


# Every base not yet stopped, so that the host's shutdown stops them all.
_live: set["InstanceSource"] = set()
_live_lock = threading.Lock()


def stop_all() -> None:
    with _live_lock:
        sources = list(_live)
    for source in sources:
        source.stop()


def _receive(control, deadline) -> dict | None:
    """The next message on ``control`` (None: the peer is gone), waiting until ``deadline``
    (TimeoutError past it)."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise TimeoutError
    control.sock.settimeout(remaining)
    try:
        message, fds = control.recv()
    finally:
        control.sock.settimeout(None)
    for fd in fds:
        os.close(fd)
    return message


class Zygote:
    """One load of a component's code: forks its instances."""

    def __init__(self, source, control, ready):
        self.source = source
        self.component_id = source.settings.component
        self._control = control
        self._lock = threading.Lock()
        self.files = frozenset(ready.get("files", ()))
        self.modules = ready.get("modules", [])
        self.isolation = ready.get("isolation")  # None, or why the instances see the host's files
        self.closed = False

    def fork_instance(self):
        """A new instance's ``(channel socket, progress map)``: it is forked on the spot, and
        reads the request whenever it is sent. Raises LoadFailed when the zygote is gone."""
        sock, progress, guest_ends = instance_channels()
        guest_end, progress_fd = guest_ends
        try:
            with self._lock:
                self._control.send({"op": "fork"}, (guest_end.fileno(), progress_fd))
        except OSError as error:
            sock.close()
            self.closed = True  # the next load replaces it
            raise LoadFailed(f"the processes of component '{self.component_id}' are gone ({error.strerror or error})") from None
        finally:
            guest_end.close()
            os.close(progress_fd)
        return sock, progress

    def alive(self) -> bool:
        """Is the zygote still there? (Its control channel hangs up when it dies.) Never waits."""
        if self.closed:
            return False
        poller = select.poll()
        poller.register(self._control.fileno(), select.POLLHUP | select.POLLERR)
        if poller.poll(0):
            self.closed = True
            return False
        return True

    def exit_status(self, pid, timeout=2.0):
        """How instance ``pid`` ended, as text ("exited with status 3", "was killed by signal 9")."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                with self._lock:
                    self._control.send({"op": "status", "pid": pid})
                    while True:
                        message = _receive(self._control, deadline)
                        if message is None:
                            return "was stopped with its component's processes"
                        if message.get("op") == "status" and message.get("pid") == pid:
                            break
            except (OSError, TimeoutError):
                return "stopped answering"
            if message.get("status") is not None or time.monotonic() >= deadline:
                return _code_text(message.get("status"))
            time.sleep(0.02)

    def close(self) -> None:
        """No new instances; the zygote exits once the running ones have."""
        with self._lock:
            if self.closed:
                return
            self.closed = True
            try:
                self._control.send({"op": "close"})
            except OSError:
                pass


class InstanceSource:
    """A component's base process, for one set of settings (module, paths, environment,
    files, network rules): loads zygotes of its code."""

    def __init__(self, python, settings, environment, output):
        """``python()`` gives the app's interpreter (it may be being installed: LoadFailed says why not)."""
        self.python = python
        self.settings = settings
        self.environment = environment
        self.output = output
        self._process: subprocess.Popen | None = None
        self._control: Control | None = None
        self._lock = threading.Lock()
        self._preloaded = set(settings.preload)
        self._stopped = False

    def _start_base(self, deadline: float) -> Control:
        """Start the base process; its control channel once it says ready."""
        python = self.python()
        try:
            process, control = start_base(python, self.settings, self.environment,
                                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        except OSError as error:
            raise LoadFailed(f"cannot start a worker for component '{self.settings.component}' with {python}: "
                             f"{error.strerror or error}") from None
        self._process, self._control = process, control
        with _live_lock:
            _live.add(self)
        self.output.follow(process)
        try:
            message = _receive(control, deadline)
        except TimeoutError:
            self.stop()
            raise LoadFailed(f"worker for component '{self.settings.component}' did not start within {LOAD_LIMIT:g} s") from None
        if message is None or message.get("op") != "ready":
            raise LoadFailed(f"worker for component '{self.settings.component}' {self._base_status()} while loading")
        return control

    def _base_status(self) -> str:
        if self._process is None:
            return "was not started"
        try:
            return _code_text(self._process.wait(timeout=2))
        except Exception:
            return "stopped answering"

    def load(self) -> Zygote:
        """Import the component's code in a new zygote; LoadFailed with the app's error otherwise."""
        deadline = time.monotonic() + LOAD_LIMIT
        with self._lock:
            if self._stopped:
                raise LoadFailed(f"component '{self.settings.component}' has been stopped")
            base = self._control
            if base is None or self._process is None or self._process.poll() is not None:
                base = self._start_base(deadline)
            control, guest_end = control_pair()
            try:
                base.send({"op": "fork"}, (guest_end.fileno(),))
            except OSError:
                control.close()
                raise LoadFailed(f"worker for component '{self.settings.component}' {self._base_status()}") from None
            finally:
                guest_end.close()
        try:
            message = _receive(control, deadline)
        except TimeoutError:
            control.close()
            raise LoadFailed(f"worker for component '{self.settings.component}' did not load within {LOAD_LIMIT:g} s") from None
        except OSError as error:
            control.close()
            raise LoadFailed(f"worker for component '{self.settings.component}' failed to load: {error}") from None
        if message is None:
            control.close()
            raise LoadFailed(f"worker for component '{self.settings.component}' exited while loading")
        if message.get("op") == "load-failed":
            control.close()
            raise LoadFailed(str(message.get("error", "the component failed to load")))
        if message.get("op") != "ready":
            control.close()
            raise LoadFailed(f"worker for component '{self.settings.component}' sent {message.get('op')!r} before ready")
        zygote = Zygote(self, control, message)
        self._preload(zygote.modules)
        return zygote

    def _preload(self, modules):
        """The base imports what this load imported from outside the app's folders, so the next load has it."""
        new = [name for name in modules if name not in self._preloaded]
        if not new:
            return
        self._preloaded.update(new)
        try:
            with self._lock:
                if self._control is not None:
                    self._control.send({"op": "preload", "modules": new})
        except OSError:
            pass

    def close(self) -> None:
        """Fork no more zygotes; the base exits once they have."""
        with self._lock:
            if self._control is not None:
                try:
                    self._control.send({"op": "close"})
                except OSError:
                    pass
        with _live_lock:
            _live.discard(self)

    def stop(self) -> None:
        """Kill the base and, with it, every zygote and instance it made."""
        with self._lock:
            self._stopped = True
            process = self._process
        if process is not None:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            process.wait()
        with _live_lock:
            _live.discard(self)

    def renewed(self) -> "InstanceSource":
        """The same settings in a new base that preloads nothing (the app's packages changed)."""
        return InstanceSource(self.python, replace(self.settings, preload=[]), self.environment, self.output)

    def inherit(self, previous: "InstanceSource") -> None:
        """Preload what the source this one replaces had learnt to (its settings changed, not its imports)."""
        self._preloaded |= previous._preloaded
        self.settings = replace(self.settings, preload=sorted(self._preloaded))

