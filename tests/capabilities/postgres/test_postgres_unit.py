"""Outbound PostgreSQL configured from a loaded manifest and called through an Instance
(crates/factor-outbound-pg/src/host.rs): each host of the connection string checked
against allowed_outbound_hosts before connecting, with Spin's texts. No server."""

from capability_unit import http_component

from spin_py.capabilities.postgres import PostgresCapability

COMPONENTS = http_component("web", 'allowed_outbound_hosts = ["postgres://db.example:5432"]')
CASES = ["Boolean", "Int32", "Str"]


def test_open_refuses_a_host_the_component_may_not_reach(configure_capability) -> None:
    configured = configure_capability(PostgresCapability, COMPONENTS)
    web = configured.instance("web")
    denied = configured.error(web, "open", address="host=other.example port=5432 user=u", cases=CASES)
    assert (denied.kind, denied.message) == ("ConnectionFailed", "address postgres://other.example:5432 is not permitted")
    # A second host in the string is checked too, whichever comes first.
    denied = configured.error(web, "open", address="postgres://u@db.example:5432,other.example:5432/d", cases=CASES)
    assert denied.message == "address postgres://other.example:5432 is not permitted"
    unix = configured.error(web, "open", address="host=/var/run/postgresql", cases=CASES)
    assert unix.message == "Unix sockets are not supported on WebAssembly"


def test_a_connection_the_request_did_not_open(configure_capability) -> None:
    configured = configure_capability(PostgresCapability, COMPONENTS)
    web = configured.instance("web")
    missing = configured.error(web, "query", connection=4242, statement="SELECT 1", params=[])
    # crates/factor-outbound-pg/src/host.rs get_client
    assert (missing.kind, missing.message) == ("ConnectionFailed", "no connection found")
