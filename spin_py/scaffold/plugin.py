"""Packaging spin-py as a Spin plugin: plugin.toml -> a package archive (launcher and
license) and the plugin manifest JSON that `spin plugins install --file` reads.

Spin's side (spinframework/spin crates/plugins, src/commands/external.rs): the
archive is unpacked into ``<plugins>/<name>/`` and ``<plugins>/<name>/<name>`` is
executed with the arguments after ``spin <name>`` and SPIN_* variables added to
the environment; the manifest's sha256 is checked against the downloaded archive.
"""

import gzip
import hashlib
import io
import json
import re
import shlex
import tarfile
import tomllib
from dataclasses import dataclass
from pathlib import Path

from spin_py import __version__
from spin_py.resources import shipped

OSES = ("linux", "macos", "windows")
ARCHES = ("amd64", "aarch64", "arm")
# The launcher is a shell script, so one archive serves every POSIX platform Spin knows.
POSIX_PLATFORMS = (("linux", "amd64"), ("linux", "aarch64"), ("linux", "arm"), ("macos", "amd64"), ("macos", "aarch64"))
SPIN_INTERNAL_COMMANDS = {"template", "templates", "up", "new", "add", "login", "deploy", "build", "plugin",
                          "plugins", "trigger", "external", "doctor", "registry", "watch", "oci"}  # fmt: skip
_REQUIRED = ("name", "spin_compatibility", "license")
_SEMVER = re.compile(r"^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$")


class PluginError(Exception):
    def __init__(self, message, param=None):
        super().__init__(message)
        self.param = param


@dataclass(frozen=True)
class PluginConfig:
    path: Path
    name: str
    description: str | None
    homepage: str | None
    version: str
    spin_compatibility: str
    license: str
    module: str
    pythons: tuple[str, ...]
    license_file: Path | None


def default_config_path() -> Path:
    here = Path("plugin.toml")
    if here.is_file():
        return here
    return shipped("plugin.toml")


def load_config(path=None) -> PluginConfig:
    path = Path(path) if path is not None else default_config_path()
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise PluginError(f"cannot read {path}: {error.strerror}", param="'-c' / '--config'") from None
    except tomllib.TOMLDecodeError as error:
        raise PluginError(f"{path} is not valid TOML: {error}", param="'-c' / '--config'") from None
    missing = [key for key in _REQUIRED if not isinstance(raw.get(key), str) or not raw[key]]
    if missing:
        raise PluginError(f"{path}: `{missing[0]}` is missing (plugin.toml needs {', '.join(_REQUIRED)})")
    name = raw["name"]
    if name != name.lower() or not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", name):
        raise PluginError(f"{path}: name '{name}' must be lowercase letters, digits, '-' and '_'")
    if name in SPIN_INTERNAL_COMMANDS:
        raise PluginError(f"{path}: Can't install a plugin with the same name ('{name}') as an internal command")
    # The plugin is a launcher for spin-py, so its version is spin-py's unless the file says otherwise.
    version = raw.get("version", __version__)
    if not isinstance(version, str) or not _SEMVER.match(version):
        raise PluginError(f"{path}: version '{version}' is not a semantic version (like 0.1.0)")
    launcher = raw.get("launcher", {})
    license_file = launcher.get("license_file")
    return PluginConfig(
        path=path,
        name=name,
        description=raw.get("description"),
        homepage=raw.get("homepage"),
        version=version,
        spin_compatibility=raw["spin_compatibility"],
        license=raw["license"],
        module=launcher.get("module", "spin_py"),
        pythons=tuple(launcher.get("pythons", ("python3", "python"))),
        license_file=(path.parent / license_file) if license_file else None,
    )


def launcher_script(config) -> str:
    """The plugin's executable: a POSIX shell script handing over to spin-py."""
    module = shlex.quote(config.module)
    pythons = " ".join(shlex.quote(p) for p in config.pythons)
    return f"""#!/bin/sh
# The Spin plugin `{config.name}` {config.version}: Spin runs this as `spin {config.name} ARGS...`.
# spin-py itself lives in a Python environment (pip install spin-py); this finds it:
# $SPIN_PY_PYTHON, else `spin-py` on PATH, else the first Python that has it.
if [ -n "${{SPIN_PY_PYTHON:-}}" ]; then
    exec "$SPIN_PY_PYTHON" -m {module} "$@"
fi
if command -v spin-py >/dev/null 2>&1; then
    exec spin-py "$@"
fi
for python in {pythons}; do
    if command -v "$python" >/dev/null 2>&1 && "$python" -c 'import {config.module}' >/dev/null 2>&1; then
        exec "$python" -m {module} "$@"
    fi
done
echo "spin {config.name}: spin-py is not installed for any Python on PATH (pip install spin-py, or set SPIN_PY_PYTHON)" >&2
exit 127
"""


def license_text(config) -> bytes:
    if config.license_file is not None:
        try:
            return config.license_file.read_bytes()
        except OSError as error:
            raise PluginError(f"{config.path}: cannot read license_file {config.license_file}: {error.strerror}") from None
    system_copy = Path("/usr/share/common-licenses") / config.license
    if system_copy.is_file():
        return system_copy.read_bytes()
    return f"SPDX-License-Identifier: {config.license}\n".encode()


def build_archive(config) -> bytes:
    """The package as .tar.gz bytes: the launcher (named as the plugin) and LICENSE.

    Reproducible (fixed times and owners), so the same plugin.toml gives the same sha256.
    """
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as compressed, \
            tarfile.open(fileobj=compressed, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name, data, mode in ((config.name, launcher_script(config).encode(), 0o755),
                                 ("LICENSE", license_text(config), 0o644)):  # fmt: skip
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), mode, 0
            info.uname = info.gname = ""
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def platforms(os_names=(), arches=()) -> list[tuple[str, str]]:
    """The (os, arch) pairs to list: those asked for, else every POSIX one the launcher runs on."""
    if "windows" in os_names:
        raise PluginError("the plugin's launcher is a shell script; a Windows package would need a py.exe",
                          param="'--os'")  # fmt: skip
    if not os_names and not arches:
        return list(POSIX_PLATFORMS)
    os_names = os_names or ("linux", "macos")
    arches = arches or ARCHES
    pairs = [(o, a) for o in os_names for a in arches if (o, a) in POSIX_PLATFORMS]
    if not pairs:
        raise PluginError(f"Spin has no {'/'.join(os_names)} build for {'/'.join(arches)}", param="'--arch'")
    return pairs


def plugin_manifest(config, url, sha256, pairs) -> dict:
    """The manifest as Spin's PluginManifest serializes it (camelCase keys, optional ones left out when empty)."""
    manifest = {"name": config.name}
    if config.description:
        manifest["description"] = config.description
    if config.homepage:
        manifest["homepage"] = config.homepage
    manifest.update({
        "version": config.version,
        "spinCompatibility": config.spin_compatibility,
        "license": config.license,
        "packages": [{"os": o, "arch": a, "url": url, "sha256": sha256} for o, a in pairs],
    })  # fmt: skip
    return manifest


def build_plugin(config=None, url=None, os_name=None, arch=None, output=None) -> tuple[Path, Path]:
    """Write the archive and the manifest JSON beside each other; returns (json path, archive path)."""
    config = load_config(config)
    pairs = platforms(_as_tuple(os_name), _as_tuple(arch))
    output = Path(output) if output is not None else Path(f"{config.name}.json")
    archive_path = output.parent / f"spin-{config.name}-plugin-{config.version}.tar.gz"
    data = build_archive(config)
    sha256 = hashlib.sha256(data).hexdigest()
    manifest = plugin_manifest(config, url or archive_path.resolve().as_uri(), sha256, pairs)
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        archive_path.write_bytes(data)
        output.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    except OSError as error:
        raise PluginError(f"cannot write {error.filename}: {error.strerror}", param="'-o' / '--output'") from None
    return output, archive_path


def _as_tuple(value) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)
