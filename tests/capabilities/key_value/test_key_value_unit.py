"""The key-value capability configured from a loaded manifest and called through an
Instance, as Spin's crates/factor-key-value/tests/factor_test.rs does: labels checked at
startup and at `open` with Spin's texts, the default store in the state dir for real,
`--key-value` pairs written before serving, and a runtime config's stores."""

import pytest
from capability_unit import http_component

from spin_py.capabilities.key_value import KeyValueCapability
from spin_py.capabilities.key_value.seed import parse_key_values
from spin_py.capabilities.seam import ConfigureError, FlagError, decode_bytes, encode_bytes
from spin_py.runtime_config import RuntimeConfigError


def test_a_label_no_store_backs_fails_startup_with_spins_text(configure_capability) -> None:
    with pytest.raises(ConfigureError) as caught:
        configure_capability(KeyValueCapability, http_component("web", 'key_value_stores = ["default", "cache"]'))
    # crates/factor-key-value/src/lib.rs configure_app
    assert str(caught.value) == 'unknown key_value_stores label "cache" for component "web"'


def test_the_default_store_is_real_and_said_at_startup(configure_capability) -> None:
    configured = configure_capability(KeyValueCapability, http_component("web", 'key_value_stores = ["default"]'),
                                      flags={"key_values": (("seeded", "by the flag"),)})
    state = configured.context.state_dir
    assert configured.app.startup_lines() == [f'Storing default key-value data to "{state}/sqlite_key_value.db".']
    web = configured.instance("web")
    store = configured.call(web, "open", label="default")
    assert decode_bytes(configured.call(web, "get", store=store, key="seeded")) == b"by the flag"
    configured.call(web, "set", store=store, key="k", value=encode_bytes(b"\x00v"))
    assert configured.call(web, "exists", store=store, key="k") is True
    assert sorted(configured.call(web, "get_keys", store=store)) == ["k", "seeded"]
    assert configured.call(web, "increment", store=store, key="n", delta=5) == 5
    configured.call(web, "delete", store=store, key="k")
    assert configured.call(web, "get", store=store, key="k") is None
    # The next request sees what this one wrote: the file is the store.
    later = configured.instance("web")
    assert configured.call(later, "get", store=configured.call(later, "open", label="default"), key="n") is not None


def test_open_refuses_a_label_the_component_does_not_list_and_a_handle_it_did_not_open(configure_capability) -> None:
    components = http_component("web", 'key_value_stores = ["default"]') + http_component("admin", "key_value_stores = []")
    configured = configure_capability(KeyValueCapability, components)
    admin = configured.instance("admin")
    assert configured.error(admin, "open", label="default").kind == "AccessDenied"
    web = configured.instance("web")
    store = configured.call(web, "open", label="default")
    stolen = configured.error(admin, "get", store=store, key="k")
    assert (stolen.kind, stolen.message) == ("InvalidStore", "invalid store")  # crates/factor-key-value/src/host.rs
    configured.call(web, "close", store=store)
    configured.call(web, "close", store=store)  # a second close is no error, as in Spin
    assert configured.error(web, "compact", store=store).message == "key-value has no host function 'compact'"


def test_a_runtime_config_store_and_a_type_spin_does_not_know(configure_capability) -> None:
    configured = configure_capability(KeyValueCapability, http_component("web", 'key_value_stores = ["cache"]'),
                                      '[key_value_store.cache]\ntype = "spin"\n')
    web = configured.instance("web")
    cache = configured.call(web, "open", label="cache")
    configured.call(web, "set", store=cache, key="k", value=encode_bytes(b"v"))
    assert decode_bytes(configured.call(web, "get", store=cache, key="k")) == b"v"
    assert configured.app.startup_lines() == []  # no component uses the default store
    with pytest.raises(RuntimeConfigError) as caught:
        configure_capability(KeyValueCapability, http_component("web"), '[key_value_store.cache]\ntype = "etcd"\n')
    assert str(caught.value).endswith(
        "runtime-config.toml: key_value_store.cache.type: the store type 'etcd' was not registered with the config resolver"
    )


def test_the_key_value_flag_splits_at_the_first_equals_sign() -> None:
    assert parse_key_values(("a=b=c", "=empty key", "f=@file")) == (("a", "b=c"), ("", "empty key"), ("f", "@file"))
    with pytest.raises(FlagError) as caught:
        parse_key_values(("novalue",))
    assert str(caught.value) == "'novalue': Key/Values must be of the form `key=value`"
