"""Raw HTTP over loopback for the trigger tests: bytes in, bytes out, so a test
sees exactly what reaches the wire (http.client would hide or refuse some of it)."""

import socket
import time
from pathlib import Path


def exchange(port, data, *, half_close=False, timeout=20):
    """Send ``data``, optionally shut our sending side, and read until the server closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        chunks = []
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks)


def parse(response):
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


def header(headers, name):
    values = [value for key, value in headers if key == name]
    assert len(values) <= 1, headers
    return values[0] if values else None


def post_chunked(path, chunks):
    return (
        f"POST {path} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n".encode() + b"".join(chunks)
    )


def host_rss_mib(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def wait_for(predicate, timeout=30):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True
