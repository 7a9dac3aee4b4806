"""Where a component's Python code is: read from its build command, which for a
Python component runs componentize-py (or the older ``spin py2wasm``).

The command runs in a shell from ``build.workdir`` (relative to the manifest's folder,
default that folder), so it may chain steps (``pip install ... && componentize-py ...``)
or ``cd`` first; relative paths in it are from wherever that leaves the shell.

A component running a spin-fileserver release is not Python: ``file_server_release`` tells
it, and the host serves it itself.
"""

import hashlib
import os
import re
import shlex
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class PythonEntry:
    module: str  # the app module componentize-py wraps, e.g. "app"
    workdir: Path  # absolute: where the build command runs componentize-py
    paths: tuple[Path, ...]  # absolute: its -p python paths (default: the workdir)


@dataclass(frozen=True)
class NotPython:
    reason: str  # for people: why the component cannot be run as Python


_SEPARATORS = frozenset({"&&", "||", ";", "|", "&", ";;", "|&"})
_REDIRECTS = frozenset(">< >> >& <& &> >| <<".split())
# componentize-py's options that take a value (global ones, then those of `componentize`),
# so their values are not mistaken for the module name; the ones kept are named.
_VALUE_OPTIONS = {
    "-d": None, "--wit-path": None, "-w": "world", "--world": "world",
    "--features": None, "--import-interface-name": None, "--export-interface-name": None,
    "--world-module": None, "-p": "path", "--python-path": "path", "-m": None,
    "--module-worlds": None, "-o": None, "--output": None,
}  # fmt: skip


def python_entry(app, component):
    """PythonEntry for a componentize-py (or py2wasm) component, else NotPython with the reason."""
    source = component.source
    if isinstance(source, dict):
        if "url" in source:
            return NotPython(f"source is a URL ({source['url']}), not a Python app")
        version = f"@{source['version']}" if source.get("version") else ""
        return NotPython(f"source is a registry package ({source.get('package')}{version}), not a Python app")
    build = component.build
    if build is None:
        return NotPython("it has no build command, so its Python code cannot be found")
    if build.workdir and Path(build.workdir).is_absolute():
        return NotPython(f"build.workdir {build.workdir!r} must be relative to the manifest's folder")
    workdir = Path(app.dir) / build.workdir if build.workdir else Path(app.dir)
    problems = []
    for command in build.commands:
        found = parse_build_command(command, workdir)
        if isinstance(found, PythonEntry):
            return found
        if found is not None:
            problems.append(found.reason)
    if problems:
        return NotPython(problems[0])
    shown = " && ".join(build.commands)
    return NotPython(f"build command `{shown}` does not run componentize-py or spin py2wasm, not a Python app")


def parse_build_command(command, workdir):
    """The entry a shell command builds, NotPython if it runs componentize-py wrongly,
    or None if it does not run componentize-py at all."""
    try:
        segments = _segments(command)
    except ValueError as error:
        return NotPython(f"build command `{command}` cannot be parsed: {error}")
    cwd = Path(workdir)
    for words in segments:
        if len(words) >= 2 and words[0] == "cd":
            cwd = cwd / os.path.expanduser(words[1])
            continue
        start, kind = _tool_start(words)
        if start is None:
            continue
        options, positional = _parse_options(words[start:])
        if kind == "componentize-py":
            if not positional or positional[0] != "componentize":
                continue  # e.g. `componentize-py bindings ...`
            positional = positional[1:]
        if not positional:
            return NotPython(f"build command `{command}` does not name the Python module for {kind}")
        return _entry(positional[0], cwd, options)
    return None


def _entry(module, cwd, options):
    cwd = cwd.resolve()
    paths = []
    for value in options.get("path", []):
        # Older componentize-py and py2wasm take one os.pathsep-separated -p.
        paths += [cwd / os.path.expanduser(part) for part in value.split(os.pathsep) if part]
    return PythonEntry(
        module=module,
        workdir=cwd,
        paths=tuple(path.resolve() for path in paths) or (cwd,),
    )


def _segments(command):
    """Split a shell command into the word lists of its simple commands."""
    command = command.replace("\\\r\n", " ").replace("\\\n", " ")
    segments = []
    for line in command.splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        words, skip = [], False
        for token in lexer:
            if skip:
                skip = False
            elif token in _SEPARATORS:
                segments.append(words)
                words = []
            elif token in _REDIRECTS:
                skip = True  # its target is not an argument
            elif not words and "=" in token and not token.startswith("-"):
                continue  # a `NAME=value` environment prefix
            else:
                words.append(token)
        segments.append(words)
    return [words for words in segments if words]


def _tool_start(words):
    """Index of the first argument after componentize-py / spin py2wasm in ``words``."""
    for index, word in enumerate(words):
        name = os.path.basename(word)
        if name in ("componentize-py", "componentize-py.exe"):
            return index + 1, "componentize-py"
        if word == "-m" and index + 1 < len(words) and words[index + 1] == "componentize_py":
            return index + 2, "componentize-py"
        if name in ("spin", "spin.exe") and index + 1 < len(words) and words[index + 1] == "py2wasm":
            return index + 2, "py2wasm"
        if name == "py2wasm":
            return index + 1, "py2wasm"
    return None, None


def _parse_options(args):
    """clap-style parsing: ``-p x``, ``-px``, ``-p=x``, ``--python-path x``, ``--python-path=x``."""
    options, positional = {}, []
    index = 0
    while index < len(args):
        arg = args[index]
        index += 1
        if arg == "--":
            positional += args[index:]
            break
        if arg.startswith("--"):
            name, equals, value = arg.partition("=")
        elif arg.startswith("-") and len(arg) > 1:
            name, value = arg[:2], arg[2:]
            equals = value
            if value.startswith("="):
                value = value[1:]
        else:
            positional.append(arg)
            continue
        if name not in _VALUE_OPTIONS:
            continue  # a flag such as -q or --stub-wasi
        if not equals:
            if index >= len(args):
                break
            value = args[index]
            index += 1
        if _VALUE_OPTIONS[name]:
            options.setdefault(_VALUE_OPTIONS[name], []).append(value)
    return options, positional


# --- Spin's static file server: a component the host serves itself (spin_py/trigger/static_files.py) ---

@dataclass(frozen=True)
class FileServerRelease:
    version: tuple[int, ...] | None  # (0, 3, 0); None when neither the URL nor the digest tells
    label: str  # for people: "spin-fileserver v0.3.0"


# Release assets of spin-fileserver, under the fermyon/ name before the move and spinframework/ after;
# `releases/latest/download/...` too.
_FILE_SERVER_URL = re.compile(
    r"https://github\.com/(?:fermyon|spinframework)/spin-fileserver/releases/"
    r"(?:download/(?P<tag>[^/]+)|latest/download)/spin_static_fs\.wasm"
)
# Each release's digest, from Spin's static-fileserver template history and its tests.
FILE_SERVER_DIGESTS = {
    "sha256:650376c33a0756b1a52cad7ca670f1126391b79050df0321407da9c741d32375": "v0.0.1",
    "sha256:65456bf4e84cf81b62075e761b2b0afaffaef2d0aeda521b245150f76b96421b": "v0.0.2",
    "sha256:38bf971900228222f7f6b2ccee5051f399adca58d71692cdfdea98997965fd0d": "v0.0.3",
    "sha256:96c76d9af86420b39eb6cd7be5550e3cb5d4cc4de572ce0fd1f6a29471536cb4": "v0.1.0",
    "sha256:1342e1b51f00ba3f9f5c96821f4ee8af75a8f49ca024a8bc892a3b74bbf53df2": "v0.2.0",
    "sha256:5f05b15f0f7cd353d390bc5ebffec7fe25c6a6d7a05b9366c86dcb1a346e9f0f": "v0.2.1",
    "sha256:ef88708817e107bf49985c7cefe4dd1f199bf26f6727819183d5c996baa3d148": "v0.3.0",
}
_VERSION = re.compile(r"v?(\d+)\.(\d+)\.(\d+)")


def file_server_release(app, component) -> FileServerRelease | None:
    """The spin-fileserver release a component runs, or None when it is not one: its source is a
    release URL, or a URL or local .wasm file with a known release's digest."""
    source = component.source
    tag = None
    if isinstance(source, dict) and "url" in source:
        found = _FILE_SERVER_URL.fullmatch(source["url"])
        tag = FILE_SERVER_DIGESTS.get(source.get("digest", "").lower())
        if found is None and tag is None:
            return None
        tag = (found and found.group("tag")) or tag
    elif isinstance(source, str) and source.endswith(".wasm"):
        tag = FILE_SERVER_DIGESTS.get(_file_digest(Path(app.dir) / source))
        if tag is None:
            return None
    else:
        return None
    version = _VERSION.fullmatch(tag) if tag else None
    return FileServerRelease(
        version=tuple(int(part) for part in version.groups()) if version else None,
        label=f"spin-fileserver {tag}" if tag else "spin-fileserver",
    )


def _file_digest(path):
    """``sha256:<hex>`` of a local Wasm file, or None if it cannot be read."""
    try:
        if path.stat().st_size > 64 * 1024 * 1024:  # no release is near this; a big build output is not one
            return None
        return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None
