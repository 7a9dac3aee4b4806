"""The change watcher: real files edited on disk, ``next(watcher)`` to see what changed."""

import queue
import threading
import time

import pytest

from spin_py.watch import ChangeWatcher, WatchTarget


class Changes:
    """Consumes the watcher in one background thread, as the server does."""

    def __init__(self, watcher):
        self.found = queue.Queue()
        threading.Thread(target=self._consume, args=(watcher,), daemon=True).start()

    def _consume(self, watcher):
        for changes in watcher:
            self.found.put(changes)

    def next(self, timeout=5):
        try:
            return self.found.get(timeout=timeout)
        except queue.Empty:
            return None


@pytest.fixture
def tree(tmp_path):
    (tmp_path / "app" / "pkg").mkdir(parents=True)
    (tmp_path / "app" / ".venv" / "lib").mkdir(parents=True)
    (tmp_path / "app" / "__pycache__").mkdir()
    (tmp_path / "app" / "app.py").write_text("one")
    (tmp_path / "app" / "pkg" / "util.py").write_text("one")
    (tmp_path / "app" / "notes.txt").write_text("one")
    (tmp_path / "spin.toml").write_text("one")
    return tmp_path


def make_watcher(tree):
    return ChangeWatcher(
        [
            WatchTarget("component", tree / "app", ("*.py", "requirements.txt")),
            WatchTarget("manifest", tree, (str(tree / "spin.toml"),)),
        ]
    )


def test_edits_are_reported_by_key(tree):
    watcher = make_watcher(tree)
    changes = Changes(watcher)
    try:
        (tree / "app" / "pkg" / "util.py").write_text("two")
        assert changes.next() == {"component": {tree / "app" / "pkg" / "util.py"}}
        (tree / "spin.toml").write_text("two")
        assert changes.next() == {"manifest": {tree / "spin.toml"}}
        (tree / "app" / "requirements.txt").write_text("spin-sdk")
        assert changes.next() == {"component": {tree / "app" / "requirements.txt"}}
    finally:
        watcher.close()


def test_a_burst_of_events_is_one_change(tree):
    watcher = make_watcher(tree)
    changes = Changes(watcher)
    try:
        for i in range(10):
            (tree / "app" / "app.py").write_text(f"save {i}")
        (tree / "app" / "pkg" / "util.py").write_text("also")
        burst = changes.next()
        assert burst == {"component": {tree / "app" / "app.py", tree / "app" / "pkg" / "util.py"}}
        assert changes.next(0.5) is None
    finally:
        watcher.close()


def test_ignored_files_and_events_that_change_nothing(tree):
    watcher = make_watcher(tree)
    changes = Changes(watcher)
    try:
        (tree / "app" / ".venv" / "lib" / "site.py").write_text("x")
        (tree / "app" / "__pycache__" / "app.cpython-311.py").write_text("x")
        (tree / "app" / ".app.py.swp").write_text("x")
        (tree / "app" / "app.py~").write_text("x")
        (tree / "app" / "notes.txt").write_text("two")
        (tree / "app" / "app.py").read_text()  # opened, not changed
        assert changes.next(1) is None
        (tree / "app" / "app.py").write_text("real change")
        assert changes.next() == {"component": {tree / "app" / "app.py"}}
    finally:
        watcher.close()


def test_a_file_replaced_by_rename_as_editors_save(tree):
    watcher = make_watcher(tree)
    changes = Changes(watcher)
    try:
        temporary = tree / "app" / "app.py.tmp"
        temporary.write_text("atomic save")
        time.sleep(0.01)
        temporary.rename(tree / "app" / "app.py")
        assert changes.next() == {"component": {tree / "app" / "app.py"}}
    finally:
        watcher.close()


def test_glob_semantics_follow_spin_watch(tmp_path):
    from spin_py.watch import _glob_regex

    assert _glob_regex("*.py").match("app.py") and _glob_regex("*.py").match("deep/er/app.py")
    assert _glob_regex("src/*.py").match("src/app.py")
    assert not _glob_regex("src/*.py").match("src/x/app.py")
    assert _glob_regex("src/**/*.py").match("src/x/y/app.py")
    assert not _glob_regex("requirements.txt").match("requirements.txt.bak")
