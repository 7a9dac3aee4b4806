"""A component `environment` no process could be started with is a manifest error at
startup (file, key, line), never a worker that cannot start."""

import textwrap

import pytest
from live import run_cli

from spin_py.manifest import ManifestError, load_manifest

APP = """\
spin_manifest_version = 2

[application]
name = "env"

[[trigger.http]]
route = "/..."
component = "hello"

[component.hello]
source = "app.wasm"
[component.hello.build]
command = "componentize-py -w spin-http componentize app -o app.wasm"
[component.hello.environment]
FINE = "yes"
{entry}
"""


def manifest(tmp_path, entry):
    path = tmp_path / "spin.toml"
    path.write_text(APP.format(entry=entry))
    return path


@pytest.mark.parametrize(
    "entry, key, problem",
    [
        ('"A=B" = "x"', 'component.hello.environment."A=B"', "an environment variable name cannot contain '='"),
        ('"=A" = "x"', 'component.hello.environment."=A"', "an environment variable name cannot contain '='"),
        ('"A\\u0000B" = "x"', 'component.hello.environment."A\\u0000B"',
         "an environment variable name cannot contain a NUL character"),
        ('NUL = "x\\u0000y"', "component.hello.environment.NUL",
         "an environment variable value cannot contain a NUL character"),
    ],
)
def test_names_and_values_a_process_cannot_hold(tmp_path, entry, key, problem):
    path = manifest(tmp_path, entry)
    with pytest.raises(ManifestError) as caught:
        load_manifest(path)
    assert str(caught.value) == f"{path}:16: {key}: {problem}"


def test_profile_and_inline_environments_are_checked_too(tmp_path):
    path = tmp_path / "spin.toml"
    path.write_text(textwrap.dedent("""\
        spin_manifest_version = 2
        [application]
        name = "env"
        [[trigger.http]]
        route = "/"
        component = { source = "a.wasm", environment = { "X=1" = "y" } }
        """))
    with pytest.raises(ManifestError, match=r':6: trigger\.http\[0\]\.component\.environment\."X=1": .*cannot contain'):
        load_manifest(path)
    path.write_text(APP.format(entry='[component.hello.profile.debug]\nenvironment = { "A=B" = "1" }'))
    with pytest.raises(ManifestError, match=r':17: component\.hello\.profile\.debug\.environment\."A=B": '):
        load_manifest(path)


def test_spin_py_up_refuses_it_at_startup(tmp_path):
    path = manifest(tmp_path, '"A=B" = "x"')
    (tmp_path / "app.py").write_text("def handle_request(request):\n    pass\n")
    result = run_cli("up", "-f", str(path), "--listen", "127.0.0.1:0", timeout=30)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"Error: {path}:16: component.hello.environment.\"A=B\": an environment variable name cannot contain '='"
    )
