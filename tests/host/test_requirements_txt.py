"""Reading an app's requirements.txt for the Python its spin-sdk needs, summing up
pip's failures, and finding interpreters as `spin-py up` and the tests both do."""

import os
import sys

import pytest
from venvs import find_python

from spin_py.host.pythons import find_python as find_python_in_package
from spin_py.host.pythons import probe, python_at_least
from spin_py.host.requirements import failure_line, sdk_need


@pytest.mark.parametrize("text, sdk, python", [
    ("spin-sdk == 3.4.1\ncomponentize-py == 0.17.2\n", "spin-sdk 3.4.1", (3, 11)),
    ("spin-sdk==4.0.0", "spin-sdk 4.0.0", (3, 12)),
    ("Spin_SDK==5.0.0  # the newest\n", "spin-sdk 5.0.0", (3, 12)),
    ("spin-sdk", "spin-sdk", (3, 12)),  # unpinned: pip takes the newest release
    ("spin-sdk>=3", "spin-sdk>=3", (3, 12)),
    ("spin-sdk<4", "spin-sdk<4", (3, 11)),
    ("spin-sdk~=3.2", "spin-sdk~=3.2", (3, 11)),
    ("spin-sdk<5", "spin-sdk<5", (3, 12)),
    ("spin-sdk==2.0.0 ; python_version >= '3.11'", "spin-sdk 2.0.0", (3, 11)),
    ("--index-url https://example.com/simple\n-r other.txt\nspin-sdk==4.1.2", "spin-sdk 4.1.2", (3, 12)),
])  # fmt: skip
def test_the_python_a_spin_sdk_requirement_needs(text, sdk, python):
    need = sdk_need(text)
    assert (need.sdk, need.python) == (sdk, python)


@pytest.mark.parametrize("text", ["", "# nothing\n", "flask==3.0\n", "spin-sdk=3\n", "spin-sdk==9.9,<2\n"])
def test_no_need_without_a_usable_spin_sdk_line(text):
    assert sdk_need(text) is None


def test_pips_failure_is_one_line_naming_the_requirement():
    stderr = [
        "WARNING: Location 'file:///opt/x/' is ignored: it is neither a file nor a directory.\n",
        "ERROR: Could not find a version that satisfies the requirement spin-sdk==0.0.999 (from versions: 0.0.1, 3.4.1)\n",
        "ERROR: No matching distribution found for spin-sdk==0.0.999\n",
    ]
    assert failure_line("requirements.txt", ["Collecting flask"], stderr) == (
        "requirements.txt: could not install spin-sdk==0.0.999: No matching distribution found for spin-sdk==0.0.999"
    )
    # pip names nothing: the requirement it was working on stands in.
    assert failure_line("requirements.txt", ["Collecting spin-sdk==3.4.1", "Collecting broken==1.0"],
                        ["error: subprocess-exited-with-error\n", "note: This error originates from a subprocess\n"]) == (
        "requirements.txt: could not install broken==1.0: note: This error originates from a subprocess"
    )  # fmt: skip


def test_find_python_takes_pyenvs_newest_install_by_number(tmp_path, monkeypatch):
    real = find_python("3.12")
    for version in ("3.12.9", "3.12.10"):
        folder = tmp_path / "versions" / version / "bin"
        folder.mkdir(parents=True)
        (folder / "python3.12").symlink_to(real)
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path))
    assert find_python_in_package("3.12") == tmp_path / "versions" / "3.12.10" / "bin" / "python3.12"
    assert probe(find_python_in_package("3.12")).version[:2] == (3, 12)


def test_no_python_of_a_version_that_is_not_there(tmp_path, monkeypatch):
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path))
    monkeypatch.setenv("PATH", str(tmp_path))
    assert find_python_in_package("3.12") is None
    with pytest.raises(RuntimeError, match=r"Python 3\.12 is not installed"):
        find_python("3.12")
    newer = (sys.version_info.major, sys.version_info.minor + 1)
    assert python_at_least(newer, preferred=sys.executable) is None


def test_a_python_that_does_not_run_is_skipped(tmp_path):
    broken = tmp_path / "python3.12"
    broken.write_text("#!/bin/sh\nexit 127\n")
    os.chmod(broken, 0o755)
    assert probe(broken) is None
    assert probe(tmp_path / "missing") is None


def test_the_probe_says_what_an_interpreter_is():
    here = probe(sys.executable)
    assert here.version == tuple(sys.version_info[:3])
    assert here.is_venv == (sys.prefix != sys.base_prefix)
    assert str(here.prefix) == sys.prefix
