"""The variables capability configured from a loaded manifest and called through an
Instance, as Spin's crates/factor-variables/tests/factor_test.rs does: providers in
Spin's order, the startup refusal of a required variable nothing provides, and the
guest's errors with Spin's texts."""

from pathlib import Path

import pytest

from spin_py.capabilities.seam import ConfigureError
from spin_py.capabilities.variables import VariablesCapability
from spin_py.capabilities.variables.sources import parse_variables

COMPONENTS = """
[variables]
api_host = { default = "example.com" }
api_key = { required = true }
greeting = { default = "hello" }

[[trigger.http]]
route = "/..."
component = "web"

[component.web]
source = "web.wasm"
[component.web.variables]
endpoint = "https://{{ api_host }}/v1"
key = "{{ api_key }}"
"""


def test_each_provider_in_spins_order(configure_capability, tmp_path: Path) -> None:
    # --variable first, then [[variables_provider]] entries in file order, then SPIN_VARIABLE_* and .env.
    runtime_config = '[[variables_provider]]\ntype = "static"\nvalues = { api_host = "static.example" }\n'
    configured = configure_capability(VariablesCapability, COMPONENTS, runtime_config, flags={"variables": {"api_key": "k1"}})
    web = configured.instance("web")
    assert configured.call(web, "get", name="endpoint") == "https://static.example/v1"
    assert configured.call(web, "get", name="key") == "k1"
    assert sorted(configured.call(web, "get_all")) == [["endpoint", "https://static.example/v1"], ["key", "k1"]]
    assert configured.app.startup_lines() == []


def test_dotenv_beside_where_spin_py_runs_provides_a_required_variable(configure_capability, tmp_path: Path) -> None:
    (tmp_path / "app0").mkdir()
    (tmp_path / "app0" / ".env").write_text("SPIN_VARIABLE_API_KEY=from-dotenv\n")
    configured = configure_capability(VariablesCapability, COMPONENTS)
    assert configured.call(configured.instance("web"), "get", name="key") == "from-dotenv"


def test_a_required_variable_no_provider_resolves_fails_startup_with_spins_text(configure_capability) -> None:
    with pytest.raises(ConfigureError) as caught:
        configure_capability(VariablesCapability, COMPONENTS)
    # crates/expressions/src/lib.rs ensure_required_variables_resolvable
    assert str(caught.value) == 'provider error: no provider resolved required variable(s): [Key("api_key")]'


def test_the_guests_errors_carry_spins_variants_and_texts(configure_capability) -> None:
    configured = configure_capability(VariablesCapability, COMPONENTS, flags={"variables": {"api_key": "k"}})
    web = configured.instance("web")
    undefined = configured.error(web, "get", name="greeting")  # an application variable, not the component's
    assert (undefined.kind, undefined.message) == ("Undefined", 'no variable for "web"."greeting"')
    invalid = configured.error(web, "get", name="Not-Valid")
    assert invalid.kind == "InvalidName"
    other = configured.error(configured.instance("nobody"), "get", name="key")
    assert (other.kind, other.message) == ("Undefined", 'no variable for component "nobody"')
    assert configured.error(web, "get", name=3).kind == "Other"
    assert configured.error(web, "forget", name="key").message == "variables has no host function 'forget'"


def test_a_provider_spin_py_does_not_have_is_said_at_startup(configure_capability) -> None:
    runtime_config = '[[variables_provider]]\ntype = "vault"\nurl = "http://vault"\ntoken = "t"\nmount = "m"\n'
    configured = configure_capability(VariablesCapability, COMPONENTS, runtime_config, flags={"variables": {"api_key": "k"}})
    assert configured.app.startup_lines() == [
        f'{configured.context.runtime_config.path}: variables_provider type "vault" (HashiCorp Vault) '
        "is not provided by spin-py: no variable comes from it"
    ]


def test_one_resolver_per_manifest_is_shared(configure_capability) -> None:
    configured = configure_capability(VariablesCapability, COMPONENTS, flags={"variables": {"api_key": "k"}})
    # What outbound networking resolves its hosts with is the resolver the capability answers from.
    assert configured.app.resolver is configured.context.variables()


def test_the_variable_flag_reads_files_and_names_the_value_it_cannot(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "secret.txt").write_text("s3cret")
    assert parse_variables(("a=1", "b=@secret.txt", "a=2")) == {"a": "2", "b": "s3cret"}
    from spin_py.capabilities.seam import FlagError

    with pytest.raises(FlagError) as caught:
        parse_variables(("api_key",))
    assert str(caught.value) == "'api_key': variables must be in the form 'key=value' or '@file'"
