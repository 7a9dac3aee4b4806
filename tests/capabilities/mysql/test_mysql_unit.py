"""Outbound MySQL configured from a loaded manifest and called through an Instance
(crates/factor-outbound-mysql/src/host.rs): the address checked against
allowed_outbound_hosts before connecting, with Spin's texts. No server."""

from capability_unit import http_component

from spin_py.capabilities.mysql import MysqlCapability, placeholders

COMPONENTS = http_component("web", 'allowed_outbound_hosts = ["mysql://db.example:3306"]')


def test_open_refuses_an_address_the_component_may_not_reach(configure_capability) -> None:
    configured = configure_capability(MysqlCapability, COMPONENTS)
    web = configured.instance("web")
    address = "mysql://root@other.example:3306/app"
    denied = configured.error(web, "open", address=address, cases=["Int32", "Str"])
    assert (denied.kind, denied.message) == ("ConnectionFailed", f"address {address} is not permitted")
    assert configured.said[0].endswith("disallowed destination 'mysql://other.example:3306'.")


def test_a_connection_the_request_did_not_open(configure_capability) -> None:
    configured = configure_capability(MysqlCapability, COMPONENTS)
    web = configured.instance("web")
    missing = configured.error(web, "execute", connection=777, statement="DELETE FROM t", params=[])
    assert (missing.kind, missing.message) == ("ConnectionFailed", "no connection found")


def test_question_marks_are_placeholders_outside_quotes_only() -> None:
    assert placeholders("SELECT ?, '?', 100% FROM t WHERE a = ?", 2) == "SELECT %s, '?', 100%% FROM t WHERE a = %s"
