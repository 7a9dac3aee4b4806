"""The host's HTTP client for components' outbound requests: urllib3, one pool of
connections for the life of `spin-py up` (Spin pools connections too), with Spin's
client behaviour:

- wasi:http (spin-sdk 2-5): hyper, which follows no redirect; 600 s to connect and to
  each read (wasi.rs DEFAULT_TIMEOUT), and never past the request's own time limit (the
  instance's ``deadline``); TLS verified against the system's roots.
- fermyon:spin/http (the original API): reqwest's defaults, which follow up to 10
  redirects and have no timeout (we keep the 600 s).
- No header is added (no User-Agent, no Accept-Encoding), bodies are not decoded.
- Response bodies are bounded (MAX_BODY): the whole body crosses the worker's
  channel in one message.
"""

import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

import urllib3
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    LocationParseError,
    LocationValueError,
    MaxRetryError,
    NameResolutionError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
    SSLError,
)
from urllib3.util import SKIP_HEADER

from spin_py.capabilities.errors import CapabilityError
from spin_py.capabilities.outbound_http import errors

# Bodies each way: 32 MiB (Spin's buffered limit is 128 MiB, MAX_HOST_BUFFERED_BYTES; a body
# here crosses the worker's channel base64-encoded in one JSON frame of at most 64 MiB).
MAX_BODY = 32 * 1024 * 1024
TIMEOUT = urllib3.Timeout(connect=600.0, read=600.0)
_CHUNK = 64 * 1024


@dataclass(frozen=True)
class Destination:
    """Where a request goes, exactly as it was checked against allowed_outbound_hosts:
    the connection is made to this scheme, host and port, with this request target."""

    scheme: str  # "http" or "https"
    host: str  # a domain, an IPv4 address, or an IPv6 address in brackets
    port: int
    path_and_query: str

    def url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}{self.path_and_query}"


def timeout_for(deadline: float | None) -> urllib3.Timeout:
    """Spin's 600 s, or less when the request has less left (a host call belongs to its request).
    CapabilityError when nothing is left."""
    if deadline is None:
        return TIMEOUT
    left = deadline - time.monotonic()
    if left <= 0:
        raise CapabilityError(errors.CONNECTION_TIMEOUT, "the request's time limit was reached before the connection")
    return urllib3.Timeout(connect=min(left, _seconds(TIMEOUT.connect_timeout)), read=min(left, _seconds(TIMEOUT.read_timeout)))


def _seconds(timeout: Any) -> float:
    """One of TIMEOUT's parts, which are all set (urllib3 types them as possibly unset)."""
    return float(timeout)


class HttpClient:
    def __init__(self) -> None:
        self.pool = urllib3.PoolManager(num_pools=64, maxsize=16, timeout=TIMEOUT)

    def send(self, method: str, destination: Destination, headers: list, body: bytes | None,
             follow_redirects: bool, deadline: float | None = None) -> tuple[int, list[tuple[str, str]], bytes]:
        """(status, [(name, value)], body bytes); raises CapabilityError with a wasi:http kind.
        ``deadline`` (time.monotonic()) bounds the whole call, connection and every read."""
        sent = urllib3.HTTPHeaderDict()
        for name, value in headers:
            sent.add(name, value)
        for name in ("User-Agent", "Accept-Encoding"):
            if name not in sent:
                sent[name] = SKIP_HEADER
        try:
            timeout = timeout_for(deadline)
            # The connection is to the destination's own parts: nothing parses the URL again.
            connections = self.pool.connection_from_host(destination.host, destination.port, destination.scheme)
            options: dict[str, Any] = dict(headers=sent, retries=False, redirect=False, preload_content=False,
                           decode_content=False, assert_same_host=False, timeout=timeout)
            response = connections.urlopen(method, destination.path_and_query, body=body, **options)
            if follow_redirects:
                response = self._follow(response, method, destination.url(), body, options, deadline)
        except MaxRetryError as error:
            raise _error(error.reason or error) from None
        except (HTTPError, OSError, ValueError) as error:
            raise _error(error) from None
        return self._read(response, deadline)

    def _follow(self, response: Any, method: str, url: str, body: bytes | None, options: dict[str, Any],
                deadline: float | None) -> Any:
        """reqwest's redirect policy (the original API): up to 10, 303 turns into a GET without
        a body, and the hops go where the server says (Spin checks only the first URL)."""
        retries = urllib3.Retry(total=None, connect=0, read=0, status=0, other=0, redirect=10)
        while location := response.get_redirect_location():
            location = urljoin(url, location)
            if response.status == 303 and method != "HEAD":
                method, body = "GET", None
                options["headers"] = options["headers"]._prepare_for_method_change()
            retries = retries.increment(method, url, response=response)  # MaxRetryError after 10
            response.drain_conn()
            response.release_conn()
            options["timeout"] = timeout_for(deadline)
            response = self.pool.urlopen(method, location, body=body, **{**options, "assert_same_host": False})
            url = location
        return response

    def _read(self, response: Any, deadline: float | None) -> tuple[int, list[tuple[str, str]], bytes]:
        complete = False
        try:
            data = bytearray()
            while True:
                if deadline is not None:  # each read waits at most what the request has left
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise CapabilityError(errors.CONNECTION_READ_TIMEOUT, "the request's time limit was reached "
                                              "while the response body was read")
                    sock = getattr(getattr(response, "connection", None), "sock", None)
                    if sock is not None:
                        sock.settimeout(min(left, _seconds(TIMEOUT.read_timeout)))
                chunk = response.read(_CHUNK, decode_content=False)
                if not chunk:
                    break
                data += chunk
                if len(data) > MAX_BODY:
                    raise CapabilityError(
                        errors.HTTP_RESPONSE_BODY_SIZE, f"the response body is over spin-py's {MAX_BODY}-byte limit"
                    )
            pairs = [(name.lower(), value) for name, value in response.headers.iteritems()]
            complete = True
            return response.status, pairs, bytes(data)
        except (HTTPError, OSError) as error:
            raise _error(error) from None
        finally:
            if complete:
                response.release_conn()  # back to the pool for the next request
            else:
                response.close()

    def close(self) -> None:
        self.pool.clear()


def _error(error: BaseException) -> CapabilityError:
    text = str(error)
    if isinstance(error, NameResolutionError):
        return CapabilityError(errors.DNS_ERROR, text)
    if isinstance(error, NewConnectionError):
        return CapabilityError(errors.CONNECTION_REFUSED, text)
    if isinstance(error, ConnectTimeoutError):
        return CapabilityError(errors.CONNECTION_TIMEOUT, text)
    if isinstance(error, ReadTimeoutError):
        return CapabilityError(errors.CONNECTION_READ_TIMEOUT, text)
    if isinstance(error, SSLError):
        return CapabilityError(errors.TLS_PROTOCOL_ERROR, text)
    if isinstance(error, (LocationParseError, LocationValueError, ValueError)):
        return CapabilityError(errors.HTTP_REQUEST_URI_INVALID, text)
    if isinstance(error, ProtocolError):
        return CapabilityError(errors.HTTP_PROTOCOL_ERROR, text)
    if isinstance(error, MaxRetryError):  # too many redirects
        return CapabilityError(errors.HTTP_PROTOCOL_ERROR, text)
    return CapabilityError(errors.INTERNAL_ERROR, text)
