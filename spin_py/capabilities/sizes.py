"""The one size limit Spin puts on what the host buffers for a guest, here for every
capability and the model process to share. crates/world/src/lib.rs:

    /// Maximum allowed size of a host-buffered database query result, HTTP request
    /// or response body, or similar.
    pub const MAX_HOST_BUFFERED_BYTES: usize = 128 << 20;
"""

MAX_HOST_BUFFERED_BYTES = 128 << 20
