"""A URL's host as the `url` crate parses it (url::Host::parse, after the WHATWG URL
standard's host parser), which is what Spin's allowed_outbound_hosts compares:
a domain (percent-decoded, IDNA-mapped, lower case), an IPv4 address (any of the
forms WHATWG accepts: ``127.1``, ``0x7f.0.0.1``, ``0177.0.0.1``) or an IPv6 address
in brackets. Errors carry url::ParseError's Display texts."""

import ipaddress
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_to_bytes

# url::ParseError Display texts.
EMPTY_HOST = "empty host"
IDNA_ERROR = "invalid international domain name"
INVALID_IPV4 = "invalid IPv4 address"
INVALID_IPV6 = "invalid IPv6 address"
INVALID_DOMAIN_CHARACTER = "invalid domain character"

# WHATWG "forbidden domain code points" (url crate: is_invalid_domain_char).
_FORBIDDEN_DOMAIN = frozenset(" #%/:<>?@[\\]^|\x7f") | frozenset(chr(code) for code in range(0x20))


class HostParseError(ValueError):
    """``str()`` is url::ParseError's text."""


@dataclass(frozen=True)
class Host:
    kind: str  # "domain", "ipv4" or "ipv6"
    value: Any  # str for a domain, an ipaddress address otherwise

    def __str__(self) -> str:
        return f"[{self.value.compressed}]" if self.kind == "ipv6" else str(self.value)

    @property
    def ip(self) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
        """The address, or None for a domain."""
        return None if self.kind == "domain" else self.value


def parse_host(text: str) -> Host:
    """url::Host::parse: raises HostParseError."""
    if text.startswith("["):
        if not text.endswith("]"):
            raise HostParseError(INVALID_IPV6)
        try:
            return Host("ipv6", ipaddress.IPv6Address(text[1:-1]))
        except ValueError:
            raise HostParseError(INVALID_IPV6) from None
    domain = _domain_to_ascii(unquote_to_bytes(text).decode("utf-8", "replace"))
    if not domain:
        raise HostParseError(EMPTY_HOST)
    if any(char in _FORBIDDEN_DOMAIN for char in domain):
        raise HostParseError(INVALID_DOMAIN_CHARACTER)
    if _ends_in_a_number(domain):
        return Host("ipv4", _parse_ipv4(domain))
    return Host("domain", domain)


def _domain_to_ascii(domain: str) -> str:
    if domain.isascii():
        return domain.lower()
    try:
        import idna  # UTS 46, as the url crate maps

        return idna.encode(domain, uts46=True, transitional=False).decode("ascii")
    except ImportError:
        try:
            return domain.encode("idna").decode("ascii").lower()
        except UnicodeError:
            raise HostParseError(IDNA_ERROR) from None
    except (idna.IDNAError, UnicodeError):
        raise HostParseError(IDNA_ERROR) from None


def _ipv4_number(part: str) -> int | None:
    """A WHATWG IPv4 number (decimal, 0x hex, 0 octal), or None."""
    if not part:
        return None
    base = 10
    if part[:2] in ("0x", "0X"):
        part, base = part[2:], 16
    elif len(part) > 1 and part[0] == "0":
        part, base = part[1:], 8
    if not part:
        return 0
    digits = {10: "0123456789", 8: "01234567", 16: "0123456789abcdefABCDEF"}[base]
    if any(char not in digits for char in part):
        return None
    return int(part, base)


def _ends_in_a_number(domain: str) -> bool:
    parts = domain.split(".")
    if parts[-1] == "":
        if len(parts) == 1:
            return False
        parts.pop()
    last = parts[-1]
    if last and all(char in "0123456789" for char in last):
        return True
    return _ipv4_number(last) is not None


def _parse_ipv4(domain: str) -> ipaddress.IPv4Address:
    parts = domain.split(".")
    if parts[-1] == "" and len(parts) > 1:
        parts.pop()
    if len(parts) > 4:
        raise HostParseError(INVALID_IPV4)
    numbers: list[Any] = [_ipv4_number(part) for part in parts]
    if any(number is None for number in numbers):
        raise HostParseError(INVALID_IPV4)
    if any(number > 255 for number in numbers[:-1]) or numbers[-1] >= 256 ** (5 - len(numbers)):
        raise HostParseError(INVALID_IPV4)
    address = numbers[-1]
    for index, number in enumerate(numbers[:-1]):
        address += number * 256 ** (3 - index)
    return ipaddress.IPv4Address(address)
