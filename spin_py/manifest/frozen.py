"""Immutable, hashable containers for the loaded model, so equal manifests give equal objects."""

from typing import Any, NoReturn


class FrozenDict(dict):
    """A dict that cannot change after construction and therefore can be hashed.

    Being a real dict keeps it JSON-serializable and comparable with plain dicts.
    """

    __slots__ = ("_hash",)
    _hash: int

    def _refuse(self, *args, **kwargs) -> NoReturn:
        raise TypeError("FrozenDict cannot be modified")

    __setitem__ = __delitem__ = _refuse
    clear = pop = popitem = setdefault = update = _refuse
    __ior__ = _refuse

    def __hash__(self) -> int:  # type: ignore[override]  # dict is unhashable; a frozen one is not
        try:
            return self._hash
        except AttributeError:
            self._hash = hash(frozenset(self.items()))
            return self._hash

    def __reduce__(self) -> tuple:
        # dict's default pickling calls __setitem__, which is refused.
        return (FrozenDict, (dict(self),))

    def __copy__(self) -> "FrozenDict":
        return self

    def __deepcopy__(self, memo) -> "FrozenDict":
        return self

    def __repr__(self) -> str:
        return f"FrozenDict({dict.__repr__(self)})"


EMPTY = FrozenDict()


def freeze(value) -> Any:
    """Deep-convert TOML data (dicts, lists) into FrozenDicts and tuples."""
    if isinstance(value, dict):
        return FrozenDict({key: freeze(item) for key, item in value.items()})
    if isinstance(value, (list, tuple)):
        return tuple(freeze(item) for item in value)
    return value
