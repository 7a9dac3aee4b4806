"""``allowed_outbound_hosts`` as Spin parses and matches it: a port of
crates/outbound-networking-config/src/allowed_hosts.rs, with its error texts.

    hosts = AllowedHosts.parse(entries, resolver, component_ids)   # AllowedHostError
    AllowedHosts.validate(entries, defaults_resolver)               # at manifest load
    hosts.allows("https://api.example.com/x", scheme="https")       # a URL, or
    hosts.allows(OutboundUrl.parse("10.0.0.1:5432", "tcp"))
    hosts.allows_relative(("http", "https"))                        # a "self" request
    denial_lines(scheme, authority)                                 # Spin's two terminal lines

Each entry is ``<scheme>://<host>[:<port>]``: ``*`` for any scheme, host or port,
``*.example.com`` for any subdomain, a CIDR range (``10.0.0.0/8``), ``self`` (or
``self.alt``) for the app itself, a port range ``8000..9000`` (end excluded),
and ``{{ variable }}`` templates resolved with the app's variables (an entry that
resolves to nothing, or to ``http://``/``https://``, is skipped, as in Spin).
"""

import ipaddress
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from spin_py.capabilities.outbound_networking.url_host import Host, HostParseError, parse_host
from spin_py.capabilities.variables.errors import VariablesError
from spin_py.capabilities.variables.expressions import Template
from spin_py.wire.rust_text import rust_debug

SERVICE_CHAINING_DOMAIN = "spin.internal"
SERVICE_CHAINING_DOMAIN_SUFFIX = ".spin.internal"
ALLOW_ALL = "insecure:allow-all"
LEARN_MORE = "Learn more: https://spinframework.dev/v3/http-outbound#granting-http-permissions-to-components"
_WELL_KNOWN_PORTS = {"postgres": 5432, "mysql": 3306, "redis": 6379, "mqtt": 1883, "http": 80, "https": 443}
# The url crate's special schemes: their default port is dropped, their host normalised.
_SPECIAL_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443, "ftp": 21, "file": None}


class AllowedHostError(ValueError):
    """An anyhow error: ``str()`` is the outermost message (what Spin's tests compare),
    ``chain`` every context from the outside in, ``full`` them joined as ``{:#}`` does."""

    def __init__(self, *chain: str) -> None:
        super().__init__(chain[0])
        self.chain = tuple(chain)

    @property
    def full(self) -> str:
        return ": ".join(self.chain)

    def context(self, message: str) -> "AllowedHostError":
        return AllowedHostError(message, *self.chain)


def well_known_port(scheme: str) -> int | None:
    return _WELL_KNOWN_PORTS.get(scheme)


def _parse_u16(text: str, what: str) -> int:
    """Rust's ``str::parse::<u16>()``, its error wrapped in ``what``."""
    body = text[1:] if text.startswith("+") else text
    if not text:
        raise AllowedHostError(what, "cannot parse integer from empty string")
    if not body or not body.isascii() or not body.isdigit():
        raise AllowedHostError(what, "invalid digit found in string")
    value = int(body)
    if value > 65535:
        raise AllowedHostError(what, "number too large to fit in target type")
    return value


# --- scheme -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SchemeConfig:
    schemes: tuple | None  # None: any scheme (``*://``)

    @classmethod
    def parse(cls, scheme: str) -> "SchemeConfig":
        if scheme == "*":
            return cls(None)
        if scheme.startswith("{"):
            raise AllowedHostError("scheme lists are not supported")
        if any(not char.isalpha() for char in scheme):
            raise AllowedHostError("only alphabetic characters are allowed")
        return cls((scheme,))

    def allows(self, scheme: str) -> bool:
        return self.schemes is None or scheme in self.schemes


# --- host ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class HostConfig:
    kind: str  # "any", "subdomain" (value ".example.com"), "self", "literal" (a Host), "cidr" (an ip_network)
    value: Any = None

    @classmethod
    def parse(cls, host: str) -> "HostConfig":
        host = host.strip()
        if host == "*":
            return cls("any")
        if host in ("self", "self.alt"):
            return cls("self")
        if host.startswith("{"):
            if not host.endswith("}"):
                raise AllowedHostError("Condition failed: `host.ends_with('}')`")
            raise AllowedHostError("host lists are not yet supported")
        network = _cidr(host)
        if network is not None:
            return cls("cidr", network)
        if host.endswith("/"):
            host = host[:-1]
        if "/" in host:
            raise AllowedHostError("must not include a path")
        if host.startswith("*."):
            domain = host[2:]
            if "*" in domain:
                raise AllowedHostError("wildcards are allowed only as prefixes")
            try:
                parsed = parse_host(domain)
            except HostParseError as error:
                raise AllowedHostError(f'invalid wildcard host "*.{domain}"', str(error)) from None
            if parsed.kind != "domain":
                raise AllowedHostError("wildcard suffix must be a domain")
            return cls("subdomain", f".{parsed.value}")
        if "*" in host:
            raise AllowedHostError("wildcards are allowed only as subdomains")
        return cls.literal(host)

    @classmethod
    def literal(cls, host: str) -> "HostConfig":
        try:
            return cls("literal", parse_host(host))
        except HostParseError as error:
            raise AllowedHostError(str(error)) from None

    def allows(self, host: str) -> bool:
        try:
            parsed = parse_host(host)
        except HostParseError:
            return False
        if self.kind == "any":
            return True
        if self.kind == "subdomain":
            return parsed.kind == "domain" and parsed.value.endswith(self.value)
        if self.kind == "literal":
            return parsed == self.value
        if self.kind == "cidr":
            return parsed.ip is not None and parsed.ip.version == self.value.version and parsed.ip in self.value
        return False  # "self" is checked apart, by allows_relative

    def allows_relative(self) -> bool:
        return self.kind in ("any", "self")

    def is_for_service_chaining(self) -> bool:
        if self.kind == "literal":
            return self.value.kind == "domain" and self.value.value.endswith(SERVICE_CHAINING_DOMAIN_SUFFIX)
        return self.kind == "subdomain" and self.value == SERVICE_CHAINING_DOMAIN_SUFFIX


def _cidr(host: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    """ip_network's IpNetwork::from_str_truncate: ``address/prefix`` only, host bits dropped."""
    address, slash, prefix = host.partition("/")
    if not slash or not prefix.isascii() or not prefix.isdigit():
        return None
    try:
        return ipaddress.ip_network(f"{address}/{int(prefix)}", strict=False)
    except ValueError:
        return None


# --- port ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PortConfig:
    ranges: tuple | None  # None: any port; else (start, end) pairs, end excluded

    @classmethod
    def parse(cls, port: str, scheme: str) -> "PortConfig":
        if not port:
            default = well_known_port(scheme)
            if default is None:
                raise AllowedHostError(
                    f"no port was provided and the scheme {rust_debug(scheme)} does not have a known default port number"
                )
            return cls(((default, default + 1),))
        if port == "*":
            return cls(None)
        if port.startswith("{"):
            raise AllowedHostError("port lists are not yet supported")
        start, dots, end = port.partition("..")
        if dots:
            what = f"port range {rust_debug(port)} contains non-number"
            return cls(((_parse_u16(start, what), _parse_u16(end, what)),))
        value = _parse_u16(port, f"port {rust_debug(port)} is not a number")
        return cls(((value, value + 1),))

    def allows(self, port: int | None, scheme: str) -> bool:
        if self.ranges is None:
            return True
        port = port if port is not None else well_known_port(scheme)
        return port is not None and any(start <= port < end for start, end in self.ranges)


# --- one entry ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class AllowedHostConfig:
    scheme: SchemeConfig
    host: HostConfig
    port: PortConfig
    original: str = field(default="", compare=False)

    @classmethod
    def parse(cls, text: str) -> "AllowedHostConfig":
        """One entry; AllowedHostError with Spin's text."""
        url = text.strip()
        scheme, sep, rest = url.partition("://")
        if not sep:
            if url in ("*", ":", "", "?"):
                raise AllowedHostError(
                    f"{rust_debug(url)} is not an allowed outbound host format.\n"
                    "Hosts must be in the form <scheme>://<host>[:<port>], with '*' wildcards allowed for each.\n"
                    "If you intended to allow all outbound networking, you can use '*://*:*' - this will obviate "
                    f"all network sandboxing.\n{LEARN_MORE}"
                )
            raise AllowedHostError(f"{rust_debug(url)} does not contain a scheme (e.g., 'http://' or '*://')\n{LEARN_MORE}")
        head, colon, tail = rest.rpartition(":")
        if not colon or not tail:
            host, port = (head if colon else rest), ""
        else:
            try:
                HostConfig.parse(rest)
                host, port = rest, ""
            except AllowedHostError:
                port, slash, path = tail.partition("/")
                if slash and path:
                    raise AllowedHostError(f"{rust_debug(url)} has a path but is not allowed to") from None
                host = head
        try:
            port_config = PortConfig.parse(port, scheme)
        except AllowedHostError as error:
            raise error.context(f"Invalid allowed host port {rust_debug(port)}") from None
        try:
            scheme_config = SchemeConfig.parse(scheme)
        except AllowedHostError as error:
            raise error.context(f"Invalid allowed host scheme {rust_debug(scheme)}") from None
        try:
            host_config = HostConfig.parse(host)
        except AllowedHostError as error:
            raise error.context(f"Invalid allowed host {rust_debug(host)}") from None
        return cls(scheme_config, host_config, port_config, text)

    def allows(self, url: "OutboundUrl") -> bool:
        return self.scheme.allows(url.scheme) and self.host.allows(url.host) and self.port.allows(url.port, url.scheme)

    def allows_relative(self, schemes: Iterable[str]) -> bool:
        return any(self.scheme.allows(scheme) for scheme in schemes) and self.host.allows_relative()

    def __str__(self) -> str:
        return self.original

    def socket_rule(self) -> dict:
        """This entry for the guest's socket check (spin_py/guest/network_guard.py): JSON,
        schemes left out (a socket has none), the default port of a port-less entry filled in."""
        host = self.host
        if host.kind == "literal":
            rule_host = [host.value.kind, str(host.value.value)]
        elif host.kind == "cidr":
            rule_host = ["cidr", str(host.value)]
        else:
            rule_host = [host.kind, host.value]
        ports = None if self.port.ranges is None else [list(pair) for pair in self.port.ranges]
        return {"entry": self.original, "host": rule_host, "ports": ports}


# --- the list -----------------------------------------------------------------------------------------
def _parse_or_skip(resolved: str) -> "AllowedHostConfig | None":
    """An entry a variable made empty is skipped ("optional endpoint"); an empty literal is not."""
    if resolved in ("", "http://", "https://"):
        return None
    return AllowedHostConfig.parse(resolved)


def _partial(entries: list[str]) -> list["AllowedHostConfig | Template"]:
    if len(entries) == 1 and entries[0] == ALLOW_ALL:
        raise AllowedHostError(
            "'insecure:allow-all' is not allowed - use '*://*:*' instead if you really want to allow all outbound traffic'"
        )
    partial: list[AllowedHostConfig | Template] = []
    for entry in entries:
        try:
            template = Template.parse(entry)
        except VariablesError as error:
            raise AllowedHostError(str(error)) from None
        partial.append(AllowedHostConfig.parse(entry) if not template.names else template)
    return partial


def _render(template: Template, resolver: Any) -> str:
    return template.render(resolver.resolve_variable)


@dataclass(frozen=True)
class AllowedHosts:
    """A component's resolved allowed_outbound_hosts (Spin's AllowedHostsConfig::SpecificHosts)."""

    hosts: tuple

    @classmethod
    def parse(cls, entries: Iterable[str], resolver: Any, component_ids: Sequence[str] = ()) -> "AllowedHosts":
        """Templates resolved with ``resolver`` (anything with ``resolve_variable(name) -> str``,
        raising VariablesError); ``http://*.spin.internal`` expanded to each component."""
        hosts: list[AllowedHostConfig] = []
        for item in _partial(list(entries)):
            parsed: AllowedHostConfig | None = item if isinstance(item, AllowedHostConfig) else None
            if isinstance(item, Template):
                try:
                    parsed = _parse_or_skip(_render(item, resolver))
                except VariablesError as error:
                    raise AllowedHostError(str(error)) from None
            if parsed is not None:
                hosts.append(parsed)
        return cls(tuple(_expand_service_chaining(hosts, component_ids)))

    @staticmethod
    def validate(entries: Iterable[str], resolver: Any) -> None:
        """At manifest load: literal entries must parse; a template is checked only when
        ``resolver`` (the variables' defaults) resolves it."""
        for item in _partial(list(entries)):
            if isinstance(item, Template):
                try:
                    resolved = _render(item, resolver)
                except VariablesError:
                    continue  # no default value: checked when a request needs it
                try:
                    _parse_or_skip(resolved)
                except AllowedHostError as error:
                    text = "".join(value if kind == "lit" else "{{ " + value + " }}" for kind, value in item.parts)
                    raise error.context(
                        f"using default variable value(s) with template {rust_debug(text)} "
                        f"results in invalid config {rust_debug(resolved)}"
                    ) from None

    def allows(self, url: "OutboundUrl | str", scheme: str = "https") -> bool:
        """``url``: an OutboundUrl, or text parsed as Spin's check_url does (``scheme``
        is prepended to text that does not parse as a URL with a host)."""
        if not isinstance(url, OutboundUrl):
            try:
                url = OutboundUrl.parse(url, scheme)
            except ValueError:
                return False
        return any(host.allows(url) for host in self.hosts)

    def allows_relative(self, schemes: Iterable[str] = ("http", "https")) -> bool:
        return any(host.allows_relative(schemes) for host in self.hosts)

    def socket_rules(self) -> list:
        return [host.socket_rule() for host in self.hosts if host.host.kind != "self"]


def _expand_service_chaining(hosts: Iterable["AllowedHostConfig"], component_ids: Sequence[str]) -> Iterator["AllowedHostConfig"]:
    for host in hosts:
        if host.host.kind == "subdomain" and host.host.value == SERVICE_CHAINING_DOMAIN_SUFFIX:
            for component_id in component_ids:
                name = f"{component_id}{SERVICE_CHAINING_DOMAIN_SUFFIX}"
                yield AllowedHostConfig(host.scheme, HostConfig("literal", Host("domain", name)), host.port, host.original)
        else:
            yield host


# --- a destination ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class OutboundUrl:
    scheme: str
    host: str
    port: int | None
    original: str = ""

    @classmethod
    def parse(cls, url: str, scheme: str) -> "OutboundUrl":
        """Spin's OutboundUrl::parse: ``url`` as a URL with a host, else ``{scheme}://{url}``.
        Raises ValueError."""
        original = text = url
        at = text.find("@")
        if at >= 0:  # the userinfo is percent-encoded, so a '#' or '/' in a password does not end it
            scheme_end = text.find("://") + 3 if "://" in text else 0
            slash = text.find("/", scheme_end)
            if at < (slash if slash >= 0 else len(text)):
                userinfo = text[scheme_end:at]
                text = text[:scheme_end] + quote(userinfo, safe="-_.~") + text[at:]
        try:
            parsed = _split_url(text)
        except ValueError as first:
            parsed = None
            error = first
        if parsed is None or parsed[1] is None:
            try:
                parsed = _split_url(f"{scheme}://{text}")
            except ValueError:
                if parsed is None:
                    raise error from None
                raise
        url_scheme, host, port = parsed
        if host is None:
            raise ValueError(f"{rust_debug(text)} does not have a host component")
        return cls(url_scheme, host, port, original)

    def authority(self) -> str:
        return f"{self.host}:{self.port}" if self.port is not None else self.host

    def __str__(self) -> str:
        return self.original


def _split_url(text: str) -> tuple[str, str | None, int | None]:
    """(scheme, host or None, port or None) of an absolute URL, as the url crate reads them."""
    scheme, colon, rest = text.partition(":")
    if not colon or not scheme or not scheme[0].isascii() or not scheme[0].isalpha() or any(
        not (char.isascii() and (char.isalnum() or char in "+-.")) for char in scheme
    ):
        raise ValueError("relative URL without a base")
    scheme = scheme.lower()
    special = scheme in _SPECIAL_PORTS
    if special:
        rest = rest.replace("\\", "/").lstrip("/")
    elif rest.startswith("//"):
        rest = rest[2:]
    else:
        return scheme, None, None  # no authority: "mysql:foo", "localhost:3001"
    end = min((index for index in (rest.find(char) for char in "/?#") if index >= 0), default=len(rest))
    authority = rest[:end].rpartition("@")[2]
    if authority.startswith("["):
        close = authority.find("]")
        if close < 0:
            raise ValueError("invalid IPv6 address")
        host, port_text = authority[: close + 1], authority[close + 1 :]
        if port_text and not port_text.startswith(":"):
            raise ValueError("invalid port number")
        port_text = port_text[1:]
    else:
        host, _, port_text = authority.partition(":")
    port = None
    if port_text:
        if not port_text.isascii() or not port_text.isdigit() or int(port_text) > 65535:
            raise ValueError("invalid port number")
        port = int(port_text)
    if special:
        if not host:
            raise ValueError("empty host")
        try:
            host = str(parse_host(host))
        except HostParseError as error:
            raise ValueError(str(error)) from None
        if port == _SPECIAL_PORTS[scheme]:
            port = None
    elif host.startswith("["):
        try:
            host = str(parse_host(host))
        except HostParseError as error:
            raise ValueError(str(error)) from None
    elif not host:
        return scheme, None, port
    return scheme, host, port


# --- what Spin says -----------------------------------------------------------------------------------
def denial_lines(scheme: str, authority: str) -> list[str]:
    """What Spin prints when a component is refused a destination
    (crates/runtime-factors/src/lib.rs, disallowed_host_handler: terminal::warn! then eprintln!)."""
    pattern = f"{scheme}://{authority}"
    if scheme.startswith("http") and authority == "self":
        first = "Warning: A component tried to make an HTTP request to its own app but it does not have permission."
    else:
        first = f"Warning: A component tried to make an outbound network connection to disallowed destination '{pattern}'."
    return [first, f"To allow this request, add 'allowed_outbound_hosts = [\"{pattern}\"]' to the manifest component section."]


def service_chaining_target(host: str) -> str | None:
    """``component-id`` for ``component-id.spin.internal[:port]`` (parse_service_chaining_host)."""
    host = host.rpartition(":")[0] if ":" in host else host
    first, dot, rest = host.partition(".")
    return first if dot and rest == SERVICE_CHAINING_DOMAIN else None
