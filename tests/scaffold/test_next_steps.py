"""What `spin-py new` prints next: `cd` and `spin-py up` (which installs requirements.txt),
saying which Python when the app's spin-sdk needs a newer one than spin-py's own."""

import re

import pytest
from click.testing import CliRunner

from spin_py.cli import main
from spin_py.scaffold import discover
from spin_py.scaffold.next_steps import SDK_MAJOR_PYTHON, python_needed

UP_STEP = "  spin-py up   # the first `up` installs requirements.txt into .venv"


def test_new_prints_cd_and_up(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["new", "http-py", "hello", "-a", "--no-vcs"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == ["Created hello in hello from http-py. Next steps:", "  cd hello", UP_STEP]
    result = CliRunner().invoke(main, ["new", "http-py", "other", "-a", "--no-vcs", "-o", "my apps/other one"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[1] == "  cd 'my apps/other one'"  # quoted for the shell


def test_an_app_without_requirements_txt_is_not_told_of_installing_it(tmp_path, monkeypatch):
    template = tmp_path / "templates" / "bare-py"
    (template / "metadata").mkdir(parents=True)
    (template / "metadata" / "spin-template.toml").write_text('manifest_version = "1"\nid = "bare-py"\n')
    (template / "content" / "api").mkdir(parents=True)
    (template / "content" / "app.py").write_text("")
    (template / "content" / "api" / "requirements.txt").write_text("spin-sdk == 3.4.1\n")  # not the app's: up reads spin.toml's folder
    monkeypatch.setenv("SPIN_PY_TEMPLATES", str(tmp_path / "templates"))
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["new", "bare-py", "bare", "-a", "--no-vcs"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[1:] == ["  cd bare", "  spin-py up   # no requirements.txt: nothing to install"]


def test_an_app_pinning_spin_sdk_5_is_told_it_needs_python_3_12(tmp_path, monkeypatch):
    template = tmp_path / "templates" / "sdk5-py"
    (template / "metadata").mkdir(parents=True)
    (template / "metadata" / "spin-template.toml").write_text('manifest_version = "1"\nid = "sdk5-py"\n')
    (template / "content").mkdir()
    (template / "content" / "requirements.txt").write_text("componentize-py == 0.17.2\nspin-sdk==5.0.0\n")
    monkeypatch.setenv("SPIN_PY_TEMPLATES", str(tmp_path / "templates"))
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["new", "sdk5-py", "five", "-a", "--no-vcs"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[1:] == [
        "  cd five", UP_STEP + ", made with Python 3.12 or newer (its spin-sdk needs it)"
    ]


@pytest.mark.parametrize("requirements, needed", [
    ("spin-sdk == 3.4.1\n", None), ("spin-sdk==4.0.0\n", "3.12"), ("Spin_SDK ~= 5.0\n", "3.12"),
    ("# spin-sdk == 5.0.0\nspin-sdk == 2.0.0\n", None), ("requests\n", None),
])  # fmt: skip
def test_python_needed_reads_the_spin_sdk_pin(tmp_path, requirements, needed):
    (tmp_path / "requirements.txt").write_text(requirements)
    assert python_needed(tmp_path) == needed
    assert python_needed(tmp_path / "missing") is None


def test_each_template_says_the_python_its_spin_sdk_needs():
    """A template pinning spin-sdk 4.x/5.x (Python 3.12+) says so in its README."""
    for template in discover().values():
        requirements = (template.content_dir / "requirements.txt").read_text()
        major = int(re.search(r"spin-sdk\s*==\s*(\d+)\.", requirements).group(1))
        readme = (template.content_dir / "README.md").read_text()
        needed = SDK_MAJOR_PYTHON.get(major, "3.11")
        assert f"Python {needed} or newer" in readme, template.id
