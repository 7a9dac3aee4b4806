"""Outbound HTTP configured from a loaded manifest and called through an Instance, as
Spin's crates/factor-outbound-http/tests/factor_test.rs does: the manifest's
allowed_outbound_hosts checked at startup (Spin's loader text), a denied destination
refused before any connection with Spin's variant and its two terminal lines, and a
service chaining request outside the HTTP trigger. No server: nothing here connects."""

import pytest
from capability_unit import http_component

from spin_py.capabilities.outbound_http import OutboundHttpCapability
from spin_py.capabilities.seam import ConfigureError

ALLOWED = http_component("web", 'allowed_outbound_hosts = ["https://api.example.com"]') + http_component("other")


def send(configured, instance, uri: str, api: str = "wasi"):
    return configured.error(instance, "send", api=api, method="GET", uri=uri, headers=[], body=None)


def test_a_destination_the_component_may_not_reach_is_refused_with_spins_lines(configure_capability) -> None:
    configured = configure_capability(OutboundHttpCapability, ALLOWED)
    denied = send(configured, configured.instance("web"), "https://elsewhere.example.com/x")
    assert (denied.kind, denied.message) == (
        "HttpRequestDenied", "https://elsewhere.example.com: this destination is not in the component's allowed_outbound_hosts")
    # crates/runtime-factors/src/lib.rs disallowed_host_handler
    assert configured.said == [
        "Warning: A component tried to make an outbound network connection to disallowed destination "
        "'https://elsewhere.example.com'.",
        "To allow this request, add 'allowed_outbound_hosts = [\"https://elsewhere.example.com\"]' to the manifest "
        "component section.",
    ]
    # The original API's error for the same refusal (crates/factor-outbound-http/src/spin.rs).
    assert send(configured, configured.instance("web"), "https://elsewhere.example.com/", api="spin").kind == "DestinationNotAllowed"


def test_a_request_to_the_app_itself_needs_self_in_allowed_outbound_hosts(configure_capability) -> None:
    configured = configure_capability(OutboundHttpCapability, ALLOWED)
    assert send(configured, configured.instance("web"), "/other/").kind == "HttpRequestDenied"
    assert configured.said[0] == "Warning: A component tried to make an HTTP request to its own app but it does not have permission."


def test_service_chaining_outside_the_http_trigger_does_not_resolve(configure_capability) -> None:
    components = http_component("web", 'allowed_outbound_hosts = ["http://other.spin.internal"]') + http_component("other")
    configured = configure_capability(OutboundHttpCapability, components)
    instance = configured.instance("web")
    assert instance.service_chaining is None  # a Redis message's request, say
    chained = send(configured, instance, "http://other.spin.internal/")
    assert (chained.kind, chained.message) == (
        "DnsError", "other.spin.internal: the name does not resolve outside the HTTP trigger")


def test_a_malformed_allowed_outbound_hosts_fails_startup_with_spins_text(configure_capability) -> None:
    with pytest.raises(ConfigureError) as caught:
        configure_capability(OutboundHttpCapability, http_component("web", 'allowed_outbound_hosts = ["api.example.com"]'))
    assert str(caught.value).startswith("component.web.allowed_outbound_hosts: `allowed_outbound_hosts` is malformed: ")


def test_calls_that_are_not_a_send(configure_capability) -> None:
    configured = configure_capability(OutboundHttpCapability, ALLOWED)
    web = configured.instance("web")
    assert configured.error(web, "fetch").message == "outbound_http has no host function 'fetch'"
    assert configured.error(web, "send", api="ftp").message == "outbound_http send needs an api of 'wasi' or 'spin'"
