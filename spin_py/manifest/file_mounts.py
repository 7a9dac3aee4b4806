"""A component's ``files`` and ``exclude_files``: which host file a guest path names.

Spin's semantics (crates/loader/src/local.rs, `spin up`'s default copy strategy), paths
relative to the manifest's folder:

- ``{ source = "dir", destination = "/d" }``: every file under ``dir`` at ``/d/...``;
  ``{ source = "f.txt", destination = "/g.txt" }``: one file (``exclude_files`` does not apply);
- ``"a/b.txt"``, an existing file: at ``/a/b.txt``;
- ``"static"``, an existing folder: its files at ``/static/static/...`` (Spin's copy_glob_or_path
  joins the pattern to the destination and then the app-relative path again; `--direct-mounts`
  would place them at ``/static/...``: the copy is what `spin up` does);
- ``"**/*.css"``, a glob (glob crate: ``*`` stays in one folder, ``**`` is any number of
  folders, hidden files match): each matching file at its app-relative path;
- ``exclude_files``: glob::Pattern::matches_path against the app-relative path, where ``*``
  crosses folders.

Spin copies the files once at startup; spin-py looks each guest path up on the filesystem when
it is asked, so an edit, a new file or a deleted one shows on the next request. Later mounts
win over earlier ones, as later copies overwrite earlier ones.
"""

import re
from dataclasses import dataclass
from pathlib import Path

FILE, DIR = "file", "dir"

# Spin's texts (crates/loader/src/local.rs).
_PARENT_PATTERN = (
    "A file pattern can't end in a parent directory path (..)\nIf you want to include a directory, use "
    "source-destination form, or a glob pattern ending in **/*."
)
_CURRENT_PATTERN = (
    "A file pattern can't end in a current directory path (.)\nIf you want to include a directory, use "
    "source-destination form, or a glob pattern ending in **/*."
)
_WHOLE_DIR = (
    "A component is including the entire application directory as asset files. This is unlikely to be "
    'what you want. If this is what you want, use the pattern "./*" to avoid this warning.'
)
_WHOLE_TREE = (
    "A component is including the entire application directory tree as asset files. This is unlikely to "
    'be what you want. If this is what you want, use the pattern "./**/*" to avoid this warning.'
)


class MountError(Exception):
    """A ``files`` or ``exclude_files`` entry Spin refuses; the text is Spin's, on one line where it can be."""


def guest_parts(path: str) -> tuple[str, ...] | None:
    """An absolute guest path as its components; relative ones are from ``/`` (the guest's working
    folder). None when ``..`` would climb above ``/``: WASI refuses to leave the mounted root."""
    parts: list[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if not parts:
                return None
            parts.pop()
        else:
            parts.append(part)
    return tuple(parts)


def _relative_parts(text: str) -> tuple[str, ...]:
    """A manifest path as components, ``.`` and empty ones dropped (Rust's Path::join/components)."""
    return tuple(part for part in text.split("/") if part not in ("", "."))


def _glob_regex(pattern: str, *, literal_separator: bool) -> re.Pattern:
    """The glob crate's Pattern as a regex. ``literal_separator``: glob::glob matches each
    path component apart (``*`` never crosses ``/``); Pattern::matches_path does not."""
    one = "[^/]" if literal_separator else "."
    out, index = [], 0
    while index < len(pattern):
        char = pattern[index]
        at_start = index == 0 or pattern[index - 1] == "/"
        if pattern.startswith("**", index):
            rest = pattern[index + 2:]
            if not at_start or (rest and not rest.startswith("/")):
                raise MountError(f"Pattern syntax error in {pattern!r}: recursive wildcards must form a single path component")
            if rest:
                out.append("(?:[^/]*/)*" if literal_separator else "(?:.*/)?")
                index += 3
            else:
                out.append(".*")
                index += 2
        elif char == "*":
            out.append(one + "*")
            index += 1
        elif char == "?":
            out.append(one)
            index += 1
        elif char == "[":
            end = pattern.find("]", index + 2)  # a ']' right after '[' (or '[!') is a member
            if pattern.startswith("[!", index):
                end = pattern.find("]", index + 3)
            if end < 0:
                raise MountError(f"Pattern syntax error in {pattern!r}: invalid range pattern")
            body = pattern[index + 1:end]
            negated = body.startswith("!")
            body = body[1:] if negated else body
            members = re.escape(body).replace("\\-", "-")
            out.append(f"[{'^' if negated else ''}{'/' if negated and literal_separator else ''}{members}]")
            index = end + 1
        else:
            out.append(re.escape(char))
            index += 1
    return re.compile("".join(out), re.S)


def looks_like_glob(text: str) -> bool:
    # Spin's looks_like_glob_pattern: glob::Pattern::escape changes it.
    return any(char in text for char in "?*[]")


@dataclass(frozen=True)
class _Tree:
    """A host folder whose files appear under a guest folder."""

    guest: tuple[str, ...]
    host: Path

    def find(self, parts, mounts) -> str | tuple[str, Path] | None:
        if parts[:len(self.guest)] != self.guest:
            return DIR if self.guest[:len(parts)] == parts else None
        rest = parts[len(self.guest):]
        if not rest:
            return DIR  # Spin creates the destination folder even when nothing is copied into it
        host = self.host.joinpath(*rest)
        if host.is_file():
            return (FILE, host) if not mounts.excluded(host) else None
        return DIR if host.is_dir() else None


@dataclass(frozen=True)
class _File:
    guest: tuple[str, ...]
    host: Path

    def find(self, parts, mounts) -> str | tuple[str, Path] | None:
        if parts == self.guest:
            return (FILE, self.host) if self.host.is_file() else None
        return DIR if self.guest[:len(parts)] == parts else None


@dataclass(frozen=True)
class _Glob:
    regex: re.Pattern  # against the app-relative path, which is also the guest path

    def find(self, parts, mounts) -> str | tuple[str, Path] | None:
        host = mounts.app_dir.joinpath(*parts)
        if host.is_file():
            if self.regex.fullmatch("/".join(parts)) and not mounts.excluded(host):
                return FILE, host
            return None
        return DIR if host.is_dir() else None


class FileMounts:
    """The guest's view of a component's ``files``: ``find(path)``."""

    def __init__(self, app_dir, files, exclude_files=()):
        """Checks the entries as Spin's loader does (MountError with its text); ``warnings`` are Spin's
        warnings for patterns that take in the whole application folder."""
        self.app_dir = Path(app_dir)
        self.warnings = []
        self._excludes = [_glob_regex(pattern, literal_separator=False) for pattern in exclude_files]
        self._mounts = [self._mount(entry) for entry in files]

    def _mount(self, entry) -> _Tree | _File | _Glob:
        if isinstance(entry, str):
            return self._pattern(entry)
        source, destination = entry["source"], entry["destination"]
        host = self.app_dir / source
        guest = _relative_parts(destination)
        if host.is_dir():
            if self._app_relative(host) is None:
                raise MountError(f"{source} cannot be mapped because it is outside the application directory. "
                                 "Files must be within the application directory.")
            return _Tree(guest, host)
        if not host.exists():
            raise MountError(f'File or directory "{source}" does not exist')
        if destination.endswith(("/", ".")) or not guest:
            raise MountError(f'Failed to copy "{host}": "{destination}" is not a valid destination file name')
        return _File(guest, host)

    def _pattern(self, pattern) -> _Tree | _File | _Glob:
        if pattern == ".." or pattern.endswith("/.."):
            raise MountError(_PARENT_PATTERN)
        if pattern == "." or pattern.endswith("/."):
            raise MountError(_CURRENT_PATTERN)
        if pattern == "*":
            self.warnings.append(_WHOLE_DIR)
        if pattern == "**/*":
            self.warnings.append(_WHOLE_TREE)
        host = self.app_dir / pattern
        parts = _relative_parts(pattern)
        if host.is_dir():
            return _Tree(parts + parts, host)
        if host.exists():
            return _File(parts, host)
        if looks_like_glob(pattern):
            return _Glob(_glob_regex("/".join(parts), literal_separator=True))
        raise MountError(f'"{pattern}" does not exist and doesn\'t appear to be a glob pattern')

    def _app_relative(self, host) -> str | None:
        """``host`` relative to the app folder, compared component by component as Rust's
        strip_prefix does (no normalizing), or None when it is not under it."""
        app, parts = self.app_dir.parts, host.parts
        return "/".join(parts[len(app):]) if parts[:len(app)] == app else None

    def excluded(self, host) -> bool:
        if not self._excludes:
            return False
        relative = self._app_relative(host)
        return relative is not None and any(regex.fullmatch(relative) for regex in self._excludes)

    def find(self, path: str) -> str | tuple[str, Path] | None:
        """``(FILE, host path)``, ``DIR`` or None for a guest path (absolute, or relative to ``/``)."""
        parts = guest_parts(path)
        if parts is None:
            return None
        if not parts:
            return DIR
        for mount in reversed(self._mounts):
            found = mount.find(parts, self)
            if found is not None:
                return found
        return None

    def bind_plan(self) -> list[tuple[str | None, str]]:
        """How an instance's filesystem is built (spin_py/guest/mounts.py): ``(host path, guest
        path)`` pairs in order, a host folder or file bound at its guest path, or ``(None, guest
        folder)`` for a folder made empty. A folder is bound whole unless ``exclude_files``
        applies to it or another mount lies inside it: then file by file, as Spin copies them."""
        entries: list[tuple[Path | None, tuple[str, ...]]] = []
        for mount in self._mounts:
            if isinstance(mount, _Tree):
                entries.append((mount.host, mount.guest))
            elif isinstance(mount, _File):
                entries.append((mount.host, mount.guest) if mount.host.is_file() else (None, mount.guest[:-1]))
            else:
                for file in sorted(self.app_dir.rglob("*")):
                    relative = self._app_relative(file)
                    if file.is_file() and relative and mount.regex.fullmatch(relative) and not self.excluded(file):
                        entries.append((file, tuple(relative.split("/"))))
        plan: dict[tuple[str, ...], Path | None] = {}
        for index, (host, guest) in enumerate(entries):
            whole = host is not None and host.is_dir()
            nested = any(other[:len(guest)] == guest and other != guest for _, other in entries[index + 1:]) or \
                any(other[:len(guest)] == guest and other != guest for _, other in entries[:index])
            if host is not None and whole and (self._excludes or nested):
                plan[guest] = None
                for file in sorted(host.rglob("*")):
                    if file.is_file() and not self.excluded(file):
                        plan[guest + file.relative_to(host).parts] = file
            else:
                plan[guest] = host
        # Parents before children: a folder bound whole never has a later mount inside it.
        return [(None if host is None else str(host), "/" + "/".join(guest))
                for guest, host in sorted(plan.items(), key=lambda item: (len(item[0]), item[0]))]
