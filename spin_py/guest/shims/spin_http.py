"""The original Spin Python API's ``spin_http`` module (spin-python-sdk before
it was on PyPI; ``spin py2wasm``), for apps that ``from spin_http import Response``.

As there: ``headers`` is a dict of str to str (lower-case names; a request
header sent more than once arrives once, its values joined with ", "), and
``body`` is bytes (a request always has one, maybe empty) or None.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Optional


@dataclass
class Request:
    """An HTTP request"""

    method: str
    uri: str
    headers: Mapping[str, str]
    body: Optional[bytes]


@dataclass
class Response:
    """An HTTP response"""

    status: int
    headers: Mapping[str, str]
    # The old engine's pyo3 class took a trailing Option as optional: Response(404, {}) worked
    # (spin-python-sdk old-sdk: examples/KV/app.py relies on it).
    body: Optional[bytes] = None


def http_send(request: Request) -> Response:
    """Send an HTTP request and return a response or raise an error"""
    raise NotImplementedError(
        f"spin-py does not provide outbound HTTP yet: spin_http.http_send({request.method} {request.uri}) "
        "works only under Spin for now"
    )
