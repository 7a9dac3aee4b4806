"""The component's own sockets reach only what its ``allowed_outbound_hosts`` allows.

Under Spin a component has no network but what the manifest grants: its sockets
(wasi:sockets) are checked as ``tcp://<address>:<port>`` / ``udp://...`` against
``allowed_outbound_hosts`` (crates/factor-outbound-networking/src/lib.rs). Here the
component's Python has the real socket module, so CPython audit hooks hold it to the
same list: a ``socket.connect`` (TCP or UDP), ``sendto``/``sendmsg`` to an address, or
a ``getaddrinfo`` of a host name that no entry allows raises PermissionError naming
the destination and the manifest line to add, and Spin's two lines go to stderr (the
terminal, under the component). urllib, http.client, requests, asyncio streams and
pure-Python database drivers all open their connections through these.

The host resolves the entries (templates, ``*.spin.internal``) and sends them in the
worker's settings as rules (spin_py/capabilities/outbound_networking: socket_rules):
a socket has no scheme, so an entry's scheme is not compared, its port (or its
scheme's default port) is. An address reached through a host name is allowed when
that name is: the names getaddrinfo resolved are remembered for their addresses.

Not covered: native code making its own system calls (a C extension's own connect or
resolver, a subprocess), Unix sockets (a file-system matter), and listening sockets.
The worker's channel is a socketpair made before this is installed: never checked.
"""

import errno
import ipaddress
import socket
import sys
from collections.abc import Callable
from typing import Any, NoReturn

_MAX_REMEMBERED = 4096  # addresses remembered from allowed names: bounded whatever the app resolves


class _Guard:
    def __init__(self, component, rules) -> None:
        self.component = component
        self.rules = [(_host_matcher(rule["host"]), rule.get("ports")) for rule in rules]
        self.names_of: dict[str, set[str]] = {}  # address -> the allowed names it was resolved from

    # --- matching ---------------------------------------------------------------------------------
    def allows(self, host, port) -> bool:
        """``host``: a name or an address; ``port``: an int, or None for "any port" (name lookups)."""
        address = _address(host)
        key = host.lower() if address is None else address
        if any(matches(key) and _port_allowed(ports, port) for matches, ports in self.rules):
            return True
        if address is not None:
            return any(self.allows(name, port) for name in self.names_of.get(address, ()))
        return False

    def remember(self, name, results) -> None:
        if _address(name) is not None or not self.allows(name, None):
            return
        if len(self.names_of) > _MAX_REMEMBERED:
            self.names_of.clear()
        for family, _, _, _, sockaddr in results:
            if family in (socket.AF_INET, socket.AF_INET6):
                address = _address(sockaddr[0])
                if address is not None:
                    self.names_of.setdefault(address, set()).add(name.lower())

    # --- refusing ---------------------------------------------------------------------------------
    def refuse(self, scheme, host, port) -> NoReturn:
        address = _address(host)
        shown = f"[{address}]" if address is not None and address.version == 6 else host
        pattern = f"{scheme}://{shown}:{port}" if port is not None else f"{scheme}://{shown}"
        # Spin's lines (crates/runtime-factors/src/lib.rs, disallowed_host_handler).
        print(f"Warning: A component tried to make an outbound network connection to disallowed destination '{pattern}'.\n"
              f"To allow this request, add 'allowed_outbound_hosts = [\"{pattern}\"]' to the manifest component section.",
              file=sys.stderr, flush=True)
        raise PermissionError(
            errno.EACCES,
            f"spin-py: component '{self.component}' may not connect to {pattern}: it is not in the component's "
            f"allowed_outbound_hosts (add \"{pattern}\" to allowed_outbound_hosts in spin.toml)",
        )

    # --- the audit hook ---------------------------------------------------------------------------
    def audit(self, event, args) -> None:
        if event == "socket.connect" or (event in ("socket.sendto", "socket.sendmsg") and args[1] is not None):
            sock, address = args
            family = getattr(sock, "family", None)
            if family in (socket.AF_INET, socket.AF_INET6) and isinstance(address, tuple) and len(address) >= 2:
                host, port = address[0], address[1]
                host = host.decode("idna") if isinstance(host, bytes) else host
                if isinstance(host, str) and isinstance(port, int) and not self.allows(host, port):
                    scheme = "udp" if sock.type == socket.SOCK_DGRAM else "tcp"
                    self.refuse(scheme, host, port)
        elif event == "socket.getaddrinfo":
            host, port = args[0], _port(args[1])
            host = host.decode("idna") if isinstance(host, bytes) else host
            if isinstance(host, str) and host and _address(host) is None and not self.allows(host, port):
                self.refuse("tcp", host, port)


def _address(host: Any) -> Any:
    """An ipaddress address for an IP literal (an IPv4-mapped IPv6 one as IPv4), else None."""
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0].strip("[]"))
    except ValueError:
        return None
    mapped = getattr(address, "ipv4_mapped", None)
    return mapped or address


def _port(port: Any) -> int | None:
    if isinstance(port, int):
        return port
    if isinstance(port, bytes):
        port = port.decode("ascii", "replace")
    if isinstance(port, str):
        if port.isdigit():
            return int(port)
        try:
            return socket.getservbyname(port)
        except OSError:
            return None
    return None


def _port_allowed(ports: Any, port: int) -> bool:
    if ports is None or port is None:
        return True
    return any(start <= port < end for start, end in ports)


def _host_matcher(rule: Any) -> Callable[[Any], bool]:
    kind, value = rule
    if kind == "any":
        return lambda key: True
    if kind == "subdomain":
        return lambda key: isinstance(key, str) and key.endswith(value)
    if kind == "domain":
        return lambda key: key == value
    if kind in ("ipv4", "ipv6"):
        address = ipaddress.ip_address(value)
        return lambda key: key == address
    if kind == "cidr":
        network = ipaddress.ip_network(value)
        return lambda key: not isinstance(key, str) and key.version == network.version and key in network
    return lambda key: False


def install(settings) -> None:
    """Hold this worker's sockets to the component's rules (none when the host sent no rules)."""
    rules = settings.get("allowed_outbound_hosts")
    if rules is None:
        return
    guard = _Guard(settings.get("component", ""), rules)
    sys.addaudithook(guard.audit)
    resolve = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs) -> Any:
        results = resolve(host, port, *args, **kwargs)
        name = host.decode("idna") if isinstance(host, bytes) else host
        if isinstance(name, str) and name:
            guard.remember(name, results)
        return results

    getaddrinfo.__doc__ = resolve.__doc__
    socket.getaddrinfo = getaddrinfo
