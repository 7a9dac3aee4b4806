"""spin-py as a user gets it: the wheel built from this repository, pip-installed (not
editable) into a fresh venv, and run from there, far from the checkout. Its templates,
plugin description, license and guest code come from inside the installed package."""

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
import tomllib
import urllib.request
import zipfile
from pathlib import Path
from typing import NamedTuple

import pytest
from apps import sdk3_python

import spin_py

ROOT = Path(__file__).resolve().parents[2]
# What a source distribution holds (MANIFEST.in): the build reads nothing else.
SOURCES = ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "LICENSE", "plugin.toml", "spin_py", "templates")
TEMPLATE_IDS = sorted(p.name for p in (ROOT / "templates").iterdir() if (p / "metadata" / "spin-template.toml").is_file())
IGNORED = shutil.ignore_patterns("__pycache__", "*.py[co]", "*.egg-info", "_bundled")


# Nothing that would let the installed spin-py see the checkout or the dev venv.
ENV = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "SPIN_PY_TEMPLATES")}


class Installed(NamedTuple):
    source: Path  # the copy of the sources the wheel was built from
    wheel: Path
    bin: Path  # the fresh venv's bin/
    work: Path  # a folder outside the checkout to run commands in


def run(command, cwd, timeout=300):
    result = subprocess.run([str(c) for c in command], cwd=cwd, env=ENV, capture_output=True, text=True,
                            timeout=timeout)  # fmt: skip
    assert result.returncode == 0, f"{command}\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """The wheel built from a copy of the sources (the checkout's own build/ and egg-info
    stay out of it; other edits in progress cannot change it half-way), installed with its deps."""
    base = tmp_path_factory.mktemp("wheel")
    source = base / "source"
    source.mkdir()
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=IGNORED)
        else:
            shutil.copy2(ROOT / name, source / name)
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", base / "dist", source], cwd=base)
    [wheel] = (base / "dist").glob("spin_py-*.whl")
    run([sys.executable, "-m", "venv", base / "venv"], cwd=base)
    bin_dir = base / "venv" / "bin"
    run([bin_dir / "python", "-m", "pip", "install", "--quiet", wheel], cwd=base)
    work = base / "work"
    work.mkdir()
    return Installed(source, wheel, bin_dir, work)


def spin_py_cli(installed, *args, cwd=None):
    return run([installed.bin / "spin-py", *args], cwd=cwd or installed.work)


def files_under(folder, prefix):
    return {f"{prefix}/{p.relative_to(folder).as_posix()}" for p in folder.rglob("*") if p.is_file()}


def test_the_wheel_holds_templates_plugin_toml_license_and_the_whole_guest(installed):
    names = set(zipfile.ZipFile(installed.wheel).namelist())
    templates = files_under(installed.source / "templates", "spin_py/_bundled/templates")
    assert "spin_py/_bundled/templates/kv-py/content/.gitignore" in templates
    assert templates <= names, sorted(templates - names)
    assert {"spin_py/_bundled/plugin.toml", "spin_py/_bundled/LICENSE"} <= names
    guest = files_under(installed.source / "spin_py" / "guest", "spin_py/guest")
    assert any(name.startswith("spin_py/guest/shims/") for name in guest)
    assert guest <= names, sorted(guest - names)
    assert installed.wheel.name.startswith(f"spin_py-{spin_py.__version__}-")


def test_installed_outside_the_checkout_with_one_version(installed):
    code = "import spin_py; print(spin_py.__file__)"
    where = run([installed.bin / "python", "-c", code], cwd=installed.work).stdout.strip()
    assert Path(where).is_relative_to(installed.bin.parent) and "site-packages" in where
    assert spin_py_cli(installed, "--version").stdout.split()[-1] == spin_py.__version__


def test_templates_list_from_the_installed_package(installed):
    listed = dict(line.split(None, 1) for line in spin_py_cli(installed, "templates", "list").stdout.splitlines())
    assert {"http-py", "llm-py", "embeddings-py", "kv-py"} <= set(listed)
    assert sorted(listed) == TEMPLATE_IDS
    for template in TEMPLATE_IDS:
        description = tomllib.loads((ROOT / "templates" / template / "metadata" / "spin-template.toml").read_text())
        assert listed[template].strip() == description["description"]
    verbose = spin_py_cli(installed, "templates", "list", "--verbose").stdout
    assert str(ROOT) not in verbose and "_bundled/templates/http-py" in verbose


@pytest.mark.parametrize("template", ["http-py", "llm-py", "embeddings-py", "kv-py"])
def test_new_renders_each_template(installed, template):
    name = f"from-{template}"
    output = spin_py_cli(installed, "new", template, name, "--accept-defaults").stdout
    folder = installed.work / name
    assert output.splitlines() == [
        f"Created {name} in {name} from {template}. Next steps:",
        f"  cd {name}",
        "  spin-py up   # the first `up` installs requirements.txt into .venv",
    ]
    manifest = tomllib.loads((folder / "spin.toml").read_text())
    assert manifest["application"]["name"] == name
    assert manifest["trigger"]["http"] == [{"route": "/...", "component": name}]
    assert (folder / ".gitignore").read_text() == (ROOT / "templates" / template / "content" / ".gitignore").read_text()
    app_py = (folder / "app.py").read_text()
    assert "{{" not in app_py and "{%" not in app_py
    compile(app_py, "app.py", "exec")
    assert "spin-sdk == 3.4.1" in (folder / "requirements.txt").read_text()


def test_plugin_manifest_from_the_installed_package(installed):
    out = installed.work / "plugin-out"
    spin_py_cli(installed, "plugin", "manifest", "-o", out / "py.json")
    manifest = json.loads((out / "py.json").read_text())
    assert (manifest["name"], manifest["version"]) == ("py", spin_py.__version__)
    archive = out / f"spin-py-plugin-{spin_py.__version__}.tar.gz"
    assert {p["sha256"] for p in manifest["packages"]} == {hashlib.sha256(archive.read_bytes()).hexdigest()}
    with tarfile.open(archive) as tar:
        assert tar.extractfile("LICENSE").read() == (ROOT / "LICENSE").read_bytes()
        assert f"`py` {spin_py.__version__}" in tar.extractfile("py").read().decode()


def test_the_installed_spin_py_serves_an_app(installed, tmp_path):
    """The guest (worker, shims) as installed: a generated app answers through it."""
    spin_py_cli(installed, "new", "http-py", "hello", "-a", "--no-vcs", "-o", tmp_path / "hello")
    log_path = tmp_path / "up.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen([installed.bin / "spin-py", "up", "--listen", "127.0.0.1:0", "--python", sdk3_python()],
                                   cwd=tmp_path / "hello", env=ENV, stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not (serving := re.search(r"^Serving (http://[\d.]+:\d+)$", log_path.read_text(), re.M)):
            assert process.poll() is None and time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.05)
        with urllib.request.urlopen(serving.group(1) + "/", timeout=30) as response:
            assert response.read() == b"Hello from Python!"
    finally:
        process.terminate()
        process.wait(timeout=20)
