"""The change watcher: real files edited on disk, ``next(watcher)`` to see what changed."""

import threading
import time
from pathlib import Path

import pytest

from spin_py.watch import ChangeWatcher, WatchTarget


def next_changes(watcher, timeout=5):
    result = []

    def wait():
        try:
            result.append(next(watcher))
        except StopIteration:
            pass

    thread = threading.Thread(target=wait, daemon=True)
    thread.start()
    thread.join(timeout)
    return result[0] if result else None


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
    try:
        (tree / "app" / "pkg" / "util.py").write_text("two")
        assert next_changes(watcher) == {"component": {tree / "app" / "pkg" / "util.py"}}
        (tree / "spin.toml").write_text("two")
        assert next_changes(watcher) == {"manifest": {tree / "spin.toml"}}
        (tree / "app" / "requirements.txt").write_text("spin-sdk")
        assert next_changes(watcher) == {"component": {tree / "app" / "requirements.txt"}}
    finally:
        watcher.close()


def test_a_burst_of_events_is_one_change(tree):
    watcher = make_watcher(tree)
    try:
        for i in range(10):
            (tree / "app" / "app.py").write_text(f"save {i}")
        (tree / "app" / "pkg" / "util.py").write_text("also")
        changes = next_changes(watcher)
        assert changes == {"component": {tree / "app" / "app.py", tree / "app" / "pkg" / "util.py"}}
        assert next_changes(watcher, timeout=0.5) is None
    finally:
        watcher.close()


def test_ignored_files_and_events_that_change_nothing(tree):
    watcher = make_watcher(tree)
    try:
        (tree / "app" / ".venv" / "lib" / "site.py").write_text("x")
        (tree / "app" / "__pycache__" / "app.cpython-311.py").write_text("x")
        (tree / "app" / ".app.py.swp").write_text("x")
        (tree / "app" / "app.py~").write_text("x")
        (tree / "app" / "notes.txt").write_text("two")
        (tree / "app" / "app.py").read_text()  # opened, not changed
        assert next_changes(watcher, timeout=1) is None
        (tree / "app" / "app.py").write_text("real change")
        assert next_changes(watcher) == {"component": {tree / "app" / "app.py"}}
    finally:
        watcher.close()


def test_a_file_replaced_by_rename_as_editors_save(tree):
    watcher = make_watcher(tree)
    try:
        temporary = tree / "app" / "app.py.tmp"
        temporary.write_text("atomic save")
        time.sleep(0.01)
        temporary.rename(tree / "app" / "app.py")
        assert next_changes(watcher) == {"component": {tree / "app" / "app.py"}}
    finally:
        watcher.close()


def test_glob_semantics_follow_spin_watch(tmp_path):
    from spin_py.watch import _glob_regex

    assert _glob_regex("*.py").match("app.py") and _glob_regex("*.py").match("deep/er/app.py")
    assert _glob_regex("src/*.py").match("src/app.py")
    assert not _glob_regex("src/*.py").match("src/x/app.py")
    assert _glob_regex("src/**/*.py").match("src/x/y/app.py")
    assert not _glob_regex("requirements.txt").match("requirements.txt.bak")
