"""The host's side of the model process (model_process.py): start it on first
use, send it calls from any number of host threads (ids, one socket), and turn
its death into errors.

If the model process dies (a segfault or abort in native code, the OOM
killer), every call in flight gets ``LlmError("RuntimeError", ...)`` saying
what it was doing, the terminal gets one line saying what died, where and what
to do, and the next call starts a fresh model process (models load again on
use). The host itself never runs engine code, so it never dies of it.

Why a long-lived process and not a throwaway probe of each model file: a probe
catches a file that crashes at load, but not a crash in the middle of a
generation (llama.cpp's AMX kernels segfault on the first matrix product), and
it would load every model twice. The hop costs well under a millisecond per
call (bench/serverless_ai.py measures it), against tens of milliseconds per
generated token or embedding batch.

A model process that makes no progress is found too: it sends a progress
frame as its work advances (a model loaded, a prompt chunk of 512 tokens
evaluated, a decode step, an embedding batch answered), and a call that waits
PROGRESS_SECONDS with none (default 120, SPIN_PY_MODEL_PROGRESS_SECONDS) stops
the process with SIGKILL (a stopped or stuck process cannot be asked): its calls
get ``RuntimeError`` naming the model, the terminal says so in one line, and
the next call starts a fresh process. 120 s covers loading a large model from
a cold disk or one 512-token prompt chunk of a 7B model on a slow machine.

What the model process writes to its stderr (llama.cpp's errors, Python's
warnings) reaches the terminal under "model process: ", at most
STDERR_LINES_SHOWN lines per process, each cut at STDERR_LINE_BYTES.

The process is started from a dedicated thread that lives as long as the pool:
the child's PR_SET_PDEATHSIG fires when the thread that forked it ends, so
forking from a request's thread would kill it when that request finishes.
"""

import collections
import itertools
import os
import pickle
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from multiprocessing.connection import Connection
from pathlib import Path
from typing import IO, Any

import spin_py
from spin_py.capabilities.llm.engines.base import INVALID_INPUT, RUNTIME_ERROR, LlmError
from spin_py.capabilities.llm.model_process import MAX_MESSAGE_BYTES

STDERR_LINES_KEPT = 20
STDERR_LINES_SHOWN = 20
STDERR_LINE_BYTES = 400
STOP_SECONDS = 5
PROGRESS_SECONDS = 120.0
PROGRESS_VARIABLE = "SPIN_PY_MODEL_PROGRESS_SECONDS"
_WAIT_SLICE = 0.25  # how often a waiting call looks at its client and the process's progress
_PACKAGE_ROOT = str(Path(spin_py.__file__).resolve().parent.parent)


def progress_seconds(environ: Mapping[str, str] = os.environ) -> float:
    """The bound on a model process's silence, from SPIN_PY_MODEL_PROGRESS_SECONDS (ValueError naming it)."""
    text = environ.get(PROGRESS_VARIABLE)
    if text is None:
        return PROGRESS_SECONDS
    try:
        seconds = float(text)
    except ValueError:
        seconds = 0.0
    if not seconds > 0:
        raise ValueError(f"{PROGRESS_VARIABLE} must be a number of seconds greater than 0, got {text!r}")
    return seconds


class _Call:
    def __init__(self, doing: Callable[[], str]) -> None:
        self.doing = doing  # () -> "running infer on 'model' (file)": asked only if the process dies
        self.sent = time.monotonic()
        self.reply: dict[str, Any] = {}
        self.error: LlmError | None = None
        self.done = threading.Event()


def exit_cause(returncode: int) -> str:
    """'was killed by signal 11 (SIGSEGV)' or 'exited with code 1'."""
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = "unknown signal"
        return f"was killed by signal {-returncode} ({name})"
    return f"exited with code {returncode}"


def what_to_do(returncode: int, doing: str, stalled: bool = False) -> str:
    if stalled:
        return (f"if the machine is slow or the model large and it was still working, allow more time with "
                f"{PROGRESS_VARIABLE}=<seconds> (now {progress_seconds():g}); a process stopped on purpose "
                "(SIGSTOP, a debugger) is replaced the same way")
    if returncode == -signal.SIGKILL:
        return ("if nothing killed it on purpose, the system may have run out of memory: "
                "use a smaller (more quantized) model file")
    if doing.startswith("loading"):
        return ("the file may be damaged, or made for another llama.cpp version: "
                "replace it, or update llama-cpp-python")
    return ("if it dies again on this model, the file or the llama-cpp-python build is at fault: "
            "try another file, or rebuild llama-cpp-python for this CPU with CMAKE_ARGS=\"-DGGML_NATIVE=OFF\" "
            "pip install --force-reinstall --no-cache-dir llama-cpp-python")


class ModelProcess:
    """One model process at a time; ``call`` is safe from any thread."""

    def __init__(self, log: Callable[[str], None] = print, python: str = sys.executable,
                 progress: float | None = None) -> None:
        """``progress``: seconds a call waits without a progress frame before the process is
        stopped (default: progress_seconds())."""
        self.log = log
        self.python = python
        try:
            self.progress = progress if progress is not None else progress_seconds()
        except ValueError as error:
            raise LlmError(RUNTIME_ERROR, str(error)) from None
        self._last_progress = 0.0  # monotonic time of the running process's last frame
        self._stalled: subprocess.Popen[bytes] | None = None  # the process stopped for making no progress
        self.generation = 0  # counts model processes started: a new one has nothing loaded
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._send_lock = threading.Lock()
        self._ids = itertools.count(1)
        self._calls: dict[int, _Call] = {}  # in flight in the current process
        self._process: subprocess.Popen[bytes] | None = None
        self._connection: Connection | None = None
        self._wanted = False
        self._closed = False
        self._start_failure: LlmError | None = None
        self._thread: threading.Thread | None = None
        self._stderr: collections.deque[str] = collections.deque(maxlen=STDERR_LINES_KEPT)
        self._stderr_thread: threading.Thread | None = None

    @property
    def pid(self) -> int | None:
        """The running model process's pid, or None."""
        process = self._process
        return process.pid if process else None

    def call(self, message: dict[str, Any], doing: Callable[[], str],
             cancelled: Callable[[], bool] | None = None) -> dict[str, Any]:
        """Send ``message`` (a dict without ``id``) and wait for its reply (a dict).

        ``doing()`` says what the call does ("running infer on 'x' (file)"), for the error if the process
        dies or makes no progress. ``cancelled()``, looked at while waiting: true when the caller's client
        left; the model process is told to drop the call, and LlmError says so.
        """
        with self._lock:
            connection = self._running()
            call_id = next(self._ids)
            call = self._calls[call_id] = _Call(doing)
        data = pickle.dumps({**message, "id": call_id}, protocol=pickle.HIGHEST_PROTOCOL)
        if len(data) > MAX_MESSAGE_BYTES:
            with self._lock:
                self._calls.pop(call_id, None)
            raise LlmError(INVALID_INPUT, f"the request is {len(data)} bytes; the limit is {MAX_MESSAGE_BYTES}")
        try:
            with self._send_lock:
                connection.send_bytes(data)
        except OSError:
            pass  # the process died: the supervisor thread fails this call with the reason
        while not call.done.wait(_WAIT_SLICE):
            if cancelled is not None and cancelled():
                self._cancel(call_id, connection)
                raise LlmError(RUNTIME_ERROR, f"the call was cancelled while {doing()}: its client went away")
            if time.monotonic() - max(call.sent, self._last_progress) > self.progress:
                self._stop_stalled(connection)
        if call.error is not None:
            raise call.error
        return call.reply

    def _cancel(self, call_id: int, connection: Connection) -> None:
        with self._lock:
            if self._calls.pop(call_id, None) is None or self._connection is not connection:
                return  # answered meanwhile, or its process is gone
        try:
            with self._send_lock:
                connection.send_bytes(pickle.dumps({"op": "cancel", "id": call_id}, protocol=pickle.HIGHEST_PROTOCOL))
        except OSError:
            pass

    def _stop_stalled(self, connection: Connection) -> None:
        """No progress frame for the bound: SIGKILL the process (SIGSTOPped or stuck, it cannot be asked);
        _ended fails its calls and says why."""
        with self._lock:
            process = self._process
            if process is None or self._connection is not connection or self._stalled is process:
                return
            self._stalled = process
        process.kill()

    def close(self) -> None:
        """Stop the model process; calls in flight fail. The pool cannot be used after."""
        with self._lock:
            self._closed = True
            process = self._process
            self._changed.notify_all()
        if process is not None:
            process.terminate()
            try:
                process.wait(STOP_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(STOP_SECONDS)

    def _running(self) -> Connection:
        """The connection to the running process, asking the supervisor thread to start one if needed."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._supervise, name="model-process", daemon=True)
            self._thread.start()
        while self._connection is None:
            if self._closed:
                raise LlmError(RUNTIME_ERROR, "the model pool is closed")
            if not self._wanted:
                self._start_failure = None
                self._wanted = True
                self._changed.notify_all()
            self._changed.wait()
            if self._start_failure is not None:
                raise self._start_failure
        return self._connection

    def _supervise(self) -> None:
        while True:
            with self._lock:
                while not self._wanted and not self._closed:
                    self._changed.wait()
                if self._closed:
                    return
            try:
                process, connection = self._spawn()
            except OSError as error:
                with self._lock:
                    self._start_failure = LlmError(RUNTIME_ERROR, f"could not start the model process ({self.python}): {error}")
                    self._wanted = False
                    self._changed.notify_all()
                continue
            with self._lock:
                self._process, self._connection = process, connection
                self._last_progress = time.monotonic()
                self.generation += 1
                self._wanted = False
                self._changed.notify_all()
                if self._closed:  # close() came while it was starting
                    process.terminate()
            self._read(connection)
            self._ended(process, connection)

    def _spawn(self) -> tuple[subprocess.Popen[bytes], Connection]:
        host_end, child_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        # spin_py importable however the host was started (installed, editable, or from a checkout).
        paths = [_PACKAGE_ROOT] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
        try:
            process = subprocess.Popen(
                [self.python, "-m", "spin_py.capabilities.llm.model_process", str(child_end.fileno()), str(os.getpid())],
                pass_fds=(child_end.fileno(),),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                # GGML_NO_BACKTRACE: an abort says its GGML_ASSERT line, without a page of gdb backtrace.
                env={**os.environ, "PYTHONPATH": os.pathsep.join(paths), "GGML_NO_BACKTRACE": "1"},
            )
        except BaseException:
            host_end.close()
            raise
        finally:
            child_end.close()
        self._stderr.clear()
        self._stderr_thread = threading.Thread(target=self._keep_stderr, args=(process.stderr,),
                                               name="model-process-stderr", daemon=True)
        self._stderr_thread.start()
        return process, Connection(host_end.detach())

    def _keep_stderr(self, stream: IO[bytes]) -> None:
        """Show what the model process writes (llama.cpp's errors, Python's warnings) under one prefix,
        bounded, and keep its last lines for the line that says why it died (GGML_ASSERT)."""
        shown = 0
        with stream:
            while line := stream.readline(STDERR_LINE_BYTES):
                text = line.decode("utf-8", "replace").rstrip()
                if not text.strip():
                    continue
                self._stderr.append(text.strip())
                if shown < STDERR_LINES_SHOWN:
                    self.log(f"model process: {text}")
                elif shown == STDERR_LINES_SHOWN:
                    self.log(f"model process: (more output not shown: at most {STDERR_LINES_SHOWN} lines a process)")
                shown += 1

    def _read(self, connection: Connection) -> None:
        while True:
            try:
                data = connection.recv_bytes(MAX_MESSAGE_BYTES)
            except (EOFError, OSError):
                return
            reply = pickle.loads(data)
            self._last_progress = time.monotonic()
            if "id" not in reply:
                continue  # a progress frame
            with self._lock:
                call = self._calls.pop(reply["id"], None)
            if call is not None:
                call.reply = reply
                call.done.set()

    def _last_words(self) -> str:
        lines = list(self._stderr)
        telling = [line for line in lines if "GGML_ASSERT" in line or "error" in line.lower()]
        return (telling or lines or [""])[-1]

    def _ended(self, process: subprocess.Popen[bytes], connection: Connection) -> None:
        returncode = process.wait()
        connection.close()
        if self._stderr_thread is not None:
            self._stderr_thread.join(STOP_SECONDS)  # its last words first (a GGML_ASSERT), then ours
        with self._lock:
            calls = list(self._calls.values())
            self._calls.clear()
            self._process = self._connection = None
            closing = self._closed
            stalled, self._stalled = self._stalled is process, None
        if closing:
            for call in calls:
                call.error = LlmError(RUNTIME_ERROR, "the model pool was closed")
                call.done.set()
            return
        cause = f"made no progress for {self.progress:g} s" if stalled else exit_cause(returncode)
        after = ": it was stopped, and the next call starts a new one" if stalled else ""
        doings = [call.doing() for call in calls]
        for call, doing in zip(calls, doings, strict=True):
            call.error = LlmError(RUNTIME_ERROR, f"the model process {cause} while {doing}{after}")
            call.done.set()
        if doings:
            more = len(doings) - 1
            where = f" while {doings[0]}" + (f" (and {more} more call{'s' if more > 1 else ''})" if more else "")
            where += "; the calls failed with RuntimeError"
        else:
            where = " while idle"
        said = "" if stalled else self._last_words()
        said = f' It said: "{said[:200]}".' if said else ""
        if stalled:
            where += " and was stopped (SIGKILL)"
        advice = what_to_do(returncode, doings[0] if doings else "", stalled)
        self.log(f"Serverless AI: the model process {cause}{where}.{said} The next call starts a new model process, "
                 f"which loads its models again. What to do: {advice}.")
