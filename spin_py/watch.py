"""Answers one question for hot reload: which watched files changed?

A ``ChangeWatcher`` is an iterator: each ``next()`` blocks until a burst of
file events has settled and returns the changes as ``{key: {paths}}``, where a
key names what the files belong to (a component id, the manifest, ...). It
knows nothing of servers or workers.

Patterns follow Spin's `build.watch` (gitignore-style globs relative to a root:
a pattern without a slash matches a file name at any depth, `**` crosses
folders). Events that change nothing (a file opened, a save of the same bytes
with the same mtime) are ignored, and so are tools' folders and editors'
temporary files.
"""

import os
import queue
import re
import time
from dataclasses import dataclass
from pathlib import Path

IGNORED_DIRS = {".spin", ".venv", "venv", "__pycache__", ".git", ".hg", ".mypy_cache", ".pytest_cache", "node_modules"}
IGNORED_NAME = re.compile(r"(^\.#|^#.*#$|~$|\.sw[a-p]$|\.swx$|\.tmp$|\.bak$|^4913$|\.pyc$)")


@dataclass(frozen=True)
class WatchTarget:
    key: str
    root: Path
    patterns: tuple  # gitignore-style globs relative to root; absolute paths are allowed


def _glob_regex(pattern):
    """gitignore-style glob to a regex over a root-relative POSIX path."""
    anchored = "/" in pattern.rstrip("/")
    pattern = pattern.strip("/")
    out = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    body = "".join(out)
    return re.compile(("" if anchored else "(?:.*/)?") + body + "$")


class _Matcher:
    def __init__(self, target):
        self.target = target
        self.root = target.root.resolve()
        self.absolute = {Path(p).resolve() for p in target.patterns if os.path.isabs(p)}
        self.regexes = [_glob_regex(p) for p in target.patterns if not os.path.isabs(p)]

    def matches(self, path):
        if path in self.absolute:
            return True
        try:
            relative = path.relative_to(self.root)
        except ValueError:
            return False
        parts = relative.parts
        if not parts or any(part in IGNORED_DIRS for part in parts[:-1]) or IGNORED_NAME.search(parts[-1]):
            return False
        text = relative.as_posix()
        return any(regex.match(text) for regex in self.regexes)


def _stat(path):
    try:
        info = os.stat(path)
    except OSError:
        return None
    return (info.st_mtime_ns, info.st_size)


class ChangeWatcher:
    def __init__(self, targets, settle=0.05, max_delay=0.5):
        """``settle``: quiet time that ends a burst; ``max_delay``: the longest a burst is held."""
        from watchdog.events import FileSystemEventHandler
        from watchdog.observers import Observer

        self.settle = settle
        self.max_delay = max_delay
        self._events = queue.Queue()
        self._matchers = []
        self._seen = {}
        self._observer = Observer()
        self._closed = False
        events = self._events

        class Forward(FileSystemEventHandler):
            def on_any_event(self, event):
                if event.event_type in ("opened", "closed_no_write"):
                    return
                events.put(event.src_path)
                if getattr(event, "dest_path", None):
                    events.put(event.dest_path)

        self._handler = Forward()
        self.set_targets(targets)
        self._observer.start()

    def set_targets(self, targets):
        """Watch a new set of targets (after the manifest changed)."""
        self._matchers = [_Matcher(t) for t in targets]
        roots = set()
        for matcher in self._matchers:
            roots.add(matcher.root)
            roots.update(path.parent for path in matcher.absolute)
        self._observer.unschedule_all()
        for root in sorted(roots):
            if root.is_dir():
                self._observer.schedule(self._handler, str(root), recursive=True)
        for matcher in self._matchers:
            for path in self._walk(matcher):
                self._seen.setdefault(path, _stat(path))

    @staticmethod
    def _walk(matcher):
        yield from (p for p in matcher.absolute if p.exists())
        for folder, dirs, files in os.walk(matcher.root):
            dirs[:] = [d for d in dirs if d not in IGNORED_DIRS]
            for name in files:
                path = Path(folder, name)
                if matcher.matches(path):
                    yield path

    def __iter__(self):
        return self

    def __next__(self):
        while True:
            changes = self._next_burst()
            if changes:
                return changes

    def _next_burst(self):
        first = self._events.get()
        if self._closed:
            raise StopIteration
        raw = {first}
        started = time.monotonic()
        while time.monotonic() - started < self.max_delay:
            try:
                raw.add(self._events.get(timeout=self.settle))
            except queue.Empty:
                break
        changes = {}
        for raw_path in raw:
            path = Path(raw_path)
            state = _stat(path)
            if self._seen.get(path, "unseen") == state:
                continue  # nothing changed in the file
            keys = [m.target.key for m in self._matchers if m.matches(path)]
            if not keys:
                continue
            self._seen[path] = state
            for key in keys:
                changes.setdefault(key, set()).add(path)
        return changes

    def close(self):
        self._closed = True
        self._events.put("")
        self._observer.stop()
        self._observer.join(timeout=5)
