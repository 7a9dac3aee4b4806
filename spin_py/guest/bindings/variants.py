"""How the SDK's generated modules spell a WIT variant case: ``Error_Other``
from spin-sdk 3 on, ``ErrorOther`` in spin-sdk 2.0."""

from typing import Any


def variant(module, name, *payload, prefix="Error") -> Any:
    """An instance of ``<prefix>_<name>`` (or ``<prefix><name>``) of ``module``."""
    cls = getattr(module, f"{prefix}_{name}", None) or getattr(module, f"{prefix}{name}")
    return cls(*payload)
