"""A component's stdout and stderr: to the terminal with the component id in
front, and to ``<state-dir>/logs/<id>_stdout.txt`` / ``_stderr.txt`` as Spin
writes them.

All instances of a component write to its base process's two pipes, read here by
one thread each; a request's access line is written by the thread that served it.
``catch_up()`` lets that thread wait until what is already in the pipes has been
shown, so a request's printed lines come before its access line, as under Spin
(whose instances write their stdio from the request's own task)."""

import fcntl
import os
import select
import struct
import sys
import termios
import threading
import time
from pathlib import Path

from spin_py import observe

# One lock for everything spin-py writes to the terminal (request log, component
# output), and one write per text, so a line is never cut by another.
_TERMINAL_LOCK = threading.Lock()


def write_terminal(terminal, text: str) -> None:
    """Write ``text`` as whole lines to ``terminal``, never interleaved with another writer's."""
    with _TERMINAL_LOCK:
        terminal.write(text if text.endswith("\n") else text + "\n")
        terminal.flush()


_MOST_PER_LINE = 64 * 1024  # a longer line is shown in pieces (the log file keeps it whole)
_READ = 64 * 1024
# How long an access line waits at most for output already in the pipes: enough for the
# reader thread to be scheduled and write a few lines; a component that floods its output
# does not slow every request down by more.
CATCH_UP_LIMIT = 0.005


def _unread(fd: int) -> int:
    """Bytes in the pipe that no one has read yet (FIONREAD)."""
    try:
        return struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0"))[0]
    except OSError:  # closed meanwhile
        return 0


class ComponentOutput:
    def __init__(self, component_id, logs_dir, terminal=None):
        self.component_id = component_id
        self.logs_dir = Path(logs_dir)
        self.terminal = terminal or sys.stderr
        # Per followed pipe: bytes read from it, and bytes of those shown (or held as the start
        # of a line not yet ended). Both change under _progress, with the read itself.
        self._progress = threading.Condition()
        self._read: dict[int, int] = {}
        self._shown: dict[int, int] = {}

    def follow(self, process) -> None:
        """Copy a worker's piped stdout and stderr until it exits (daemon threads)."""
        for stream, suffix in ((process.stdout, "stdout"), (process.stderr, "stderr")):
            fd = stream.fileno()
            with self._progress:
                self._read[fd] = self._shown[fd] = 0
            threading.Thread(
                target=self._copy, args=(stream, fd, suffix), name=f"{self.component_id}-{suffix}", daemon=True
            ).start()

    def catch_up(self, limit: float = CATCH_UP_LIMIT) -> None:
        """Return once what the pipes hold now has been shown, or after ``limit`` seconds."""
        with self._progress:
            if not self._read:
                return
            # Read and FIONREAD under the same lock as the reader's read: neither counts a byte twice or never.
            wanted = {fd: read + _unread(fd) for fd, read in self._read.items()}
            if all(self._shown[fd] >= goal for fd, goal in wanted.items()):
                return
            deadline = time.monotonic() + limit
            while any(self._shown.get(fd, goal) < goal for fd, goal in wanted.items()):
                left = deadline - time.monotonic()
                if left <= 0:
                    return
                self._progress.wait(left)

    def _copy(self, stream, fd: int, suffix: str) -> None:
        log_path = self.logs_dir / f"{self.component_id}_{suffix}.txt"
        pending = b""
        readable = select.poll()  # not select.select: a busy host's descriptors pass FD_SETSIZE
        readable.register(fd, select.POLLIN)
        with stream, open(log_path, "ab") as log:
            while True:
                readable.poll()  # the read below then takes what is there without waiting
                with self._progress:
                    chunk = os.read(fd, _READ)
                    self._read[fd] += len(chunk)
                if not chunk:
                    break
                log.write(chunk)
                log.flush()
                pending = self._show(pending + chunk, suffix)
                with self._progress:
                    self._shown[fd] += len(chunk)
                    self._progress.notify_all()
            if pending:
                self._write_lines([pending.decode("utf-8", "replace")])
            with self._progress:
                del self._read[fd], self._shown[fd]
                self._progress.notify_all()

    def _show(self, data: bytes, stream: str = "stdout") -> bytes:
        """Show ``data``'s whole lines (a longer one in pieces); returns the unended rest."""
        lines = []
        while True:
            end = data.find(b"\n", 0, _MOST_PER_LINE)
            if end < 0 and len(data) < _MOST_PER_LINE:
                break
            cut = end + 1 if end >= 0 else _MOST_PER_LINE
            lines.append(data[:cut].decode("utf-8", "replace").rstrip("\n"))
            data = data[cut:]
        if lines:
            observe.output(self.component_id, stream, lines)  # spin_py/observe.py
            self._write_lines(lines)
        return data

    def write(self, text: str) -> None:
        """Show lines on the terminal as this component's."""
        observe.output(self.component_id, "host", [text])
        self._write_lines([text])

    def _write_lines(self, texts: list[str]) -> None:
        """One terminal write for all of ``texts``, each shown as ``write`` shows it."""
        write_terminal(self.terminal, "".join(
            f"[{self.component_id}] {line}\n" for text in texts for line in (text.splitlines() or [""])
        ))
