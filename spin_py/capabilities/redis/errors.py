"""The error kinds of the outbound Redis host calls: Spin's variants
(spin:redis/redis@3.0.0 and fermyon:spin/redis@2.0.0 `error`), raised as
CapabilityError(kind, message). Each guest binding maps them to its SDK
generation's own variant; the unversioned interface and the original
spin_redis API know only one error."""

INVALID_ADDRESS = "InvalidAddress"  # not allowed by allowed_outbound_hosts, or not a Redis URL
TOO_MANY_CONNECTIONS = "TooManyConnections"
TYPE_ERROR = "TypeError"
OTHER = "Other"  # the server's or the connection's error, with its text

# crates/factor-outbound-redis/src/host.rs get_conn: a handle this request did not open.
NO_CONNECTION_TEXT = "could not find connection for resource"
