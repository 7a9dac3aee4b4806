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
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Folders no one edits app code in: tools' state, caches, and Python environments. A
# folder holding a pyvenv.cfg is a virtual environment whatever its name.
IGNORED_DIRS = frozenset({
    ".spin", ".venv", "venv", "__pycache__", ".git", ".hg", ".mypy_cache", ".pytest_cache", "node_modules",
    "site-packages", "dist-packages",
})  # fmt: skip
VENV_MARKER = "pyvenv.cfg"
# What a target's files belong to, reported with them: ("manifest",), ("component", id), ...
Key = tuple[str, ...]
IGNORED_NAME = re.compile(r"(^\.#|^#.*#$|~$|\.sw[a-p]$|\.swx$|\.tmp$|\.bak$|^4913$|\.pyc$)")


def ignored_dir(path: str | os.PathLike[str]) -> bool:
    """Is ``path`` a folder whose files never count as an edit (so it is not even watched)?"""
    path = Path(path)
    return path.name in IGNORED_DIRS or (path / VENV_MARKER).exists()


def watched_dirs(root: str | os.PathLike[str]) -> Iterator[Path]:
    """``root`` and every folder below it that is not ignored, nor inside an ignored one."""
    for folder, dirs, _ in os.walk(root):
        dirs[:] = [name for name in dirs if not ignored_dir(Path(folder, name))]
        yield Path(folder)


@dataclass(frozen=True)
class WatchTarget:
    key: Key
    root: Path
    patterns: tuple[str, ...]  # gitignore-style globs relative to root; absolute paths are allowed


def _glob_regex(pattern: str) -> re.Pattern[str]:
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
    def __init__(self, target: WatchTarget) -> None:
        self.target = target
        self.root = target.root.resolve()
        self.absolute = {Path(p).resolve() for p in target.patterns if os.path.isabs(p)}
        self.regexes = [_glob_regex(p) for p in target.patterns if not os.path.isabs(p)]

    def matches(self, path: Path) -> bool:
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


def _stat(path: str | os.PathLike[str]) -> tuple[int, int] | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return (info.st_mtime_ns, info.st_size)


class ChangeWatcher:
    """Each folder is watched on its own, not recursively: a recursive watch would also
    watch every folder of a virtual environment inside the app, and a `pip install`
    there (thousands of folders made and removed) would flood the watcher. New folders
    are watched as they appear, unless ignored."""

    def __init__(self, targets: Iterable[WatchTarget], settle: float = 0.03, max_delay: float = 0.5) -> None:
        """``settle``: quiet time that ends a burst (an editor's save, a write and a rename, takes a few
        milliseconds); ``max_delay``: the longest a burst is held."""
        from watchdog.events import FileSystemEventHandler
        from watchdog.observers import Observer

        self.settle = settle
        self.max_delay = max_delay
        self._events: queue.Queue[Any] = queue.Queue()  # watchdog events, and paths of files found in new folders
        self._matchers: list[_Matcher] = []
        self._seen: dict[Path, tuple[int, int] | None] = {}
        self._observer = Observer()
        self._closed = False
        self._lock = threading.RLock()
        self._recursive_roots: set[Path] = set()  # folders whose whole (not ignored) tree is watched
        self._watches: dict[Path, Any] = {}  # folder -> its watchdog watch
        events = self._events

        class Forward(FileSystemEventHandler):
            def on_any_event(self, event: Any) -> None:
                if event.event_type not in ("opened", "closed_no_write"):
                    events.put(event)  # looked at by the consumer's thread: see _next_burst

        self._handler = Forward()
        self.set_targets(targets)
        self._observer.start()

    def set_targets(self, targets: Iterable[WatchTarget]) -> None:
        """Watch a new set of targets (after the manifest changed)."""
        matchers = [_Matcher(t) for t in targets]
        recursive: set[Path] = set()
        single: set[Path] = set()
        for matcher in matchers:
            if matcher.regexes:
                recursive.add(matcher.root)
            single.update(path.parent for path in matcher.absolute)
        wanted = {folder for folder in single if folder.is_dir()}
        for root in recursive:
            wanted.update(watched_dirs(root))
        with self._lock:
            self._matchers = matchers
            self._recursive_roots = recursive
            for folder in [folder for folder in self._watches if folder not in wanted]:
                self._unwatch(folder)
            for folder in sorted(wanted):
                self._watch(folder)
        for matcher in matchers:
            for path in self._walk(matcher):
                self._seen.setdefault(path, _stat(path))

    @property
    def watched(self) -> set[Path]:
        """The folders watched now."""
        with self._lock:
            return set(self._watches)

    def _watch(self, folder: Path) -> None:
        if folder in self._watches or self._closed:
            return
        try:
            self._watches[folder] = self._observer.schedule(self._handler, str(folder), recursive=False)
        except OSError:
            pass  # gone already, or unreadable: nothing in it can be edited

    def _unwatch(self, folder: Path) -> None:
        watch = self._watches.pop(folder, None)
        if watch is not None:
            try:
                self._observer.unschedule(watch)
            except KeyError:
                pass

    def _follow_folders(self, event: Any) -> None:
        """Keep the set of watched folders in step with the tree: a new folder under a
        recursive root is watched (with what it already holds), a removed one is not,
        and a folder that becomes a virtual environment stops being watched."""
        with self._lock:
            if event.event_type in ("deleted", "moved") and event.is_directory:
                self._unwatch_tree(Path(event.src_path))
            if not event.is_directory and Path(event.src_path).name == VENV_MARKER:
                self._unwatch_tree(Path(event.src_path).parent)
            if event.event_type in ("created", "moved") and event.is_directory:
                folder = Path(getattr(event, "dest_path", "") or event.src_path)
                if self._wanted(folder):
                    for path in watched_dirs(folder):
                        self._watch(path)
                        # Files made before the watch began sent no event: look at them now.
                        for entry in os.scandir(path) if path.is_dir() else ():
                            if entry.is_file():
                                self._events.put(entry.path)

    def _unwatch_tree(self, folder: Path) -> None:
        for path in [path for path in self._watches if path == folder or folder in path.parents]:
            self._unwatch(path)

    def _wanted(self, folder: Path) -> bool:
        for root in self._recursive_roots:
            if folder == root or root in folder.parents:
                between = [folder, *folder.parents][: len(folder.parts) - len(root.parts)]
                return not any(ignored_dir(part) for part in between)
        return False

    @staticmethod
    def _walk(matcher: _Matcher) -> Iterator[Path]:
        yield from (p for p in matcher.absolute if p.exists())
        if not matcher.regexes:
            return
        for folder in watched_dirs(matcher.root):
            try:
                entries = list(os.scandir(folder))
            except OSError:
                continue
            for entry in entries:
                path = Path(entry.path)
                if entry.is_file() and matcher.matches(path):
                    yield path

    def __iter__(self) -> "ChangeWatcher":
        return self

    def __next__(self) -> dict[Key, set[Path]]:
        while True:
            changes = self._next_burst()
            if changes:
                return changes

    def _next_burst(self) -> dict[Key, set[Path]]:
        first = self._events.get()
        if self._closed:
            raise StopIteration
        raw: set[str] = set()
        self._take(first, raw)
        started = time.monotonic()
        while time.monotonic() - started < self.max_delay:
            try:
                self._take(self._events.get(timeout=self.settle), raw)
            except queue.Empty:
                break
        changes: dict[Key, set[Path]] = {}
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

    def _take(self, item: Any, raw: set[str]) -> None:
        """A queued watchdog event (or the path of a file found in a new folder) into ``raw`` paths.
        Folders are followed here, not in watchdog's thread: it holds watchdog's lock while it
        calls the handler, and set_targets takes ours before watchdog's."""
        if isinstance(item, str):
            if Path(item).name == VENV_MARKER:  # made before its folder was watched
                with self._lock:
                    self._unwatch_tree(Path(item).parent)
            raw.add(item)
            return
        self._follow_folders(item)
        raw.add(item.src_path)
        if getattr(item, "dest_path", None):
            raw.add(item.dest_path)

    def close(self) -> None:
        with self._lock:
            self._closed = True
        self._events.put("")
        self._observer.stop()
        self._observer.join(timeout=5)
