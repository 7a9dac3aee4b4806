"""Outbound Redis configured from a loaded manifest and called through an Instance, as
Spin's crates/factor-outbound-redis tests do: an address the component may not reach is
refused at `open` before any connection (InvalidAddress and Spin's terminal lines), and
calls on a connection the request never opened fail with Spin's text. No server."""

from capability_unit import http_component

from spin_py.capabilities.redis import RedisCapability

COMPONENTS = http_component("web", 'allowed_outbound_hosts = ["redis://cache.example:6379"]')


def test_open_refuses_an_address_the_component_may_not_reach(configure_capability) -> None:
    configured = configure_capability(RedisCapability, COMPONENTS)
    web = configured.instance("web")
    assert configured.error(web, "open", address="redis://other.example:6379").kind == "InvalidAddress"
    assert configured.said == [
        "Warning: A component tried to make an outbound network connection to disallowed destination "
        "'redis://other.example:6379'.",
        "To allow this request, add 'allowed_outbound_hosts = [\"redis://other.example:6379\"]' to the manifest "
        "component section.",
    ]
    assert configured.error(web, "open", address="not a url").kind == "InvalidAddress"


def test_a_connection_the_request_did_not_open(configure_capability) -> None:
    configured = configure_capability(RedisCapability, COMPONENTS)
    web = configured.instance("web")
    missing = configured.error(web, "get", connection=12345, key="k")
    assert (missing.kind, missing.message) == ("Other", "could not find connection for resource")
    configured.call(web, "close", connection=12345)  # no effect on a handle that is not open
    assert configured.error(web, "flushall").message == "outbound Redis has no host function 'flushall'"
