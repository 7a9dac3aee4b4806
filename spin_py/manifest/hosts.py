"""The deprecated ``allowed_http_hosts`` turned into ``allowed_outbound_hosts`` entries,
following Spin's compat::convert_allowed_http_to_allowed_hosts."""

ALLOW_ALL = "insecure:allow-all"
# Before allowed_outbound_hosts existed, version 1 components could reach any database.
DATABASE_HOSTS = ("redis://*:*", "mysql://*:*", "postgres://*:*")
_DEFAULT_PORTS = {"http": 80, "https": 443}
# WHATWG forbidden host code points (the url crate Spin uses refuses these).
_FORBIDDEN = frozenset(" #%/:<>?@[\\]^|\x7f") | frozenset(chr(code) for code in range(0x20))


class HostError(ValueError):
    pass


def convert_allowed_http_hosts(entries, allow_database_access) -> list[str]:
    """Raises HostError naming every invalid entry."""
    hosts = list(DATABASE_HOSTS) if allow_database_access else []
    if ALLOW_ALL in entries:
        return hosts + ["http://*:*", "https://*:*", "http://self"]
    parsed, problems = [], []
    for entry in entries:
        try:
            parsed.append(_parse(entry))
        except HostError as problem:
            problems.append(str(problem))
    if problems:
        raise HostError("; ".join(problems))
    for host, port in parsed:
        if host == "self":
            hosts.append("http://self")
        else:
            suffix = f":{port}" if port is not None else ""
            hosts += [f"http://{host}{suffix}", f"https://{host}{suffix}"]
    return hosts


def _parse(text) -> tuple[str, int | None]:
    # Spin checks for "//" rather than parsing as a URL: `localhost:3001` would parse
    # with `localhost` as its scheme.
    if "//" in text:
        scheme, sep, rest = text.partition("://")
        scheme = scheme.lower()
        if not sep:
            raise HostError(f"{text} isn't a valid HTTP host URL: relative URL without a base")
        if scheme not in _DEFAULT_PORTS:
            raise HostError(f"{text} isn't a valid host or host:port string")
        try:
            host, port, path = _split(rest, scheme)
        except HostError as reason:
            raise HostError(f"{text} isn't a valid HTTP host URL: {reason}") from None
    else:
        try:
            host, port, path = _split(text, "http")
        except HostError:
            raise HostError(f"{text} isn't a valid host or host:port string") from None
    if not host:
        raise HostError(f"{text} doesn't contain a host name")
    if len(path) > 1:
        raise HostError(f"{text} contains a path, should be host and optional port only")
    return host, port


def _split(rest, scheme) -> tuple[str, int | None, str]:
    end = min((rest.find(char) for char in "/?#" if char in rest), default=len(rest))
    authority, path = rest[:end], rest[end:].split("?")[0].split("#")[0]
    host_port = authority.rpartition("@")[2]
    if host_port.startswith("["):
        close = host_port.find("]")
        if close < 0:
            raise HostError("invalid IPv6 address")
        host, port_text = host_port[: close + 1], host_port[close + 1 :]
        if port_text and not port_text.startswith(":"):
            raise HostError("invalid port number")
        port_text = port_text[1:]
    else:
        host, _, port_text = host_port.partition(":")
        if not host:
            raise HostError("empty host")
        if any(char in _FORBIDDEN for char in host):
            raise HostError("invalid domain character")
        host = host.lower()
    port = None
    if port_text:
        if not port_text.isascii() or not port_text.isdigit() or int(port_text) > 65535:
            raise HostError("invalid port number")
        port = int(port_text)
        if port == _DEFAULT_PORTS[scheme]:
            port = None  # the url crate drops a scheme's default port
    return host, port, path
