"""Spin application manifests (spin.toml): loading, validation as Spin does it, and
finding each component's Python code.

Version 1 manifests are normalized to the version 2 model the way Spin does it.
"""

from spin_py.manifest.errors import ManifestError
from spin_py.manifest.frozen import FrozenDict
from spin_py.manifest.loader import load_manifest, manifest_file
from spin_py.manifest.model import App, Build, Component, HttpTrigger, RedisTrigger, Variable
from spin_py.manifest.python_source import NotPython, PythonEntry, python_entry
from spin_py.manifest.served import check_trigger_types, unserved_triggers

__all__ = [
    "App",
    "Build",
    "Component",
    "FrozenDict",
    "HttpTrigger",
    "ManifestError",
    "NotPython",
    "PythonEntry",
    "RedisTrigger",
    "Variable",
    "check_trigger_types",
    "load_manifest",
    "manifest_file",
    "python_entry",
    "unserved_triggers",
]
