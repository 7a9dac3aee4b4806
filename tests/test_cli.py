"""The command line: every command's --help, and a fast `spin-py --help` that loads no model engine."""

import subprocess
import sys

import pytest
from live import run_cli

COMMANDS = [[], ["up"], ["new"], ["add"], ["templates"], ["templates", "list"], ["models"], ["models", "serve"],
            ["plugin"], ["plugin", "manifest"]]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "spin-py")
def test_help(command):
    result = run_cli(*command, "--help")
    assert result.returncode == 0, result.stderr
    assert "Usage:" in result.stdout


def test_help_loads_no_model_engine():
    code = (
        "import sys\nfrom spin_py.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = sorted(m for m in ('torch', 'llama_cpp', 'transformers', 'sentence_transformers', 'numpy') if m in sys.modules)\n"
        "print('HEAVY', heavy)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "HEAVY []" in result.stdout
