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
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from spin_py.manifest.releases import release_version, url_release


@dataclass(frozen=True)
class PythonEntry:
    module: str  # the app module componentize-py wraps, e.g. "app"
    workdir: Path  # absolute: where the build command runs componentize-py
    paths: tuple[Path, ...]  # absolute: its -p python paths (default: the workdir)


@dataclass(frozen=True)
class NotPython:
    reason: str  # for people: why the component cannot be run as Python


_REDIRECTS = frozenset(["<", ">", "<>", ">>", ">&", "<&", "&>", ">|", "<<"])
# componentize-py's options that take a value (global ones, then those of `componentize`),
# so their values are not mistaken for the module name; the ones kept are named.
_VALUE_OPTIONS = {
    "-d": None, "--wit-path": None, "-w": "world", "--world": "world",
    "--features": None, "--import-interface-name": None, "--export-interface-name": None,
    "--world-module": None, "-p": "path", "--python-path": "path", "-m": None,
    "--module-worlds": None, "-o": "output", "--output": "output",
}  # fmt: skip


def python_entry(app, component) -> NotPython | PythonEntry:
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


def parse_build_command(command, workdir) -> NotPython | PythonEntry | None:
    """The entry a shell command builds, NotPython if it runs componentize-py wrongly,
    or None if it does not run componentize-py at all."""
    found = _find_tool(command, workdir)
    if found is None or isinstance(found, NotPython):
        return found
    kind, _, cwd, args = found
    options, positional = _parse_options(args)
    known = [word for word in positional if word.known]
    if not known:
        if positional:
            return NotPython(f"build command `{command}` names the Python module for {kind} only through a shell "
                             "substitution, which spin-py does not run")
        return NotPython(f"build command `{command}` does not name the Python module for {kind}")
    return _entry(str(known[0]), cwd, options)


def _find_tool(command, workdir) -> NotPython | tuple | None:
    """(kind, the words that run the tool, the folder the shell is in then, its arguments) for the first
    segment of ``command`` that runs componentize-py's ``componentize`` or py2wasm; None when none does;
    NotPython when the command cannot be read."""
    try:
        segments = _segments(command)
    except ValueError as error:
        return NotPython(f"build command `{command}` cannot be parsed: {error}")
    cwd = Path(workdir)
    for words in segments:
        if len(words) >= 2 and words[0] == "cd":
            if words[1].known:  # a `cd $(...)`: where it goes is unknown, so paths stay as they were
                cwd = cwd / os.path.expanduser(words[1])
            continue
        start, kind = _tool_start(words)
        if start is None:
            continue
        args = words[start:]
        if kind == "componentize-py":
            _, positional = _parse_options(args)
            if not positional or positional[0] != "componentize":
                continue  # e.g. `componentize-py bindings ...`
            at = args.index(positional[0])
            args = args[:at] + args[at + 1 :]
        return kind, tuple(words[:start]), cwd, args
    return None


def build_tool(command, workdir) -> tuple | None:
    """What runs the build in ``command``: (kind, the words that start the tool, the folder they run
    in), kind "componentize-py" or "py2wasm"; None when the command runs neither (or cannot be read)."""
    found = _find_tool(command, workdir)
    if found is None or isinstance(found, NotPython):
        return None
    return found[:3]


def build_outputs(command, workdir) -> list[Path]:
    """The files ``command``'s componentize-py or py2wasm writes (its ``-o``), absolute; [] when not known."""
    found = _find_tool(command, workdir)
    if found is None or isinstance(found, NotPython):
        return []
    options, _ = _parse_options(found[3])
    return [(found[2] / os.path.expanduser(value)).resolve() for value in options.get("output", []) if value.known]


def _entry(module, cwd, options) -> PythonEntry:
    cwd = cwd.resolve()
    paths = []
    for value in options.get("path", []):
        if not value.known:
            continue  # `-p $(...)`: a folder only the shell would know
        # Older componentize-py and py2wasm take one os.pathsep-separated -p.
        paths += [cwd / os.path.expanduser(part) for part in value.split(os.pathsep) if part]
    return PythonEntry(
        module=module,
        workdir=cwd,
        paths=tuple(path.resolve() for path in paths) or (cwd,),
    )


class _Word(str):
    """A word of a shell command; ``known`` is False when part of it is a substitution
    (``$(...)``, backticks, ``$NAME``, ``${...}``), whose value only running the shell would tell."""

    known = True
    raw = ""  # the word as written, quotes and escapes included


class _Unknown(_Word):
    known = False


_OPERATORS = ("&&", "||", ";;", "|&", "<<", ">>", ">&", "<&", "&>", ">|", "<>", "&", "|", ";", "<", ">", "(", ")")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")


def _segments(command) -> list[list[_Word]]:
    """Split a shell command into the word lists of its simple commands, reading it as
    `sh -c` does (Spin runs build commands through the shell: crates/build's
    ``Exec::shell(command)``). Substitutions are not run: their words are ``_Unknown``."""
    segments: list[list[_Word]] = []
    words: list[_Word] = []
    skip = False  # the next word is a redirection's target, not an argument
    for token in _tokens(command):
        if isinstance(token, _Word):
            if skip:
                skip = False
            elif not words and _ASSIGNMENT.match(token.raw):
                continue  # a `NAME=value` environment prefix
            else:
                words.append(token)
        elif token in _REDIRECTS:
            skip = True
        else:  # a separator (`&&`, `;`, a newline, a subshell's parentheses)
            segments.append(words)
            words, skip = [], False
    segments.append(words)
    return [words for words in segments if words]


def _tokens(command) -> Iterator[_Word | str]:
    """Words (``_Word``) and operators (plain ``str``, a newline included) of a shell command.
    ValueError for an unclosed quote or substitution."""
    text = command
    index, length = 0, len(text)
    chars: list[str] = []
    raw: list[str] = []
    started, known = False, True

    def word() -> _Word:
        token = (_Word if known else _Unknown)("".join(chars))
        token.raw = "".join(raw)
        return token

    while index < length:
        char = text[index]
        if char == "\\":
            if index + 1 < length and text[index + 1] == "\n":
                index += 2  # a line continuation
                continue
            if index + 1 < length:
                chars.append(text[index + 1])
                raw.append(text[index : index + 2])
            started = True
            index += 2
            continue
        if char in " \t\r\n" or char in "&|;<>()":
            if started:
                # `2>&1`: a word of digits right before a redirection is its file descriptor.
                if char in "<>" and known and "".join(raw).isdigit():
                    pass
                else:
                    yield word()
                chars, raw, started, known = [], [], False, True
            if char == "\n":
                yield "\n"
            elif char not in " \t\r":
                operator = next(op for op in _OPERATORS if text.startswith(op, index))
                yield operator
                index += len(operator)
                continue
            index += 1
            continue
        if char == "#" and not started:
            end = text.find("\n", index)
            index = length if end < 0 else end
            continue
        started = True
        if char == "'":
            end = text.find("'", index + 1)
            if end < 0:
                raise ValueError("No closing quotation")
            chars.append(text[index + 1 : end])
            raw.append(text[index : end + 1])
            index = end + 1
        elif char == '"':
            end, found, unknown = _double_quoted(text, index + 1)
            chars.append(found)
            raw.append(text[index:end])
            known = known and not unknown
            index = end
        elif char == "`" or (char == "$" and index + 1 < length and (text[index + 1] in "({" or _NAME.match(text, index + 1)
                                                                     or text[index + 1] in "@*#?$!-0123456789")):
            end = _substitution_end(text, index)
            raw.append(text[index:end])
            known = False
            index = end
        else:
            chars.append(char)
            raw.append(char)
            index += 1
    if started:
        yield word()


def _double_quoted(text, index) -> tuple[int, str, bool]:
    """(index after the closing quote, the text, whether it held a substitution)."""
    chars: list[str] = []
    unknown = False
    while index < len(text):
        char = text[index]
        if char == '"':
            return index + 1, "".join(chars), unknown
        if char == "\\" and index + 1 < len(text):
            following = text[index + 1]
            if following == "\n":
                index += 2
                continue
            chars.append(following if following in '$`"\\' else char + following)
            index += 2
        elif char == "`" or (char == "$" and index + 1 < len(text) and (text[index + 1] in "({" or _NAME.match(text, index + 1)
                                                                       or text[index + 1] in "@*#?$!-0123456789")):
            index = _substitution_end(text, index)
            unknown = True
        else:
            chars.append(char)
            index += 1
    raise ValueError("No closing quotation")


def _substitution_end(text, index) -> int:
    """The index just after the substitution starting at ``index``: ``$(...)`` and ``$((...))``
    (nested, with quotes inside), ``${...}``, backticks, ``$NAME`` and ``$1``, ``$?``, ..."""
    if text[index] == "`":
        end = index + 1
        while end < len(text) and text[end] != "`":
            end += 2 if text[end] == "\\" else 1
        if end >= len(text):
            raise ValueError("No closing backquote")
        return end + 1
    following = text[index + 1]
    if following == "{":
        end = text.find("}", index + 2)
        if end < 0:
            raise ValueError("No closing '}' for '${'")
        return end + 1
    if following != "(":
        name = _NAME.match(text, index + 1)
        return name.end() if name else index + 2
    depth, end = 1, index + 2
    while end < len(text):
        char = text[end]
        if char == "\\":
            end += 2
            continue
        if char == "'":
            close = text.find("'", end + 1)
            if close < 0:
                raise ValueError("No closing quotation")
            end = close + 1
            continue
        if char == '"':
            end = _double_quoted(text, end + 1)[0]
            continue
        if char == "`":
            end = _substitution_end(text, end)
            continue
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return end + 1
        end += 1
    raise ValueError("No closing ')' for '$('")


def _tool_start(words) -> tuple:
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


def _parse_options(args) -> tuple:
    """clap-style parsing: ``-p x``, ``-px``, ``-p=x``, ``--python-path x``, ``--python-path=x``."""
    options: dict[str, list[_Word]] = {}
    positional: list[str] = []
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
        kept = _VALUE_OPTIONS[name]
        if kept:
            if not isinstance(value, _Word):  # a part of `-pDIR` or `--output=FILE`: as known as the whole
                value = (_Word if getattr(arg, "known", True) else _Unknown)(value)
            options.setdefault(kept, []).append(value)
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


def file_server_release(app, component) -> FileServerRelease | None:
    """The spin-fileserver release a component runs, or None when it is not one: its source is a
    release URL, or a URL or local .wasm file with a known release's digest."""
    source = component.source
    tag = None
    if isinstance(source, dict) and "url" in source:
        known, tag = url_release(source, _FILE_SERVER_URL, FILE_SERVER_DIGESTS)
        if not known:
            return None
    elif isinstance(source, str) and source.endswith(".wasm"):
        tag = FILE_SERVER_DIGESTS.get(_file_digest(Path(app.dir) / source) or "")
        if tag is None:
            return None
    else:
        return None
    return FileServerRelease(version=release_version(tag), label=f"spin-fileserver {tag}" if tag else "spin-fileserver")


def _file_digest(path) -> str | None:
    """``sha256:<hex>`` of a local Wasm file, or None if it cannot be read."""
    try:
        if path.stat().st_size > 64 * 1024 * 1024:  # no release is near this; a big build output is not one
            return None
        return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None
