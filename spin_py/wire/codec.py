"""Bytes inside a frame's JSON (a host call's arguments and results): JSON has no
bytes, so a byte string crosses as ``{"$bytes": base64}``, on both sides written
and read here. (A frame's own body crosses raw beside its JSON: framing.py.)

Standard library only (see the package's docstring).
"""

import base64
import binascii
from typing import Any, TypedDict

# The key is no identifier, so the functional form.
EncodedBytes = TypedDict("EncodedBytes", {"$bytes": str})


def encode_bytes(data: bytes | bytearray | memoryview) -> EncodedBytes:
    return {"$bytes": base64.b64encode(bytes(data)).decode("ascii")}


def decode_bytes(value: Any) -> bytes:
    """What ``encode_bytes`` wrote; ValueError for anything else (the host reads what a
    guest sent with it, so nothing but that form passes)."""
    if isinstance(value, dict):
        encoded = value.get("$bytes")
        if isinstance(encoded, str):
            try:
                return base64.b64decode(encoded, validate=True)
            except binascii.Error:  # not base64 (binascii.Error is a ValueError, said plainly here)
                pass
    raise ValueError('not bytes ({"$bytes": base64})')


def decode_optional_bytes(value: Any) -> bytes | None:
    """None for null, else as ``decode_bytes`` (a value that may be missing: a key-value get)."""
    return None if value is None else decode_bytes(value)
