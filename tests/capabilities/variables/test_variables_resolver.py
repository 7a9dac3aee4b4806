"""The variables resolver as Spin's crates/expressions and providers behave, and as other
capabilities use it (resolve_template)."""


import pytest

from spin_py.capabilities.variables.errors import VariablesError
from spin_py.capabilities.variables.expressions import Template, name_problem
from spin_py.capabilities.variables.providers import EnvProvider, ProviderConfigError, StaticProvider, read_dotenv
from spin_py.capabilities.variables.resolver import Resolver, ResolverConfigError, resolver_for
from spin_py.capabilities.variables.sources import VariableSourceError, parse_variable
from spin_py.manifest import Variable, load_manifest
from spin_py.runtime_config import RuntimeConfig, RuntimeConfigError, load_runtime_config


def test_names_as_spins_key_validate():
    for good in ["a", "abc", "a1b2c3", "a_1", "a_1_b_3"]:
        assert name_problem(good) is None
    assert [name_problem(bad) for bad in ["", "aX", "1bc", "_x", "x.y", "x_", "a__b", "x-y"]] == [
        "must not be empty",
        "invalid character 'X'. Variable names may contain only lower-case letters, numbers, and underscores.",
        "must start with a lowercase ASCII letter",
        "must start with a lowercase ASCII letter",
        "invalid character '.'. Variable names may contain only lower-case letters, numbers, and underscores.",
        "must end with a lowercase ASCII letter or digit",
        "must not contain multiple consecutive underscores",
        "invalid character '-'. Variable names may contain only lower-case letters, numbers, and underscores.",
    ]


def test_templates_as_spins_template_new():
    assert Template.parse("").parts == ()
    assert Template.parse("a-{{ expr }}-b").parts == (("lit", "a-"), ("expr", "expr"), ("lit", "-b"))
    assert Template.parse("{{expr1}}{{ expr2 }}").names == ("expr1", "expr2")
    with pytest.raises(VariablesError) as caught:
        Template.parse("{{ matched }} {{ unmatched")
    assert str(caught.value) == "invalid variable template: unmatched '{{' in template"


def resolver(providers=(), **templates):
    variables = {"required": Variable(required=True), "default": Variable(default="default-value")}
    return Resolver(variables, {"c": templates}, list(providers))


def test_resolution_and_spins_errors():
    found = resolver([StaticProvider({"required": "provider-value"})], key="prefix-{{ default }}-{{ required }}")
    assert found.resolve("c", "key") == "prefix-default-value-provider-value"
    found.ensure_required_resolvable()
    with pytest.raises(VariablesError) as caught:
        found.resolve("c", "other")
    assert (caught.value.kind, caught.value.detail) == ("Undefined", 'no variable for "c"."other"')
    with pytest.raises(VariablesError) as caught:
        found.resolve("d", "key")
    assert caught.value.detail == 'no variable for component "d"'
    with pytest.raises(VariablesError) as caught:
        resolver(key="{{ required }}").ensure_required_resolvable()
    assert str(caught.value) == 'provider error: no provider resolved required variable(s): [Key("required")]'
    with pytest.raises(VariablesError) as caught:
        resolver(key="{{ missing }}")
    assert str(caught.value) == 'invalid variable template: unknown variable "missing"'
    assert found.resolve_template("redis://{{ default }}:6379") == "redis://default-value:6379"


def test_the_environment_provider(tmp_path):
    env = EnvProvider(environ={"SPIN_VARIABLE_API_KEY": "env"}, dotenv={"SPIN_VARIABLE_API_KEY": "x", "SPIN_VARIABLE_OTHER": "dotenv"})
    assert (env.get("api_key"), env.get("other"), env.get("none")) == ("env", "dotenv", None)
    broken = EnvProvider(environ={"SPIN_VARIABLE_BAD": "\udcff"})
    assert not broken.may_resolve("bad")
    with pytest.raises(VariablesError) as caught:
        broken.get("bad")
    assert (caught.value.kind, caught.value.detail) == ("Provider", "failed to resolve env var SPIN_VARIABLE_BAD")
    assert EnvProvider(prefix="MY", environ={"MY_X": "1"}).get("x") == "1"


def test_dotenv_files(tmp_path):
    path = tmp_path / ".env"
    path.write_text(
        "# comment\n\nA=plain\nexport B='single # kept'\nC=\"dq \\\"x\\\"\\nnext\"  # comment\nA=second\n D = spaced\n"
    )
    assert read_dotenv(path) == {"A": "plain", "B": "single # kept", "C": 'dq "x"\nnext', "D": "spaced"}
    assert read_dotenv(tmp_path / "missing") == {}
    path.write_text("GOOD=1\nnot a line\n")
    with pytest.raises(ProviderConfigError) as caught:
        read_dotenv(path)
    assert str(caught.value) == f"{path}:2: not a KEY=value line: 'not a line'"


def test_variable_options_as_spins_variable_source(tmp_path, monkeypatch):
    from spin_py.cli_values import split_key_value

    monkeypatch.chdir(tmp_path)
    (tmp_path / "v.json").write_text('{"a": "json"}')
    (tmp_path / "v.toml").write_text('b = "toml"')
    (tmp_path / "secret.txt").write_text("s3cret\n")
    assert parse_variable("k=v=w", split_key_value) == {"k": "v=w"}
    assert parse_variable("k=@secret.txt", split_key_value) == {"k": "s3cret\n"}
    assert parse_variable("@v.json", split_key_value) == {"a": "json"}
    assert parse_variable("@v.toml", split_key_value) == {"b": "toml"}
    for text, message in [
        ("nope", "variables must be in the form 'key=value' or '@file'"),
        ("@whatami", "variable files must end in .json or .toml"),
        ("@missing.json", 'Failed to read "missing.json": No such file or directory'),
    ]:
        with pytest.raises(VariableSourceError) as caught:
            parse_variable(text, split_key_value)
        assert str(caught.value) == message


APP = """\
spin_manifest_version = 2
[application]
name = "v"
[variables]
host = { default = "example.com" }
[[trigger.http]]
route = "/"
component = "c"
[component.c]
source = "c.wasm"
[component.c.variables]
url = "https://{{ host }}"
"""


def test_resolver_for_a_loaded_app_and_runtime_config(tmp_path):
    (tmp_path / "spin.toml").write_text(APP)
    app = load_manifest(tmp_path)
    found = resolver_for(app, RuntimeConfig(), None, cwd=tmp_path)
    assert found.resolve("c", "url") == "https://example.com"
    (tmp_path / "rc.toml").write_text('[[config_provider]]\ntype = "static"\nvalues = { host = "other.org" }\n')
    found = resolver_for(app, load_runtime_config(tmp_path / "rc.toml"), None, cwd=tmp_path)
    assert found.resolve_template("{{ host }}:443") == "other.org:443"
    (tmp_path / "rc.toml").write_text('[[variables_provider]]\ntype = "consul"\n')
    with pytest.raises(RuntimeConfigError) as caught:
        resolver_for(app, load_runtime_config(tmp_path / "rc.toml"), None, cwd=tmp_path)
    assert str(caught.value) == (
        f"{tmp_path / 'rc.toml'}: variables_provider[0].type: unknown variant `consul`, "
        "expected one of `azure_key_vault`, `static`, `vault`, `env`"
    )
    (tmp_path / ".env").write_text("=broken\n")
    with pytest.raises(ResolverConfigError, match=r"\.env:1: not a KEY=value line"):
        resolver_for(app, RuntimeConfig(), None, cwd=tmp_path)
