"""Outbound HTTP's error kinds: for spin-sdk 2-5's ``send`` the wasi:http ``error-code``
variants Spin's host returns (crates/factor-outbound-http/src/wasi.rs), for the
original API and fermyon:spin/http the ``http-error`` enum (crates/factor-outbound-http/src/spin.rs).
Each guest binding turns a kind into its SDK's own error."""

# wasi:http error-code
HTTP_REQUEST_DENIED = "HttpRequestDenied"
HTTP_REQUEST_URI_INVALID = "HttpRequestUriInvalid"
HTTP_REQUEST_BODY_SIZE = "HttpRequestBodySize"
HTTP_RESPONSE_BODY_SIZE = "HttpResponseBodySize"
HTTP_PROTOCOL_ERROR = "HttpProtocolError"
CONNECTION_REFUSED = "ConnectionRefused"
CONNECTION_TIMEOUT = "ConnectionTimeout"
CONNECTION_READ_TIMEOUT = "ConnectionReadTimeout"
DNS_ERROR = "DnsError"
TLS_PROTOCOL_ERROR = "TlsProtocolError"
INTERNAL_ERROR = "InternalError"

# fermyon:spin/http http-error
DESTINATION_NOT_ALLOWED = "DestinationNotAllowed"
INVALID_URL = "InvalidUrl"
RUNTIME_ERROR = "RuntimeError"


def spin_kind(wasi_kind: str) -> str:
    """The http-error the original API reports where wasi:http reports ``wasi_kind``
    (spin.rs: a refused destination, an unparsable URL, and reqwest's errors all RuntimeError)."""
    if wasi_kind == HTTP_REQUEST_DENIED:
        return DESTINATION_NOT_ALLOWED
    if wasi_kind == HTTP_REQUEST_URI_INVALID:
        return INVALID_URL
    return RUNTIME_ERROR
