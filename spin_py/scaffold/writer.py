"""Writing generated files all at once: into a hidden staging folder beside the
target, renamed into place at the end, so a failure part-way leaves no partial
folder behind."""

import os
import shutil
import tempfile
from pathlib import Path

from spin_py.scaffold.names import name_problem, path_safe
from spin_py.scaffold.template import TemplateError


def is_empty_dir(path) -> bool:
    """True where Spin would generate without asking: nothing there, or an empty folder."""
    path = Path(path)
    if not path.exists():
        return True
    return path.is_dir() and not any(path.iterdir())


def write_tree(target, files, dirs=()) -> None:
    """Create ``target`` holding ``files`` ({relative path: bytes}) and the empty ``dirs``."""
    target = Path(target)
    created_parent = _first_missing(target.parent)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        staging.chmod(0o777 & ~_umask())  # mkdtemp's private 0700 is not what a new folder gets
        for relative, content in files.items():
            path = staging / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
            if content.startswith(b"#!"):
                path.chmod(0o755)
        for relative in dirs:
            (staging / relative).mkdir(parents=True, exist_ok=True)
        if target.is_dir():
            target.rmdir()  # empty, checked by the caller: Spin generates into an empty folder
        os.rename(staging, target)
    except OSError as error:
        shutil.rmtree(staging, ignore_errors=True)
        if created_parent is not None:
            shutil.rmtree(created_parent, ignore_errors=True)
        raise TemplateError(f"Failed to write {target}: {error}") from None


def replace_file(path, text) -> None:
    """Replace ``path``'s content in one step (a reader never sees half a manifest)."""
    path = Path(path)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as file:
            file.write(text)
        shutil.copymode(path, temporary)
        os.replace(temporary, path)
    except OSError as error:
        Path(temporary).unlink(missing_ok=True)
        raise TemplateError(f"Can't save changes to {path}: {error}") from None


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _first_missing(path) -> Path | None:
    path = Path(path).absolute()
    missing = None
    while not path.exists():
        missing, path = path, path.parent
    return missing


def target_folder(base, name, output) -> tuple[Path, Path]:
    """``(output path, folder)`` for a new app or component NAME under ``base``, as Spin checks them:
    a valid name, and a folder that is missing or empty."""
    problem = name_problem(name)
    if problem:
        raise TemplateError(problem, param="NAME")
    output_path = Path(output) if output is not None else path_safe(name)
    target = Path(base) / output_path
    if not is_empty_dir(target):
        raise TemplateError(f"Can't generate into {target} as it already contains other files",
                            param="'-o' / '--output'" if output is not None else "NAME")  # fmt: skip
    return output_path, target
