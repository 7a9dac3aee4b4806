"""Local HTTP and HTTPS origins for the outbound HTTP tests."""

from http_origins import origin, tls_origin  # noqa: F401 (fixtures)
