"""Components the host serves itself (spin-fileserver, spin-kv-explorer) are recognised by
their release: an asset URL of the project's GitHub releases, or a known release's digest."""

import re
from collections.abc import Mapping
from typing import Any

_VERSION = re.compile(r"v?(\d+)\.(\d+)\.(\d+)")


def url_release(source: Mapping[str, Any], url: re.Pattern[str], digests: Mapping[str, str]) -> tuple[bool, str | None]:
    """For a ``{ url, digest }`` source: whether it is one of the releases (its URL matches
    ``url``, or its digest is one of ``digests``), and the release's tag where the URL (group
    ``tag``; ``latest/download`` has none) or the digest tells."""
    found = url.fullmatch(str(source["url"]))
    tag = digests.get(str(source.get("digest", "")).lower())
    if found is None and tag is None:
        return False, None
    return True, (found.group("tag") if found else None) or tag


def release_version(tag: str | None) -> tuple[int, ...] | None:
    """``v0.3.0`` as ``(0, 3, 0)``; None for no tag or one that is not a version."""
    version = _VERSION.fullmatch(tag) if tag else None
    return tuple(int(part) for part in version.groups()) if version else None
