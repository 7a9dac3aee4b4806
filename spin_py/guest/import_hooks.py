"""Run our code around the import of chosen modules of the app's environment.

The app's spin-sdk is imported the normal way, from the app's own site-packages,
whenever the app first imports it (at load time or in the middle of a request).
A hook wraps the execution of one module, so it can fill in functions that
only a WebAssembly host provides, or undo what the module does to the
interpreter.
"""

import importlib.abc
import sys
from importlib.machinery import ModuleSpec
from types import ModuleType
from typing import Any

_hooks: dict = {}  # module name -> what runs once it is imported


def on_import(name, hook) -> None:
    """``hook(module, run)`` is called instead of executing module ``name``; it must call ``run()``."""
    _hooks[name] = hook
    if not any(isinstance(finder, _Finder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _Finder())


class _Finder(importlib.abc.MetaPathFinder):
    """Lets the rest of sys.meta_path find the module, then wraps its loader."""

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> ModuleSpec | None:
        hook = _hooks.get(fullname)
        if hook is None:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None and spec.loader is not None:
                spec.loader = _Loader(spec.loader, hook)
                return spec
        return None


class _Loader(importlib.abc.Loader):
    def __init__(self, loader, hook) -> None:
        self._loader = loader
        self._hook = hook

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        return self._loader.create_module(spec)

    def exec_module(self, module) -> None:
        self._hook(module, lambda: self._loader.exec_module(module))

    def __getattr__(self, name: str) -> Any:
        # get_source, get_resource_reader...: tracebacks and importlib.resources keep working.
        return getattr(self._loader, name)
