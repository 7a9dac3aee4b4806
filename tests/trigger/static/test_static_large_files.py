"""Spin's file server path for files too large to hold: served through a real `spin-py up`
in pieces, compressed as they go (br, gzip, deflate), with ETags hashed in pieces (the same
SHA-256 of the body as sent), and the host's memory not following the file's size."""

import gzip
import hashlib
import http.client
import os
import threading
import zlib
from pathlib import Path

import brotli
import pytest

RELEASE = (
    'source = { url = "https://github.com/spinframework/spin-fileserver/releases/download/v0.3.0/spin_static_fs.wasm", '
    'digest = "sha256:ef88708817e107bf49985c7cefe4dd1f199bf26f6727819183d5c996baa3d148" }\n'
)
MANIFEST = (
    'spin_manifest_version = 2\n\n[application]\nname = "big-files"\n\n'
    '[[trigger.http]]\nroute = "/..."\ncomponent = "files"\n\n'
    f'[component.files]\n{RELEASE}files = [{{ source = "static", destination = "/" }}]\n'
)
SIZE = 48 * 1024 * 1024
DECODE = {
    None: lambda data: data,
    "gzip": gzip.decompress,
    "deflate": lambda data: zlib.decompress(data, -15),
    "br": brotli.decompress,
}


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmHWM for {pid}")


@pytest.fixture(scope="module")
def content():
    # Half random, half repetitive: compression has work to do and something to gain.
    return os.urandom(SIZE // 2) + b"spin static files " * (SIZE // 2 // 18) + b"end"


def get(port, path, encoding=None, if_none_match=None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    headers = {}
    if encoding:
        headers["accept-encoding"] = encoding
    if if_none_match:
        headers["if-none-match"] = if_none_match
    try:
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def test_a_large_file_streams_in_pieces_with_its_etag_and_compression(tmp_path, spin_up, content) -> None:
    (tmp_path / "static").mkdir()
    (tmp_path / "static" / "big.bin").write_bytes(content)
    (tmp_path / "spin.toml").write_text(MANIFEST)
    server = spin_up(tmp_path / "spin.toml", "--no-watch")
    pid = server.process.pid
    assert get(server.port, "/missing")[0] == 404
    peak_before = peak_rss_mib(pid)

    for encoding in (None, "gzip", "deflate", "br"):
        status, headers, body = get(server.port, "/big.bin", encoding)
        assert status == 200, body[:200]
        assert headers.get("content-encoding") == encoding
        assert DECODE[encoding](body) == content
        assert headers["etag"] == hashlib.sha256(body).hexdigest()  # of the body as sent, as v0.3.0
        if encoding is None:
            assert headers["content-length"] == str(SIZE // 2 + (SIZE // 2 // 18) * 18 + 3)
        else:
            assert headers["transfer-encoding"] == "chunked"
        # The ETag again (from the cache), and a 304 without a body.
        status, headers_again, body = get(server.port, "/big.bin", encoding, if_none_match=headers["etag"])
        assert (status, body, headers_again["etag"]) == (304, b"", headers["etag"])

    # Four at once, as in a page with large assets: the host holds a piece or two of each.
    results = []
    threads = [threading.Thread(target=lambda e=e: results.append(get(server.port, "/big.bin", e)))
               for e in (None, "gzip", "br", None)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [status for status, _, _ in results] == [200] * 4
    assert peak_rss_mib(pid) - peak_before < 40  # the file is 48 MiB; whole, four would be 192 MiB or more

    # A changed file gets a new ETag (the cache is keyed by what changes with the contents).
    status, headers, _ = get(server.port, "/big.bin")
    (tmp_path / "static" / "big.bin").write_bytes(content[::-1])
    status, changed, body = get(server.port, "/big.bin")
    assert status == 200 and body == content[::-1] and changed["etag"] != headers["etag"]
