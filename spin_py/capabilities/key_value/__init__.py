"""Spin's key-value stores in the host (crates/factor-key-value).

configure(): each component may open the labels in its `key_value_stores`;
every label must be a configured store (Spin's text otherwise), and the
`default` store lives in `<state dir>/sqlite_key_value.db`. Store backends
(stores.py) outlive manifest edits, so data and open files stay put across
reloads. `--key-value` pairs are written to `default` here, as Spin's
InitialKvSetterHook does in its configure step.

The host calls, as they cross the channel (bytes as seam.encode_bytes):

  ``open``         ``{"label"}`` -> store handle (this request's; closed when it ends)
  ``get``          ``{"store", "key"}`` -> bytes | None
  ``set``          ``{"store", "key", "value"}``
  ``delete`` / ``exists``   ``{"store", "key"}`` -> None / bool
  ``get_keys``     ``{"store"}`` -> [str]
  ``close``        ``{"store"}`` (no effect on a handle that is not open, as in Spin)
  ``get_many``     ``{"store", "keys"}`` -> [[key, bytes], ...] for the keys that exist
  ``set_many``     ``{"store", "pairs": [[key, bytes], ...]}``
  ``delete_many``  ``{"store", "keys"}``
  ``increment``    ``{"store", "key", "delta"}`` -> int
  ``cas_new``      ``{"store", "key"}`` -> cas handle;  ``cas_current`` ``{"cas"}`` -> bytes | None
  ``cas_swap``     ``{"cas", "value"}``: CasFailed(new cas handle, its `current` read) when the value moved
  ``cas_close``    ``{"cas"}``

Errors are CapabilityError with the kinds in errors.py, checked as
crates/factor-key-value/src/host.rs checks them: AccessDenied before anything
else, a handle this request did not open is InvalidStore. A store keeps to its
request's limits: a call still waiting when the time limit passes, the client
leaves or the turn ends fails with Other(the reason) (sqlite_store.py, redis_store.py).
"""

import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any, ClassVar

from spin_py.capabilities.errors import CapabilityError
from spin_py.capabilities.key_value.errors import (
    ACCESS_DENIED,
    CAS_FAILED,
    INVALID_STORE,
    INVALID_STORE_TEXT,
    NO_SUCH_STORE,
    OTHER,
)
from spin_py.capabilities.key_value.seed import KEY_VALUE_FLAG
from spin_py.capabilities.key_value.stores import DEFAULT_LABEL, StoreConfigError, StoreManager, make_manager, wanted_stores
from spin_py.capabilities.seam import (
    AppContext,
    Args,
    ConfigureError,
    Flag,
    HostContext,
    HostFunction,
    HostFunctions,
    Instance,
    UnknownHandle,
    decode_bytes,
    encode_bytes,
    text_arg,
    texts_arg,
)
from spin_py.capabilities.sizes import MAX_HOST_BUFFERED_BYTES
from spin_py.wire.rust_text import rust_debug

NAME = "key_value"
STORE = "key_value.store"
CAS = "key_value.cas"
MAX_RESULT_BYTES = MAX_HOST_BUFFERED_BYTES
_RUST_SIZE = 24  # size_of a Rust Vec/String/Option<Vec>: Spin counts it in its result limit


def _too_big() -> CapabilityError:
    # crates/key-value-spin/src/store.rs
    return CapabilityError(OTHER, f"query result exceeds limit of {MAX_RESULT_BYTES} bytes")


class KeyValueCapability:
    """Key-value for one `spin-py up`: the store backends, kept across manifest edits."""

    name: ClassVar[str] = NAME
    host_fields: ClassVar[tuple[str, ...]] = ("key_value_stores",)
    flags: ClassVar[tuple[Flag, ...]] = (KEY_VALUE_FLAG,)

    def __init__(self, host: HostContext) -> None:
        self.host = host
        self._lock = threading.Lock()
        self._managers: dict[tuple, StoreManager] = {}  # (type, file or url, label for in-memory ones) -> manager

    def configure(self, context: AppContext) -> "KeyValueApp":
        app, runtime_config, state_dir = context.app, context.runtime_config, context.state_dir
        try:
            wanted = wanted_stores(runtime_config, state_dir)
            managers = {label: self._manager(kind, setting, label) for label, (kind, setting) in wanted.items()}
        except StoreConfigError as error:
            raise runtime_config.error(error.key, error.message) from None
        allowed = {}
        for component in app.components.values():
            for label in component.key_value_stores:
                if label not in managers:
                    # crates/factor-key-value/src/lib.rs configure_app
                    raise ConfigureError(
                        f"unknown key_value_stores label {rust_debug(label)} for component {rust_debug(component.id)}"
                    )
            allowed[component.id] = frozenset(component.key_value_stores)
        configured = KeyValueApp(allowed, managers)
        configured.seed(self.host.flag("key_values"))
        return configured

    def _manager(self, kind: str, setting: Path | str | None, label: str) -> StoreManager:
        key = (kind, setting, label if setting is None else None)
        with self._lock:
            if key not in self._managers:
                self._managers[key] = make_manager(kind, setting, label)
            return self._managers[key]

    def close(self) -> None:
        with self._lock:
            managers, self._managers = list(self._managers.values()), {}
        for manager in managers:
            manager.close()


class KeyValueApp(HostFunctions):
    """The stores and permissions of one loaded manifest."""

    def __init__(self, allowed: dict[str, frozenset[str]], managers: dict[str, StoreManager]) -> None:
        self.allowed = allowed  # component id -> frozenset of labels
        self.managers = managers  # label -> store manager

    def seed(self, pairs: Iterable[tuple[str, str]]) -> None:
        store = self.managers[DEFAULT_LABEL].store(DEFAULT_LABEL)
        for key, value in pairs:
            try:
                store.set(key, value.encode("utf-8"))
            except CapabilityError as error:
                # crates/trigger/src/cli/initial_kv_setter.rs
                raise ConfigureError(f"failed to set key-value pair: {error.message}") from None

    def startup_lines(self) -> list[str]:
        # crates/trigger/src/cli/summary.rs: said only when a component uses the default store.
        if any(DEFAULT_LABEL in labels for labels in self.allowed.values()):
            return [f"Storing default key-value data to {self.managers[DEFAULT_LABEL].summary()}."]
        return []

    def close(self) -> None:
        pass  # the backends belong to KeyValueCapability and outlive this manifest

    def unknown_function(self, function: str) -> CapabilityError:
        return CapabilityError(OTHER, f"key-value has no host function '{function}'")

    # -- the host functions ------------------------------------------------

    def _open(self, instance: Instance, args: Args) -> Any:
        label = text_arg(args, "label")
        if label not in self.allowed.get(instance.component_id, ()):
            raise CapabilityError(ACCESS_DENIED)
        manager = self.managers.get(label)
        if manager is None:
            raise CapabilityError(NO_SUCH_STORE)
        return instance.add(STORE, manager.store(label, instance))

    def _get(self, instance: Instance, args: Args) -> Any:
        value = _store(instance, args).get(text_arg(args, "key"))
        if value is None:
            return None
        if _RUST_SIZE + len(value) > MAX_RESULT_BYTES:
            raise _too_big()
        return encode_bytes(value)

    def _set(self, instance: Instance, args: Args) -> Any:
        _store(instance, args).set(text_arg(args, "key"), decode_bytes(args.get("value")))

    def _delete(self, instance: Instance, args: Args) -> Any:
        _store(instance, args).delete(text_arg(args, "key"))

    def _exists(self, instance: Instance, args: Args) -> Any:
        return _store(instance, args).exists(text_arg(args, "key"))

    def _get_keys(self, instance: Instance, args: Args) -> Any:
        keys = _store(instance, args).get_keys()
        if _RUST_SIZE + sum(_RUST_SIZE + len(key.encode()) for key in keys) > MAX_RESULT_BYTES:
            raise _too_big()
        return keys

    def _close(self, instance: Instance, args: Args) -> Any:
        try:
            instance.remove(STORE, args.get("store"))
        except UnknownHandle:
            pass  # "This has no effect if `store` is not a valid handle to an open store."

    def _get_many(self, instance: Instance, args: Args) -> Any:
        store = _store(instance, args)
        keys = texts_arg(args, "keys")
        found = store.get_many(keys) if keys else []
        if _RUST_SIZE + sum(2 * _RUST_SIZE + len(k.encode()) + len(v) for k, v in found) > MAX_RESULT_BYTES:
            raise _too_big()
        return [[key, encode_bytes(value)] for key, value in found]

    def _set_many(self, instance: Instance, args: Args) -> Any:
        store = _store(instance, args)
        pairs = args.get("pairs")
        if not isinstance(pairs, list) or not all(isinstance(p, list) and len(p) == 2 and isinstance(p[0], str) for p in pairs):
            raise CapabilityError(OTHER, "the pairs must be a list of [key, value]")
        if pairs:
            store.set_many([(key, decode_bytes(value)) for key, value in pairs])

    def _delete_many(self, instance: Instance, args: Args) -> Any:
        store = _store(instance, args)
        keys = texts_arg(args, "keys")
        if keys:
            store.delete_many(keys)

    def _increment(self, instance: Instance, args: Args) -> Any:
        store = _store(instance, args)
        delta = args.get("delta")
        if not isinstance(delta, int) or isinstance(delta, bool) or not -(2**63) <= delta < 2**63:
            raise CapabilityError(OTHER, "the delta must be a 64-bit integer")
        return store.increment(text_arg(args, "key"), delta)

    def _cas_new(self, instance: Instance, args: Args) -> Any:
        store = _store(instance, args)
        return instance.add(CAS, store.compare_and_swap(text_arg(args, "key")))

    def _cas_current(self, instance: Instance, args: Args) -> Any:
        value = _cas(instance, args).current()
        return None if value is None else encode_bytes(value)

    def _cas_swap(self, instance: Instance, args: Args) -> Any:
        cas = _cas(instance, args)
        value = decode_bytes(args.get("value"))
        instance.remove(CAS, args.get("cas"))  # swap consumes the handle (wasi:keyvalue/atomics)
        if cas.swap(value):
            return None
        # As Spin does: a fresh CAS on the same key, its `current` already read, goes back with the error.
        fresh = cas.renew()
        fresh.current()
        raise CapabilityError(CAS_FAILED, str(instance.add(CAS, fresh)))

    def _cas_close(self, instance: Instance, args: Args) -> Any:
        try:
            instance.remove(CAS, args.get("cas"))
        except UnknownHandle:
            pass

    functions: ClassVar[dict[str, HostFunction]] = {
        "open": _open,
        "get": _get,
        "set": _set,
        "delete": _delete,
        "exists": _exists,
        "get_keys": _get_keys,
        "close": _close,
        "get_many": _get_many,
        "set_many": _set_many,
        "delete_many": _delete_many,
        "increment": _increment,
        "cas_new": _cas_new,
        "cas_current": _cas_current,
        "cas_swap": _cas_swap,
        "cas_close": _cas_close,
    }



def _store(instance: Instance, args: Args) -> Any:
    try:
        return instance.get(STORE, args.get("store"))
    except UnknownHandle:
        raise CapabilityError(INVALID_STORE, INVALID_STORE_TEXT) from None


def _cas(instance: Instance, args: Args) -> Any:
    try:
        return instance.get(CAS, args.get("cas"))
    except UnknownHandle:
        # crates/factor-key-value/src/host.rs get_cas: "invalid compare and swap"
        raise CapabilityError(OTHER, "invalid compare and swap") from None
