"""A component's stdout and stderr: to the terminal with the component id in
front, and to ``<state-dir>/logs/<id>_stdout.txt`` / ``_stderr.txt`` as Spin
writes them."""

import sys
import threading
from pathlib import Path

# One lock for everything spin-py writes to the terminal (request log, component
# output), and one write per text, so a line is never cut by another.
_TERMINAL_LOCK = threading.Lock()


def write_terminal(terminal, text):
    """Write ``text`` as whole lines to ``terminal``, never interleaved with another writer's."""
    with _TERMINAL_LOCK:
        terminal.write(text if text.endswith("\n") else text + "\n")
        terminal.flush()


_MOST_PER_LINE = 64 * 1024  # a longer line is shown in pieces (the log file keeps it whole)


class ComponentOutput:
    def __init__(self, component_id, logs_dir, terminal=None):
        self.component_id = component_id
        self.logs_dir = Path(logs_dir)
        self.terminal = terminal or sys.stderr

    def follow(self, process):
        """Copy a worker's piped stdout and stderr until it exits (daemon threads)."""
        for stream, suffix in ((process.stdout, "stdout"), (process.stderr, "stderr")):
            threading.Thread(
                target=self._copy, args=(stream, suffix), name=f"{self.component_id}-{suffix}", daemon=True
            ).start()

    def _copy(self, stream, suffix):
        log_path = self.logs_dir / f"{self.component_id}_{suffix}.txt"
        with stream, open(log_path, "ab") as log:
            # Bounded reads: a worker printing without newlines cannot grow the host's memory.
            for line in iter(lambda: stream.readline(_MOST_PER_LINE), b""):
                log.write(line)
                log.flush()
                self.write(line.decode("utf-8", "replace").rstrip("\n"))

    def write(self, text):
        """Show lines on the terminal as this component's."""
        write_terminal(self.terminal, "".join(f"[{self.component_id}] {line}\n" for line in text.splitlines() or [""]))
