"""spin-py as the Spin plugin `py`: the manifest JSON has what Spin's plugin
manifest schema requires, its sha256 is the archive's, and the archive's
executable runs spin-py the way `spin py ...` runs it."""

import hashlib
import json
import os
import re
import subprocess
import sys
import tarfile
import time
import tomllib
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from apps import sdk3_python
from click.testing import CliRunner

import spin_py
from spin_py.cli import main

VENV_BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[2]
# crates/plugins/src/manifest.rs: PluginManifest (camelCase) and PluginPackage, Os and Architecture.
REQUIRED = {"name", "version", "spinCompatibility", "license", "packages"}
OPTIONAL = {"description", "homepage"}
PACKAGE_KEYS = {"os", "arch", "url", "sha256"}
SPIN_OSES = {"linux", "macos", "windows"}
SPIN_ARCHES = {"amd64", "aarch64", "arm"}
# What Spin adds to the plugin's environment (src/commands/external.rs, get_env_vars_map).
SPIN_ENV = {
    "SPIN_VERSION": "3.4.0", "SPIN_VERSION_MAJOR": "3", "SPIN_VERSION_MINOR": "4", "SPIN_VERSION_PATCH": "0",
    "SPIN_VERSION_PRE": "", "SPIN_COMMIT_SHA": "0" * 40, "SPIN_COMMIT_DATE": "2025-01-01", "SPIN_BRANCH": "main",
    "SPIN_BUILD_DATE": "2025-01-01", "SPIN_TARGET_TRIPLE": "x86_64-unknown-linux-gnu", "SPIN_DEBUG": "false",
    "SPIN_BIN_PATH": "/usr/local/bin/spin",
}  # fmt: skip
UP_HELP = "Serve the app's triggers, as `spin up` does."


def make_manifest(folder, *args):
    result = CliRunner().invoke(main, ["plugin", "manifest", "-c", str(ROOT / "plugin.toml"),
                                       "-o", str(folder / "py.json"), *args])  # fmt: skip
    assert result.exit_code == 0, result.output
    manifest = json.loads((folder / "py.json").read_text())
    [archive] = folder.glob("*.tar.gz")
    return manifest, archive


def install_like_spin(archive, plugins_dir):
    """What `spin plugins install` does with the package: unpack it into <plugins>/<name>/."""
    target = plugins_dir / "py"
    target.mkdir(parents=True)
    with tarfile.open(archive) as tar:
        tar.extractall(target, filter="tar")
    return target / "py"


def run_plugin(executable, *args, path, extra_env=None, cwd):
    env = {key: value for key, value in os.environ.items() if key not in ("PATH", "SPIN_PY_PYTHON", "VIRTUAL_ENV")}
    env.update(PATH=path, **SPIN_ENV, **(extra_env or {}))
    return subprocess.run([str(executable), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=60)


def test_manifest_has_spins_required_fields_and_the_archives_sha256(tmp_path):
    manifest, archive = make_manifest(tmp_path, "--url", "https://example.com/spin-py.tar.gz", "--os", "linux",
                                      "--arch", "amd64")  # fmt: skip
    assert REQUIRED <= set(manifest) <= REQUIRED | OPTIONAL
    assert manifest["name"] == "py"
    assert re.fullmatch(r"\d+\.\d+\.\d+", manifest["version"])
    assert manifest["spinCompatibility"] == ">=2.0"
    assert manifest["license"] == "Apache-2.0"
    assert manifest["description"] and manifest["homepage"].startswith("https://")
    assert manifest["packages"] == [{
        "os": "linux", "arch": "amd64", "url": "https://example.com/spin-py.tar.gz",
        "sha256": hashlib.sha256(archive.read_bytes()).hexdigest(),
    }]  # fmt: skip


def test_the_version_is_spin_pys_own_unless_the_file_says_otherwise(tmp_path):
    """One place for the version: spin_py.__version__ (pyproject.toml reads it too)."""
    assert "version" not in tomllib.loads((ROOT / "plugin.toml").read_text())
    manifest, archive = make_manifest(tmp_path / "own")
    assert manifest["version"] == spin_py.__version__
    assert archive.name == f"spin-py-plugin-{spin_py.__version__}.tar.gz"
    config = tmp_path / "plugin.toml"
    config.write_text('name = "other"\nversion = "2.3.4"\nspin_compatibility = ">=2.0"\nlicense = "MIT"\n')
    result = CliRunner().invoke(main, ["plugin", "manifest", "-c", str(config), "-o", str(tmp_path / "other" / "o.json")])
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "other" / "o.json").read_text())["version"] == "2.3.4"


def test_default_packages_cover_posix_platforms_with_a_file_url(tmp_path):
    manifest, archive = make_manifest(tmp_path)
    packages = manifest["packages"]
    assert {(p["os"], p["arch"]) for p in packages} == {("linux", "amd64"), ("linux", "aarch64"), ("linux", "arm"),
                                                         ("macos", "amd64"), ("macos", "aarch64")}  # fmt: skip
    for package in packages:
        assert set(package) == PACKAGE_KEYS
        assert package["os"] in SPIN_OSES and package["arch"] in SPIN_ARCHES
        assert package["sha256"] == hashlib.sha256(archive.read_bytes()).hexdigest()
        url = urllib.parse.urlparse(package["url"])
        assert url.scheme == "file" and Path(urllib.request.url2pathname(url.path)) == archive.resolve()


def test_archive_is_reproducible_and_holds_launcher_and_license(tmp_path):
    _, first = make_manifest(tmp_path / "a")
    _, second = make_manifest(tmp_path / "b")
    assert first.read_bytes() == second.read_bytes()
    with tarfile.open(first) as tar:
        members = {member.name: member for member in tar.getmembers()}
        assert set(members) == {"py", "LICENSE"}
        assert members["py"].mode & 0o111
        assert tar.extractfile("LICENSE").read().strip()
        assert tar.extractfile("py").read().startswith(b"#!/bin/sh\n")


def test_the_archives_executable_prints_up_help(tmp_path):
    _, archive = make_manifest(tmp_path / "out")
    executable = install_like_spin(archive, tmp_path / "plugins")
    work = tmp_path / "work"
    work.mkdir()

    # spin-py installed in an environment whose bin is on PATH (the dev venv here).
    result = run_plugin(executable, "up", "--help", path=f"{VENV_BIN}:/usr/bin:/bin", cwd=work)
    assert result.returncode == 0, result.stderr
    assert UP_HELP in result.stdout and "--listen" in result.stdout

    # No spin-py on PATH, but a python3 that has it.
    only_python = tmp_path / "only-python"
    only_python.mkdir()
    # A wrapper, not a symlink: a symlinked venv python outside its venv would not see the venv.
    (only_python / "python3").write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    (only_python / "python3").chmod(0o755)
    result = run_plugin(executable, "up", "--help", path=f"{only_python}:/usr/bin:/bin", cwd=work)
    assert result.returncode == 0, result.stderr
    assert UP_HELP in result.stdout

    # Told which Python to use.
    result = run_plugin(executable, "up", "--help", path="/usr/bin:/bin", extra_env={"SPIN_PY_PYTHON": sys.executable},
                        cwd=work)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert UP_HELP in result.stdout


def test_missing_spin_py_is_one_clear_line(tmp_path):
    _, archive = make_manifest(tmp_path / "out")
    executable = install_like_spin(archive, tmp_path / "plugins")
    result = run_plugin(executable, "up", path="/usr/bin:/bin", cwd=tmp_path)
    assert result.returncode == 127
    assert result.stderr.strip().splitlines() == [
        "spin py: spin-py is not installed for any Python on PATH (pip install spin-py, or set SPIN_PY_PYTHON)"
    ]


def test_spin_py_up_as_spin_runs_it(tmp_path):
    """`spin py up ...`: Spin runs <plugins>/py/py with the args after `py`, in the user's folder, with SPIN_* set."""
    _, archive = make_manifest(tmp_path / "out")
    executable = install_like_spin(archive, tmp_path / "plugins")
    assert CliRunner().invoke(main, ["new", "http-py", "hello", "-a", "--no-vcs", "-o", str(tmp_path / "hello")]).exit_code == 0

    result = run_plugin(executable, "up", "--help", path=f"{VENV_BIN}:/usr/bin:/bin", cwd=tmp_path / "hello")
    assert result.returncode == 0 and UP_HELP in result.stdout

    env = {key: value for key, value in os.environ.items() if key != "PATH"}
    env.update(PATH=f"{VENV_BIN}:/usr/bin:/bin", **SPIN_ENV)
    log = open(tmp_path / "up.log", "wb")  # noqa: SIM115 (the server writes it until it is stopped)
    process = subprocess.Popen([str(executable), "up", "--listen", "127.0.0.1:0", "--python", str(sdk3_python())],
                               cwd=tmp_path / "hello", env=env, stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while not (match := re.search(r"Serving (http://[\d.]+:\d+)", (tmp_path / "up.log").read_text())):
            assert process.poll() is None and time.monotonic() < deadline, (tmp_path / "up.log").read_text()
            time.sleep(0.05)
        with urllib.request.urlopen(match.group(1) + "/", timeout=30) as response:
            assert response.read() == b"Hello from Python!"
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


@pytest.mark.parametrize(
    "text, needle",
    [
        ('version = "0.1.0"\nspin_compatibility = ">=2.0"\nlicense = "MIT"\n', "`name` is missing"),
        ('name = "up"\nversion = "0.1.0"\nspin_compatibility = ">=2.0"\nlicense = "MIT"\n', "internal command"),
        ('name = "py"\nversion = "one"\nspin_compatibility = ">=2.0"\nlicense = "MIT"\n', "not a semantic version"),
        ("name = ", "not valid TOML"),
    ],
)
def test_bad_plugin_toml_is_one_line(tmp_path, text, needle):
    config = tmp_path / "plugin.toml"
    config.write_text(text)
    result = CliRunner().invoke(main, ["plugin", "manifest", "-c", str(config), "-o", str(tmp_path / "out" / "py.json")])
    assert result.exit_code != 0
    assert len(result.output.strip().splitlines()) == 1 and needle in result.output
    assert not (tmp_path / "out").exists()


def test_windows_is_refused(tmp_path):
    result = CliRunner().invoke(main, ["plugin", "manifest", "--os", "windows", "-o", str(tmp_path / "py.json")])
    assert result.exit_code != 0 and "'--os'" in result.output
    assert list(tmp_path.iterdir()) == []
