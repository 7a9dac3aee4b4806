"""The original Spin Python API's `spin_key_value` module (spin-python-sdk's
old-sdk branch, spin_sdk/spin_key_value.py): ``kv_open``, ``kv_open_default``
and ``Store``, over Spin's unversioned key-value interface.

As its engine did (crates/spin-python-engine/src/lib.rs), a failure raises
AssertionError whose text is the Rust SDK error's Debug form
(``Error::AccessDenied``, ``Error::Io("...")``), and ``get`` of a missing key
returns None.
"""

from collections.abc import Sequence
from typing import Any

from spin_py_guest import host
from spin_py_guest.bindings.key_value import Trap, call, decode, encode
from spin_py_wire.rust_text import rust_debug

_VARIANTS = {"AccessDenied", "NoSuchStore", "StoreTableFull", "InvalidStore", "NoSuchKey"}


def _run(function, **args) -> Any:
    try:
        return call(function, **args)
    except host.HostError as error:
        if error.kind == "InvalidStore":
            raise Trap(error.message) from None
        if error.kind in _VARIANTS:
            raise AssertionError(f"Error::{error.kind}") from None
        # Spin's to_legacy_error: Other(text) is Io(text) to the unversioned interface.
        raise AssertionError(f"Error::Io({rust_debug(error.message or error.kind)})") from None


def _bytes(value) -> Any:
    if not isinstance(value, (bytes, bytearray)):
        raise TypeError(f"argument 'value': '{type(value).__name__}' object cannot be converted to 'PyBytes'")
    return encode(value)


class Store:
    """Represents an open key-value store"""

    def __init__(self, handle) -> None:
        self._handle = handle

    def get(self, key: str) -> bytes | None:
        """Get the value associated with the specified `key` from the specified `store`,
        or `None` if no such value exists.

        """
        return decode(_run("get", store=self._handle, key=str(key)))

    def set(self, key: str, value: bytes) -> None:
        """Set the `value` associated with the specified `key` in the specified `store`,
        overwriting any existing value.

        """
        _run("set", store=self._handle, key=str(key), value=_bytes(value))

    def delete(self, key: str) -> None:
        """Delete the tuple with the specified `key` from the specified `store`, if it
        exists.

        """
        _run("delete", store=self._handle, key=str(key))

    def exists(self, key: str) -> bool:
        """Return whether a tuple exists for the specified `key` in the specified
        `store`.

        """
        return _run("exists", store=self._handle, key=str(key))

    def get_keys(self) -> Sequence[str]:
        """Return a list of all the keys in the specified `store`."""
        return _run("get_keys", store=self._handle)


def kv_open(name: str) -> Store:
    """Open the store with the specified name.

    If `name` is "default", the default store is opened.  Otherwise, `name` must
    refer to a store defined and configured in a runtime configuration file
    supplied with the application.

    An `AssertionError` will be raised if the `name` is not recognized or the
    requesting component does not have access to the specified store.

    """
    return Store(_run("open", label=str(name)))


def kv_open_default() -> Store:
    """Open the default store.

    An `AssertionError` will be raised if the requesting component does not have
    access to the specified store.

    """
    return kv_open("default")
