"""Raw HTTP over loopback for the trigger tests: bytes in, bytes out, so a test
sees exactly what reaches the wire (http.client would hide or refuse some of it)."""

import socket
import time
from collections.abc import Callable
from pathlib import Path


def exchange(port: int, data: bytes, *, half_close: bool = False, timeout: float = 20) -> bytes:
    """Send ``data``, optionally shut our sending side, and read until the server closes, or
    until one whole response has come on a connection the server keeps open."""
    head_only = data.startswith(b"HEAD ")
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        received = bytearray()
        while response_end(received, head_only) is None:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            received += chunk
    return bytes(received)


def response_end(received: bytes | bytearray, head_only: bool = False) -> int | None:
    """Where the first final response in ``received`` ends, when it is whole and its connection
    stays open (no ``connection: close``); else None (read on, to the server's close)."""
    head_start = 0
    while True:
        head_end = received.find(b"\r\n\r\n", head_start)
        if head_end < 0:
            return None
        head = received[head_start:head_end].split(b"\r\n")
        status = int(head[0].split(b" ")[1])
        if 100 <= status < 200:  # 100 Continue: the final response follows
            head_start = head_end + 4
            continue
        break
    fields = [line.partition(b":") for line in head[1:]]
    headers = {bytes(name.strip().lower()): bytes(value.strip().lower()) for name, _, value in fields}
    if b"close" in headers.get(b"connection", b""):
        return None
    start = head_end + 4
    if head_only or status in (204, 304):
        return start
    if b"content-length" in headers:
        end = start + int(headers[b"content-length"])
        return end if len(received) >= end else None
    if headers.get(b"transfer-encoding") == b"chunked":
        at = start
        while True:
            line_end = received.find(b"\r\n", at)
            if line_end < 0:
                return None
            size = int(received[at:line_end].split(b";")[0], 16)
            if size == 0:
                end = received.find(b"\r\n\r\n", line_end)  # after any trailers
                return end + 4 if end >= 0 else None
            at = line_end + 2 + size + 2
            if at > len(received):
                return None
    return None


def parse(response: bytes) -> tuple[int, list[tuple[str, bytes]], bytes]:
    """``(status, [(lower name, value bytes), ...], body)`` of one raw HTTP/1.1 response."""
    assert response, "the server closed the connection without an answer"
    head, _, body = response.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ")[1])
    headers = []
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        headers.append((name.decode("latin-1").lower(), value.strip()))
    return status, headers, body


def header(headers: list[tuple[str, bytes]], name: str) -> bytes | None:
    values = [value for key, value in headers if key == name]
    assert len(values) <= 1, headers
    return values[0] if values else None


def post_chunked(path: str, chunks: list[bytes]) -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n".encode() + b"".join(chunks)
    )


def host_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def wait_for(predicate: Callable[[], object], timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True
