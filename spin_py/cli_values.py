"""How the command line's values are read, for every command and every capability's flags:
HOST:PORT, KEY=VALUE, sizes. Standard library only, so a capability's flag parser can use
them without importing click. A bad value is ValueError with the text that follows the
option's name (cli_errors.InputError adds the name)."""

import re


def parse_listen(value: str) -> tuple[str, int]:
    """``(host, port)`` from ``HOST:PORT`` (an IPv6 host in brackets)."""
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"'{value}' is not HOST:PORT (for example 127.0.0.1:3000)")
    return host.strip("[]"), int(port)


def split_key_value(text: str) -> tuple[str, str] | None:
    """``(key, value)`` split at the first ``=``, as Spin splits its KEY=VALUE options
    (``split_once('=')``), or None when there is no ``=``: the one splitter of -e,
    --variable and --key-value."""
    key, sep, value = text.partition("=")
    return (key, value) if sep else None


_SIZE = re.compile(r"(\d+)\s*([kmg]?)(?:i?b)?", re.I)


def parse_size(value: str) -> int:
    """Bytes from "1048576", "512K", "100M", "1GiB" (K, M, G are powers of 1024)."""
    match = _SIZE.fullmatch(value.strip())
    if not match:
        raise ValueError(f"'{value}' is not a size in bytes (for example 1048576, 512K, 100M or 1G)")
    return int(match.group(1)) * 1024 ** " kmg".index(match.group(2).lower() or " ")
