"""The host's HTTP client for components' outbound requests: urllib3, one pool of
connections for the life of `spin-py up` (Spin pools connections too), with Spin's
client behaviour:

- wasi:http (spin-sdk 2-5): hyper, which follows no redirect; 600 s to connect and to
  each read (wasi.rs DEFAULT_TIMEOUT); TLS verified against the system's roots.
- fermyon:spin/http (the original API): reqwest's defaults, which follow up to 10
  redirects and have no timeout (we keep the 600 s).
- No header is added (no User-Agent, no Accept-Encoding), bodies are not decoded.
- Response bodies are bounded (MAX_BODY): the whole body crosses the worker's
  channel in one message.
"""

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


class HttpClient:
    def __init__(self):
        self.pool = urllib3.PoolManager(num_pools=64, maxsize=16, timeout=TIMEOUT)

    def send(self, method: str, url: str, headers: list, body: bytes | None, follow_redirects: bool):
        """(status, [(name, value)], body bytes); raises CapabilityError with a wasi:http kind."""
        sent = urllib3.HTTPHeaderDict()
        for name, value in headers:
            sent.add(name, value)
        for name in ("User-Agent", "Accept-Encoding"):
            if name not in sent:
                sent[name] = SKIP_HEADER
        retries = urllib3.Retry(total=None, connect=0, read=0, status=0, other=0, redirect=10) if follow_redirects else False
        try:
            response = self.pool.request(
                method, url, body=body, headers=sent, retries=retries, redirect=follow_redirects,
                preload_content=False, decode_content=False,
            )
        except MaxRetryError as error:
            raise _error(error.reason or error) from None
        except (HTTPError, OSError, ValueError) as error:
            raise _error(error) from None
        complete = False
        try:
            data = bytearray()
            while True:
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


def _error(error) -> CapabilityError:
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
