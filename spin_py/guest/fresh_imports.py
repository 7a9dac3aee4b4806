"""The app's own modules are always compiled from their source.

CPython trusts a cached .pyc whose recorded source mtime (whole seconds) and
size match, so an edit made within the same second that keeps the file size
would be served stale after a reload. For the app's folders only, a path hook
skips the bytecode cache; packages from site-packages keep theirs.
"""

import importlib.machinery as machinery
import os
import sys
from collections.abc import Iterable
from types import CodeType
from typing import Any


class _SourceOnlyLoader(machinery.SourceFileLoader):
    def get_code(self, fullname: str) -> CodeType:
        return compile(self.get_data(self.path), self.path, "exec", dont_inherit=True)


def install(roots: Iterable[str]) -> tuple[str, ...]:
    """Compile modules found in ``roots`` (folders) from source, always."""
    roots = tuple(os.path.realpath(root) for root in roots)
    file_finder = machinery.FileFinder.path_hook(
        (_SourceOnlyLoader, machinery.SOURCE_SUFFIXES),
        (machinery.ExtensionFileLoader, machinery.EXTENSION_SUFFIXES),
    )

    def hook(path: str) -> Any:
        real = os.path.realpath(path or ".")
        if not any(real == root or real.startswith(root + os.sep) for root in roots):
            raise ImportError("not an app folder")
        if "site-packages" in real.split(os.sep):
            raise ImportError("an installed package")
        return file_finder(path)

    sys.path_hooks.insert(0, hook)
    sys.path_importer_cache.clear()
    sys.dont_write_bytecode = True
    return roots


def _in_app(path: str, roots: tuple[str, ...]) -> bool:
    real = os.path.realpath(path)
    return any(real.startswith(root + os.sep) for root in roots) and "site-packages" not in real.split(os.sep)


def split_new(names: Iterable[str], roots: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """The modules ``names`` (imported) as ``(app files, other module names)``: the source
    files of the app's own modules, what a reload should watch, and the rest, what a base
    process may import ahead (worker.py)."""
    files, others = set(), []
    for name in names:
        path = getattr(sys.modules.get(name), "__file__", None)
        if path and _in_app(path, roots):
            files.add(os.path.realpath(path))
        else:
            others.append(name)
    return sorted(files), others
