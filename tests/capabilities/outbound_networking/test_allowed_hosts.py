"""Spin's own unit tests for allowed_outbound_hosts (crates/outbound-networking-config/src/
allowed_hosts.rs, mod test), as tables, against the port in outbound_networking."""

import ipaddress

import pytest

from spin_py.capabilities.outbound_networking import AllowedHostConfig, AllowedHostError, AllowedHosts, OutboundUrl
from spin_py.capabilities.outbound_networking.allowed_hosts import (
    HostConfig,
    PortConfig,
    SchemeConfig,
    denial_lines,
    service_chaining_target,
)
from spin_py.capabilities.outbound_networking.url_host import parse_host
from spin_py.capabilities.variables.errors import VariablesError


class Resolver:
    def __init__(self, **values):
        self.values = values

    def resolve_variable(self, name):
        if name not in self.values:
            raise VariablesError("InvalidName", name)
        return self.values[name]


def config(scheme, host, port):
    scheme = SchemeConfig(None) if scheme == "*" else SchemeConfig((scheme,))
    if isinstance(host, str):
        host = HostConfig.literal(host)
    if port == "*":
        port = PortConfig(None)
    elif isinstance(port, tuple):
        port = PortConfig((port,))
    else:
        port = PortConfig(((port, port + 1),))
    return AllowedHostConfig(scheme, host, port)


PARSED = [
    # test_allowed_hosts_accepts_url_without_port / _with_port / _with_port_range
    ("http://spin.fermyon.dev", config("http", "spin.fermyon.dev", 80)),
    ("http://spin.fermyon.dev/", config("http", "spin.fermyon.dev", 80)),
    ("https://spin.fermyon.dev", config("https", "spin.fermyon.dev", 443)),
    ("http://spin.fermyon.dev:4444", config("http", "spin.fermyon.dev", 4444)),
    ("http://spin.fermyon.dev:4444/", config("http", "spin.fermyon.dev", 4444)),
    ("https://spin.fermyon.dev:5555", config("https", "spin.fermyon.dev", 5555)),
    ("http://spin.fermyon.dev:4444..5555", config("http", "spin.fermyon.dev", (4444, 5555))),
    # _accepts_host_with_glob_scheme, _accepts_self, _accepts_localhost_addresses
    ("*://spin.fermyon.dev:7777", config("*", "spin.fermyon.dev", 7777)),
    ("http://self", config("http", HostConfig("self"), 80)),
    ("http://localhost", config("http", "localhost", 80)),
    ("http://localhost:3001", config("http", "localhost", 3001)),
    # _accepts_subdomain_wildcards, _accepts_ip_addresses, _accepts_ip_cidr, test_allowed_all_globs
    ("http://*.example.com", config("http", HostConfig("subdomain", ".example.com"), 80)),
    ("http://192.168.1.1", config("http", "192.168.1.1", 80)),
    ("http://192.168.1.1:3002", config("http", "192.168.1.1", 3002)),
    ("http://[::1]:8001", config("http", "[::1]", 8001)),
    ("http://[::1]", config("http", "[::1]", 80)),
    ("*://127.0.0.0/24:80", config("*", HostConfig("cidr", ipaddress.ip_network("127.0.0.0/24")), 80)),
    ("*://ff00::/8:80", config("*", HostConfig("cidr", ipaddress.ip_network("ff00::/8")), 80)),
    ("*://*:*", config("*", HostConfig("any"), "*")),
    # ipv6_literal_without_port_uses_scheme_default, ipv6_literal_with_explicit_port_still_parses
    ("https://[::1]", config("https", "[::1]", 443)),
    ("http://[2001:db8::1]", config("http", "[2001:db8::1]", 80)),
    ("http://[2001:db8::1]:443", config("http", "[2001:db8::1]", 443)),
    ("http://[::1]:*", config("http", "[::1]", "*")),
    ("http://[::1]:8000..9000", config("http", "[::1]", (8000, 9000))),
    ("*://[::1]:80", config("*", "[::1]", 80)),
    ("http://[::1]:8080/", config("http", "[::1]", 8080)),
    # cidr_without_port_uses_scheme_default, ipv6_cidr_with_explicit_port_still_parses
    ("http://ff00::/8", config("http", HostConfig("cidr", ipaddress.ip_network("ff00::/8")), 80)),
    ("https://2001:db8::/32", config("https", HostConfig("cidr", ipaddress.ip_network("2001:db8::/32")), 443)),
    ("http://::1/128", config("http", HostConfig("cidr", ipaddress.ip_network("::1/128")), 80)),
    ("http://10.0.0.0/8", config("http", HostConfig("cidr", ipaddress.ip_network("10.0.0.0/8")), 80)),
    ("http://2001:db8::/32:443", config("http", HostConfig("cidr", ipaddress.ip_network("2001:db8::/32")), 443)),
]


@pytest.mark.parametrize("text, expected", PARSED, ids=[text for text, _ in PARSED])
def test_parses_as_spin_does(text, expected):
    assert AllowedHostConfig.parse(text) == expected


REJECTED = [
    "spin.fermyon.dev", "spin.fermyon.dev:80", "localhost", "localhost:3001", "*://127.0.0.0/24", "example.com",
    "http://spin.fermyon.dev/a", "http://spin.fermyon.dev:6666/a/b", "http://*.fermyon.dev/a",
    # rejects_malformed_ipv6_allowed_hosts
    "http://[::1]/foo", "http://ff00::/8/extra", "http://[::1", "http://[::1]junk", "http://[::1]::80", "http://[v1.]",
    "[::1]", "[::1]:8080",
    # rejects_invalid_allowed_host_entries
    "http://example.com:notaport", "http://example.com:8080..70000", "http://self:notaport", "http://self.alt:notaport",
    "http://*:notaport", "http://127.0.0.1:notaport", "http://[::1]:notaport", "http://*.example.com:notaport",
    "http://*.example.com:8080..", "http://*.example.com:8O8O", "http://example.com:8080/p",
    "http://*.example.com:8080/p", "http://*.example.com/p", "http://127.0.0.0/24/p", "http://[::1junk", "http://*.",
    "http://*.:8080", "example.com:8080", "http://example%.com", "http://example%2.com", "http://example%GG.com",
    "http://exa[mple.com", r"http://exa\mple.com", "http://example.com:80:90", "http://[vG.example]",
    # rejects_double_slash_paths, rejects_wildcard_non_domain_suffixes
    "http://example.com//", "http://*.example.com//", "http://self//", "http://[::1]//",
    "http://*.127.0.0.1", "http://*.192.168.001.001", "http://*.[::1]", "http://*.[2001:db8::1]",
]


@pytest.mark.parametrize("text", REJECTED)
def test_rejects_as_spin_does(text):
    with pytest.raises(AllowedHostError):
        AllowedHostConfig.parse(text)


@pytest.mark.parametrize("text", ["http://example.com:99999", "http://[::1]:99999", "http://ff00::/8:99999",
                                  "http://*.example.com:99999"])
def test_invalid_explicit_port_reports_port_error(text):
    with pytest.raises(AllowedHostError) as caught:
        AllowedHostConfig.parse(text)
    assert str(caught.value) == 'Invalid allowed host port "99999"'


def test_manifest_error_texts():
    with pytest.raises(AllowedHostError) as caught:
        AllowedHosts.parse(["insecure:allow-all"], Resolver())
    assert str(caught.value) == (
        "'insecure:allow-all' is not allowed - use '*://*:*' instead if you really want to allow all outbound traffic'"
    )
    with pytest.raises(AllowedHostError) as caught:
        AllowedHosts.parse(["spin.fermyon.dev", "insecure:allow-all"], Resolver())
    assert str(caught.value).startswith(
        "\"spin.fermyon.dev\" does not contain a scheme (e.g., 'http://' or '*://')\nLearn more: https://spinframework.dev/"
    )
    with pytest.raises(AllowedHostError) as caught:
        AllowedHostConfig.parse("*")
    assert str(caught.value).startswith('"*" is not an allowed outbound host format.\nHosts must be in the form')


def allows(entries, url, scheme, resolver=None, components=()):
    return AllowedHosts.parse(entries, resolver or Resolver(), components).allows(OutboundUrl.parse(url, scheme))


MATCHES = [
    # test_allowed_hosts_can_be_specific
    (["*://spin.fermyon.dev:443", "http://example.com:8383"], "http://example.com:8383/foo/bar", "http", True),
    (["*://spin.fermyon.dev:443", "http://example.com:8383"], "https://spin.fermyon.dev", "https", True),
    (["*://spin.fermyon.dev:443", "http://example.com:8383"], "https://spin.fermyon.dev/", "https", True),
    (["*://spin.fermyon.dev:443", "http://example.com:8383"], "http://example.com/", "http", False),
    (["*://spin.fermyon.dev:443", "http://example.com:8383"], "http://google.com/", "http", False),
    (["*://spin.fermyon.dev:443", "http://example.com:8383"], "spin.fermyon.dev:443", "https", True),
    (["*://spin.fermyon.dev:443", "http://example.com:8383"], "example.com:8383", "http", True),
    # test_allowed_hosts_with_trailing_slash
    (["https://my.api.com/"], "https://my.api.com", "https", True),
    (["https://my.api.com/"], "https://my.api.com/", "https", True),
    # test_allowed_hosts_can_be_subdomain_wildcards
    (["http://*.example.com", "http://*.example2.com:8383"], "http://a.example.com/foo/bar", "http", True),
    (["http://*.example.com", "http://*.example2.com:8383"], "http://a.b.example.com/foo/bar", "http", True),
    (["http://*.example.com", "http://*.example2.com:8383"], "http://a.b.example2.com:8383/foo/bar", "http", True),
    (["http://*.example.com", "http://*.example2.com:8383"], "http://a.b.example2.com/foo/bar", "http", False),
    (["http://*.example.com", "http://*.example2.com:8383"], "http://example.com/foo/bar", "http", False),
    (["http://*.example.com", "http://*.example2.com:8383"], "http://example.com:8383/foo/bar", "http", False),
    (["http://*.example.com", "http://*.example2.com:8383"], "http://myexample.com/foo/bar", "http", False),
    # test_hash_char_in_db_password, test_cidr
    (["mysql://xyz.com"], "mysql://user:pass#word@xyz.com", "mysql", True),
    (["mysql://xyz.com"], "mysql://user%3Apass%23word@xyz.com", "mysql", True),
    (["mysql://xyz.com"], "user%3Apass%23word@xyz.com", "mysql", True),
    (["*://127.0.0.1/24:63551"], "tcp://127.0.0.1:63551", "tcp", True),
    # ipv6_literal_allows_and_denies_requests, ipv6_cidr_allows_addresses_in_range
    (["http://[::1]"], "http://[::1]", "http", True),
    (["http://[::1]"], "http://[::1]/some/path", "http", True),
    (["http://[::1]"], "http://[::1]:80", "http", True),
    (["http://[::1]"], "http://[::2]", "http", False),
    (["http://[::1]"], "http://[::1]:81", "http", False),
    (["http://2001:db8::/32"], "http://[2001:db8::1]", "http", True),
    (["http://2001:db8::/32"], "http://[2001:db8:abcd::1]/x", "http", True),
    (["http://2001:db8::/32"], "http://[2001:db9::1]", "http", False),
    # wildcard_subdomain_is_case_insensitive
    (["http://*.Example.COM"], "http://foo.example.com", "http", True),
    (["http://*.Example.COM"], "http://a.b.example.com/x", "http", True),
    (["http://*.Example.COM"], "http://example.com", "http", False),
    # a self entry allows no URL (it is checked apart, for relative requests)
    (["http://self"], "http://self/x", "http", False),
]


@pytest.mark.parametrize("entries, url, scheme, expected", MATCHES)
def test_matches_as_spin_does(entries, url, scheme, expected):
    assert allows(entries, url, scheme) is expected


def test_outbound_url_handles_at_in_paths():
    for url in ("https://example.com/file@0.1.0.json", "https://user:password@example.com/file@0.1.0.json",
                "https://user:pass#word@example.com/file@0.1.0.json", "https://user:password@example.com"):
        assert OutboundUrl.parse(url, "https").host == "example.com"


def test_service_chaining_wildcard_expands_to_every_component():
    hosts = AllowedHosts.parse(["pg://localhost:5656", "http://*.spin.internal", "https://spinframework.dev"],
                               Resolver(), ["first", "second", "third"])
    assert [str(h.host.value) for h in hosts.hosts] == [
        "localhost", "first.spin.internal", "second.spin.internal", "third.spin.internal", "spinframework.dev"]
    assert service_chaining_target("first.spin.internal") == "first"
    assert service_chaining_target("first.spin.internal:80") == "first"
    assert service_chaining_target("example.com") is None


def test_templates():
    # allowed_hosts_ignores_empty_due_to_empty_variables
    hosts = AllowedHosts.parse(["https://{{ one }}", "{{ two }}", "https://three"], Resolver(one="", two=""))
    assert [str(h.host.value) for h in hosts.hosts] == ["three"]
    # valid_hosts_are_valid, invalid_hosts_are_invalid
    AllowedHosts.validate(["http://x.y", "*://my.db:*"], Resolver())
    with pytest.raises(AllowedHostError):
        AllowedHosts.validate(["http://x.y", "zootle! wurdl!", "}{ !!**"], Resolver())
    # variables_make_hosts_valid, bad_variables_make_hosts_invalid, missing_variables_ignored_when_checking_validity
    AllowedHosts.validate(["http://{{ dbhost }}", "http://{{ dbhost }}:{{ dbport }}"],
                          Resolver(dbhost="example.com", dbport="1234"))
    with pytest.raises(AllowedHostError) as caught:
        AllowedHosts.validate(["http://{{ dbhost }}"], Resolver(dbhost="zoinks, Scooby!"))
    assert str(caught.value) == ('using default variable value(s) with template "http://{{ dbhost }}" '
                                 'results in invalid config "http://zoinks, Scooby!"')
    AllowedHosts.validate(["http://{{ dbhost }}"], Resolver())
    AllowedHosts.validate(["https://{{ one }}", "{{ two }}", "https://three"], Resolver(one="", two=""))
    assert allows(["http://{{ host }}:{{ port }}"], "http://api.local:8080/x", "http", Resolver(host="api.local", port="8080"))


def test_whatwg_hosts():
    assert str(parse_host("0x7f.1").value) == "127.0.0.1"
    assert str(parse_host("EXAMPLE.com")) == "example.com"
    assert allows(["http://127.0.0.1:8080"], "http://0x7f.0.0.1:8080/", "http")


def test_denial_lines_are_spins():
    assert denial_lines("https", "api.example.com") == [
        "Warning: A component tried to make an outbound network connection to disallowed destination "
        "'https://api.example.com'.",
        "To allow this request, add 'allowed_outbound_hosts = [\"https://api.example.com\"]' to the manifest "
        "component section.",
    ]
    assert denial_lines("http", "self")[0] == (
        "Warning: A component tried to make an HTTP request to its own app but it does not have permission.")
