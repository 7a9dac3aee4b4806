"""Spin variables through `spin-py up` over HTTP, for the original API (spin_config),
spin-sdk 3.x on Python 3.11 and spin-sdk 5.x on 3.12: values, every error with Spin's
text, the providers' precedence, SPIN_VARIABLE_*, .env, startup refusals and reload."""

import json
import time

import pytest
from apps import component, manifest, sdk3_python, sdk5_python, write_app
from live import run_cli

VARIABLES = """
[variables]
greeting = { default = "hello" }
api_key = { required = true, secret = true }
layered = { default = "manifest" }
"""
COMPONENT_VARIABLES = """
[component.vars.variables]
message = "{{ greeting }}, world"
key = "<{{ api_key }}>"
layered = "{{ layered }}"
literal = "just {text} }}"
"""

ORIGINAL = """
    from spin_http import Response
    from spin_config import config_get

    def handle_request(request):
        name = request.uri.partition("?")[2]
        try:
            body = config_get(name)
        except AssertionError as error:
            body = f"AssertionError: {error}"
        return Response(200, {"content-type": "text/plain"}, body.encode())
"""
SDK3 = """
    from spin_sdk import variables
    from spin_sdk.http import IncomingHandler, Request, Response
    from spin_sdk.wit.types import Err

    class IncomingHandler(IncomingHandler):
        def handle_request(self, request: Request) -> Response:
            name = request.uri.partition("?")[2]
            try:
                body = variables.get(name)
            except Err as error:
                body = f"{type(error.value).__name__}: {error.value.value}"
            return Response(200, {"content-type": "text/plain"}, body.encode())
"""
SDK5 = """
    from componentize_py_types import Err
    from spin_sdk import variables
    from spin_sdk.http import Handler, Request, Response

    class HttpHandler(Handler):
        async def handle_request(self, request: Request) -> Response:
            name = request.uri.partition("?")[2]
            try:
                body = await variables.get(name)
            except Err as error:
                body = f"{type(error.value).__name__}: {error.value.value}"
            return Response(200, {"content-type": "text/plain"}, body.encode())
"""

BAD_NAME = "\"Bad\": invalid character 'B'. Variable names may contain only lower-case letters, numbers, and underscores."
# name -> (what the SDKs' variables.get gives, what the original config_get gives)
EXPECTED = {
    "message": ("hello, world", "hello, world"),
    "key": ("<from-env>", "<from-env>"),
    "literal": ("just {text} }}", "just {text} }}"),
    "nope": ('Error_Undefined: no variable for "vars"."nope"',
             'AssertionError: Error::Provider("no variable for \\"vars\\".\\"nope\\"")'),
    "greeting": ('Error_Undefined: no variable for "vars"."greeting"',
                 'AssertionError: Error::Provider("no variable for \\"vars\\".\\"greeting\\"")'),
    "Bad": (f"Error_InvalidName: {BAD_NAME}",
            'AssertionError: Error::InvalidKey("\\"Bad\\": invalid character \'B\'. Variable names may contain only '
            'lower-case letters, numbers, and underscores.")'),
    "a__b": ('Error_InvalidName: "a__b": must not contain multiple consecutive underscores',
             'AssertionError: Error::InvalidKey("\\"a__b\\": must not contain multiple consecutive underscores")'),
}


def write(tmp_path, handler, extra=""):
    return write_app(
        tmp_path,
        manifest(component("vars", route="/...", extra=extra)).replace(
            "[[trigger.http]]", VARIABLES + "\n[[trigger.http]]", 1
        ) + COMPONENT_VARIABLES,
        {"app.py": handler},
    )


@pytest.mark.parametrize(
    "handler, python, sdk",
    [(ORIGINAL, None, False), (SDK3, sdk3_python, True), (SDK5, sdk5_python, True)],
    ids=["original-api", "spin-sdk-3", "spin-sdk-5"],
)
def test_values_and_errors_as_spin_gives_them(tmp_path, spin_up, monkeypatch, handler, python, sdk):
    monkeypatch.chdir(tmp_path)
    path = write(tmp_path, handler)
    args = ("--python", str(python())) if python else ()
    server = spin_up(path, *args, env={"SPIN_VARIABLE_API_KEY": "from-env"})
    for name, answers in EXPECTED.items():
        status, _, body = server.get(f"/?{name}")
        assert (status, body.decode()) == (200, answers[0 if sdk else 1]), name


def test_providers_in_spins_order(tmp_path, spin_up, monkeypatch):
    """--variable over [[variables_provider]] static over SPIN_VARIABLE_* over .env over the default."""
    monkeypatch.chdir(tmp_path)
    path = write(tmp_path, SDK3)
    (tmp_path / "runtime.toml").write_text(
        '[[variables_provider]]\ntype = "static"\nvalues = { layered = "static", api_key = "static-key" }\n'
        '[[variables_provider]]\ntype = "vault"\nurl = "http://127.0.0.1:8200"\ntoken = "t"\nmount = "m"\n'
    )
    (tmp_path / "values.json").write_text(json.dumps({"greeting": "json"}))
    (tmp_path / "key.txt").write_text("file-key")
    (tmp_path / ".env").write_text("# dotenv\nSPIN_VARIABLE_GREETING=dotenv\nexport SPIN_VARIABLE_LAYERED='dotenv'\n")
    python = str(sdk3_python())

    server = spin_up(path, "--python", python, "--runtime-config-file", "runtime.toml")
    assert server.get("/?layered")[2] == b"static"  # static provider over .env
    assert server.get("/?key")[2] == b"<static-key>"
    assert server.get("/?message")[2] == b"dotenv, world"  # .env over the manifest default
    assert server.output().count(
        'runtime.toml: variables_provider type "vault" (HashiCorp Vault) is not provided by spin-py: '
        "no variable comes from it"
    ) == 1

    server = spin_up(path, "--python", python, "--runtime-config-file", "runtime.toml",
                     "--variable", "layered=first", "--variable", "@values.json", "--variable", "layered=cli",
                     "--variable", "api_key=@key.txt", env={"SPIN_VARIABLE_GREETING": "env"})
    assert server.get("/?layered")[2] == b"cli"  # the later --variable wins
    assert server.get("/?key")[2] == b"<file-key>"
    assert server.get("/?message")[2] == b"json, world"  # --variable over SPIN_VARIABLE_* over .env

    server = spin_up(path, "--python", python, env={"SPIN_VARIABLE_GREETING": "env", "SPIN_VARIABLE_API_KEY": "k"})
    assert server.get("/?message")[2] == b"env, world"  # the environment over .env


def test_startup_refusals_with_spins_texts(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = write(tmp_path, ORIGINAL)
    result = run_cli("up", "-f", str(path), "--listen", "127.0.0.1:0", timeout=30)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f'Error: {path}: provider error: no provider resolved required variable(s): [Key("api_key")]'
    )
    path.write_text(path.read_text().replace("{{ greeting }}, world", "{{ greting }}, world"))
    result = run_cli("up", "-f", str(path), "--listen", "127.0.0.1:0", "--variable", "api_key=x", timeout=30)
    assert result.returncode == 1
    assert result.stderr.strip() == f'Error: {path}: invalid variable template: unknown variable "greting"'
    result = run_cli("up", "-f", str(path), "--listen", "127.0.0.1:0", "--variable", "api_key", timeout=30)
    assert result.stderr.strip() == (
        "Error: Invalid value for '--variable': 'api_key': variables must be in the form 'key=value' or '@file'"
    )


def poll(server, path, expected, timeout=10):
    deadline = time.monotonic() + timeout
    while server.get(path)[2] != expected:
        assert time.monotonic() < deadline, server.output()
        time.sleep(0.05)


def test_a_variable_edit_applies_from_the_next_request(tmp_path, spin_up, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = write(tmp_path, ORIGINAL)
    server = spin_up(path, "--variable", "api_key=k")
    assert server.get("/?message")[2] == b"hello, world"
    (tmp_path / ".env").write_text("SPIN_VARIABLE_GREETING=from-dotenv\n")
    poll(server, "/?message", b"from-dotenv, world")
    path.write_text(path.read_text().replace('message = "{{ greeting }}, world"', 'message = "{{ greeting }}, planet"'))
    poll(server, "/?message", b"from-dotenv, planet")
    # An edit Spin would refuse keeps the last good variables, and says why.
    path.write_text(path.read_text().replace("api_key = { required = true, secret = true }",
                                             "api_key = { required = true }\nother = { required = true }"))
    server.wait_for_output('no provider resolved required variable(s): [Key("other")]')
    assert server.get("/?message")[2] == b"from-dotenv, planet"


SDK5_OTHER_INTERFACES = """
    import json
    from componentize_py_types import Err
    from spin_sdk.http import Handler, Request, Response
    from spin_sdk.wit.imports import fermyon_spin_config as config
    from spin_sdk.wit.imports import fermyon_spin_variables_2_0_0 as v2
    from spin_sdk.wit.imports import wasi_config_store_0_2_0_draft_2024_09_27 as wasi_config

    def attempt(call, *args):
        try:
            return call(*args)
        except Err as error:
            return f"{type(error.value).__name__}: {error.value.value}"

    class HttpHandler(Handler):
        async def handle_request(self, request: Request) -> Response:
            seen = {
                "config": [attempt(config.get_config, name) for name in ("message", "nope", "Bad")],
                "v2": [attempt(v2.get, name) for name in ("message", "nope")],
                "wasi": [attempt(wasi_config.get, name) for name in ("message", "nope", "Bad")],
                "wasi_all": sorted(attempt(wasi_config.get_all)),
            }
            return Response(200, {"content-type": "application/json"}, json.dumps(seen).encode())
"""


def test_the_other_generated_interfaces_of_spin_sdk_5(tmp_path, spin_up, monkeypatch):
    monkeypatch.chdir(tmp_path)
    server = spin_up(write(tmp_path, SDK5_OTHER_INTERFACES), "--python", str(sdk5_python()), "--variable", "api_key=k")
    assert json.loads(server.get("/")[2]) == {
        "config": ["hello, world", 'Error_Provider: no variable for "vars"."nope"', f"Error_InvalidKey: {BAD_NAME}"],
        "v2": ["hello, world", 'Error_Undefined: no variable for "vars"."nope"'],
        "wasi": ["hello, world", None, None],
        "wasi_all": [["key", "<k>"], ["layered", "manifest"], ["literal", "just {text} }}"], ["message", "hello, world"]],
    }
