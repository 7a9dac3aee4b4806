"""The error kinds of the key-value host calls: Spin's variants
(wit/deps/spin@2.0.0/key-value.wit `error`), raised as CapabilityError(kind, message).
Each guest binding maps them to its SDK generation's own variant."""

ACCESS_DENIED = "AccessDenied"  # the label is not in the component's key_value_stores
NO_SUCH_STORE = "NoSuchStore"  # no store is configured under that label
STORE_TABLE_FULL = "StoreTableFull"
OTHER = "Other"  # backend failures (I/O, Redis), with their text

# A handle that this request never opened, or has closed (say, one kept in a module
# global from an earlier request). Spin has no variant for it: spin:key-value@3.0.0
# and wasi:keyvalue answer NoSuchStore, fermyon:spin@2.0.0 and the unversioned
# interface trap with "invalid store" (crates/factor-key-value/src/host.rs get_store).
INVALID_STORE = "InvalidStore"
INVALID_STORE_TEXT = "invalid store"

# wasi:keyvalue/atomics: the value changed between `current` and `swap`.
CAS_FAILED = "CasFailed"
