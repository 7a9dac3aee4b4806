"""``load_manifest``: find and read a spin.toml, detect its version, return the App."""

from pathlib import Path

from spin_py.manifest.errors import ManifestError
from spin_py.manifest.model import App
from spin_py.manifest.reader import Reader, describe, toml_literal
from spin_py.manifest.toml_source import TomlSyntaxError, parse_toml
from spin_py.manifest.v1 import read_v1
from spin_py.manifest.v2 import read_v2

MANIFEST_NAME = "spin.toml"


def manifest_file(path) -> Path:
    """``path`` itself, or the spin.toml in it when it is a folder."""
    path = Path(path)
    return path / MANIFEST_NAME if path.is_dir() else path


def load_manifest(path, profile=None) -> App:
    """Load a Spin manifest (version 1 or 2) as a version 2 App.

    ``path`` is a spin.toml or a folder holding one; ``profile`` applies the components'
    ``[component.<id>.profile.<profile>]`` overrides, as ``spin up --profile`` does.
    Raises ManifestError for anything Spin would refuse.
    """
    file = manifest_file(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        if Path(path).is_dir():
            raise ManifestError(path, f"no {MANIFEST_NAME} in this folder") from None
        raise ManifestError(file, "no such file") from None
    except IsADirectoryError:
        raise ManifestError(file, "is a folder, not a manifest file") from None
    except UnicodeDecodeError as error:
        raise ManifestError(file, f"not UTF-8 text ({error.reason} at byte {error.start})") from None
    except OSError as error:
        raise ManifestError(file, f"cannot be read: {error.strerror or error}") from None
    try:
        document = parse_toml(text)
    except TomlSyntaxError as error:
        raise ManifestError(file, f"invalid TOML: {error.message}", line=error.line) from None
    reader = Reader(file, document)
    manifest_path = file.resolve()
    if detect_version(reader, document.data) == 1:
        if profile is not None:
            raise ManifestError(file, f"profile {profile} is not defined in this application")
        return read_v1(reader, document.data, manifest_path)
    return read_v2(reader, document.data, manifest_path, profile)


def detect_version(reader, data) -> int:
    """Spin's ManifestVersion::detect: the string "1" or the integer 2, nothing else."""
    key = "spin_manifest_version" if "spin_manifest_version" in data or "spin_version" not in data else "spin_version"
    if key not in data:
        raise reader.error((key,), "required key is missing (spin_manifest_version = 2 starts a manifest)")
    version = data[key]
    if version == "1" and isinstance(version, str):
        return 1
    if version == 2 and type(version) is int:
        return 2
    hint = ""
    if version == "2":
        hint = " (version 2 is a number: spin_manifest_version = 2)"
    elif version == 1 and type(version) is int:
        hint = ' (version 1 is a string: spin_manifest_version = "1")'
    found = toml_literal(version) if isinstance(version, (str, int, float)) else describe(version)
    raise reader.error((key,), f"must be 1 or 2, found {found}{hint}")
