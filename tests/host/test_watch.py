"""The change watcher: real files edited on disk, ``next(watcher)`` to see what changed."""

import os
import queue
import shutil
import threading
import time
import warnings
from pathlib import Path

import pytest

from spin_py.host.watch import ChangeWatcher, WatchTarget


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


def test_edits_are_reported_by_key(tree) -> None:
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


def test_a_burst_of_events_is_one_change(tree) -> None:
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


def test_ignored_files_and_events_that_change_nothing(tree) -> None:
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


def test_a_file_replaced_by_rename_as_editors_save(tree) -> None:
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


def test_glob_semantics_follow_spin_watch(tmp_path) -> None:
    from spin_py.host.watch import _glob_regex

    assert _glob_regex("*.py").match("app.py") and _glob_regex("*.py").match("deep/er/app.py")
    assert _glob_regex("src/*.py").match("src/app.py")
    assert not _glob_regex("src/*.py").match("src/x/app.py")
    assert _glob_regex("src/**/*.py").match("src/x/y/app.py")
    assert not _glob_regex("requirements.txt").match("requirements.txt.bak")


def _venv_tree(tmp_path):
    """An app folder holding every kind of Python environment: none is edited by hand."""
    app = tmp_path / "app"
    (app / "pkg").mkdir(parents=True)
    (app / "app.py").write_text("one")
    (app / "pkg" / "util.py").write_text("one")
    for env in (".venv", "venv", "env-with-any-name", "deps/site-packages"):
        (app / env / "lib" / "python3.11" / "site-packages" / "old").mkdir(parents=True)
    (app / "env-with-any-name" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    return app


def _watched_paths(watcher):
    """Every folder an inotify (or other) watch covers, from watchdog's own emitters."""
    covered = set()
    for emitter in watcher._observer.emitters:
        path = Path(emitter.watch.path)
        covered.add(path)
        if emitter.watch.is_recursive:
            covered.update(Path(folder) for folder, _, _ in os.walk(path))
    return covered


def test_no_watch_is_scheduled_inside_python_environments(tmp_path) -> None:
    app = _venv_tree(tmp_path)
    watcher = ChangeWatcher([WatchTarget("component", app, ("*.py",))])
    try:
        covered = _watched_paths(watcher)
        assert app in covered and app / "pkg" in covered
        inside = [path for path in covered if {".venv", "venv", "env-with-any-name", "site-packages"} & set(path.parts)]
        assert inside == []
    finally:
        watcher.close()


def test_package_installs_in_an_environment_make_no_noise_and_no_change(tmp_path) -> None:
    """What pip does in site-packages: trees made, moved aside (its ~stash) and removed."""
    app = _venv_tree(tmp_path)
    site = app / "env-with-any-name" / "lib" / "python3.11" / "site-packages"
    watcher = ChangeWatcher([WatchTarget("component", app, ("*.py",))])
    changes = Changes(watcher)
    caught = []
    show = warnings.showwarning
    warnings.showwarning = lambda message, *args, **kwargs: caught.append(str(message))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            for _round in range(3):
                for index in range(20):
                    package = site / f"pkg{index}"
                    (package / "sub" / "__pycache__").mkdir(parents=True)
                    (package / "sub" / "mod.py").write_text("x")
                    (site / f"pkg{index}-1.0.dist-info").mkdir()
                for index in range(20):
                    for name in (f"pkg{index}", f"pkg{index}-1.0.dist-info"):
                        (site / name).rename(site / ("~" + name[1:]))
                        shutil.rmtree(site / ("~" + name[1:]))
            assert changes.next(1) is None
        assert caught == []
        (app / "pkg" / "util.py").write_text("two")
        assert changes.next() == {"component": {app / "pkg" / "util.py"}}
    finally:
        warnings.showwarning = show
        watcher.close()


def test_new_folders_are_watched_and_a_new_environment_is_not(tmp_path) -> None:
    app = _venv_tree(tmp_path)
    watcher = ChangeWatcher([WatchTarget("component", app, ("*.py",))])
    changes = Changes(watcher)
    try:
        # mkdir -p and a file at once: the file was written before its folder could be watched.
        (app / "new" / "deeper").mkdir(parents=True)
        (app / "new" / "deeper" / "mod.py").write_text("one")
        assert changes.next() == {"component": {app / "new" / "deeper" / "mod.py"}}
        (app / "new" / "deeper" / "mod.py").write_text("two")
        assert changes.next() == {"component": {app / "new" / "deeper" / "mod.py"}}

        # `python -m venv fresh`: its folder first, pyvenv.cfg a moment later.
        (app / "fresh" / "lib").mkdir(parents=True)
        (app / "fresh" / "pyvenv.cfg").write_text("home = /usr/bin\n")
        changes.next(1)
        deadline = time.monotonic() + 5
        while any("fresh" in path.parts for path in _watched_paths(watcher)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any("fresh" in path.parts for path in _watched_paths(watcher))
        (app / "fresh" / "lib" / "site.py").write_text("x")
        assert changes.next(1) is None
    finally:
        watcher.close()
