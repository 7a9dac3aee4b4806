"""Spin's static file server (spinframework/spin-fileserver, src/lib.rs), answered by the host
itself: a component whose source is a spin-fileserver release needs no worker.

What it does, as release v0.3.0 does it (the one Spin's `static-fileserver` template uses):
- the path is ``spin-path-info`` (not percent-decoded), looked up in the component's ``files``
  as the guest sees them (spin_py/manifest/file_mounts.py), relative paths from ``/``; for an
  exact route with no path info, the request path itself (v0.3.0's "accept file routes");
- a folder, or the empty path, serves its ``index.html``; a missing ``favicon.ico`` /
  ``favicon.png`` gets a built-in icon; else ``FALLBACK_PATH``, then ``CUSTOM_404_PATH``
  (the component's ``environment``); else 404 with the body ``Not Found`` and no headers;
- headers: ``cache-control`` (``CACHE_CONTROL``, default ``max-age=60``), ``etag`` (the SHA-256
  hex of the body as sent, unquoted), ``content-encoding``, ``content-type`` guessed from the
  *requested* path's extension (so ``/`` and fallbacks have none, as in v0.3.0);
- ``if-none-match`` equal to the etag: 304 with the same headers and no body;
- compression on the fly from the first ``accept-encoding`` header naming one it knows, preferring
  br (quality 3, a 2^20-byte window), then deflate (raw deflate, as flate2's DeflateEncoder writes
  it), then gzip, level 1;
- every method is answered alike (the file server never looks at it; HEAD loses the body on the
  wire); a file it cannot read is 500 ``Internal Server Error``.

Not reproduced: the compressed bytes themselves (Google's brotli, zlib and gzip here, the Rust
crates there: the same formats and levels, not always the same bytes, so the ETag of a compressed
body can differ from Spin's); Spin's own favicon images (a plain built-in icon is served
instead); releases before v0.2.0 hashed the ETag differently.
"""

import gzip
import hashlib
import os
import struct
import threading
import zlib
from collections.abc import Iterator, Sequence
from typing import IO, Any

import brotli

from spin_py.host.output import ComponentOutput
from spin_py.host.runtime import AppRuntime
from spin_py.manifest.errors import ManifestError, format_key
from spin_py.manifest.file_mounts import DIR, FileMounts, MountError
from spin_py.manifest.model import App, Component
from spin_py.manifest.python_source import FileServerRelease
from spin_py.trigger.headers import HeaderEncodingError, client_headers
from spin_py.trigger.responses import MAX_RESPONSE_BODY

CACHE_CONTROL_DEFAULT = "max-age=60"
INDEX = "index.html"
NOT_FOUND = b"Not Found"
INTERNAL_ERROR = b"Internal Server Error"


def _png(size: int = 16, rgba: tuple[int, int, int, int] = (52, 101, 164, 255)) -> bytes:
    """A plain one-colour PNG: the built-in favicon."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + bytes(rgba) * size for _ in range(size))
    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def _ico(png: bytes, size: int = 16) -> bytes:
    """An ICO file holding one PNG image (valid since Windows Vista, and in every browser)."""
    return struct.pack("<HHH", 0, 1, 1) + struct.pack("<BBBBHHII", size, size, 0, 0, 1, 32, len(png), 22) + png


_FAVICON_PNG = _png()
FAVICONS = {"favicon.png": _FAVICON_PNG, "favicon.ico": _ico(_FAVICON_PNG)}

# mime_guess 2.0.4 (what spin-fileserver v0.3.0 locks) for the extensions a web UI serves;
# any other extension goes to Python's built-in table (no /etc/mime.types: the same on every machine).
_MIME = {
    "html": "text/html", "htm": "text/html", "css": "text/css", "js": "application/javascript",
    "mjs": "application/javascript", "jsx": "text/jscript", "json": "application/json",
    "map": "text/plain", "txt": "text/plain", "md": "text/markdown", "csv": "text/csv",
    "xml": "text/xml", "xhtml": "application/xhtml+xml", "svg": "image/svg+xml", "svgz": "image/svg+xml",
    "png": "image/png", "apng": "image/apng", "jpg": "image/jpeg", "jpeg": "image/jpeg",
    "gif": "image/gif", "webp": "image/webp", "avif": "image/avif", "ico": "image/x-icon",
    "bmp": "image/bmp", "tif": "image/tiff", "tiff": "image/tiff", "wasm": "application/wasm",
    "woff": "application/font-woff", "woff2": "font/woff2", "ttf": "font/ttf",
    "otf": "application/font-sfnt", "eot": "application/vnd.ms-fontobject", "pdf": "application/pdf",
    "zip": "application/zip", "gz": "application/gzip", "mp3": "audio/mpeg", "wav": "audio/wav",
    "ogg": "audio/ogg", "mp4": "video/mp4", "webm": "video/webm", "vtt": "text/vtt",
    "webmanifest": "application/manifest+json", "manifest": "application/x-ms-manifest",
    "appcache": "text/cache-manifest", "jsonld": "application/ld+json", "rss": "application/rss+xml",
    "atom": "application/atom+xml", "yaml": "text/x-yaml", "yml": "text/x-yaml", "toml": "text/x-toml",
    "ts": "video/vnd.dlna.mpeg-tts",
}  # fmt: skip
_python_types = None


def _extension(path: str) -> str | None:
    """Rust's Path::extension: after the last dot of the last component, none for ``.name``."""
    name = next((part for part in reversed(path.split("/")) if part not in ("", ".")), "")
    if name == ".." or "." not in name.lstrip("."):
        return None
    before, _, after = name.rpartition(".")
    return after if before else None


def content_type(path: str) -> str | None:
    """mime_guess::from_path(path).first(), for the requested path."""
    global _python_types
    extension = _extension(path)
    if extension is None:
        return None
    lowered = extension.lower()
    if lowered in _MIME:
        return _MIME[lowered]
    if _python_types is None:
        import mimetypes

        table = mimetypes.MimeTypes()
        _python_types = {**table.types_map[False], **table.types_map[True]}
    return _python_types.get("." + lowered)


# --- compression: ContentEncoding::best_encoding and resolve_and_read in v0.3.0 -------------------

def _deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(1, zlib.DEFLATED, -15)  # flate2::Compression::fast(), no zlib header
    return compressor.compress(data) + compressor.flush()


ENCODERS = {
    "br": lambda data: brotli.compress(data, quality=3, lgwin=20),  # BROTLI_LEVEL, CompressorReader's lgwin
    "deflate": _deflate,
    "gzip": lambda data: gzip.compress(data, compresslevel=1, mtime=0),
}


class _Zlib:
    """zlib's own streaming compressor: ``wbits`` -15 is raw deflate, 31 gzip (mtime 0, as
    gzip.compress(data, 1, mtime=0) writes it)."""

    def __init__(self, wbits: int) -> None:
        self._deflate = zlib.compressobj(1, zlib.DEFLATED, wbits)

    def process(self, data: bytes) -> bytes:
        return self._deflate.compress(data)

    def finish(self) -> bytes:
        return self._deflate.flush()


# The same encoders for a file too large to hold: ``process`` each piece, then ``finish``.
STREAM_ENCODERS = {
    "br": lambda: brotli.Compressor(quality=3, lgwin=20),
    "deflate": lambda: _Zlib(-15),
    "gzip": lambda: _Zlib(31),
}
# A file larger than this is never held whole: its ETag is hashed, and its body (compressed or
# not) sent, piece by piece.
WHOLE_UP_TO = 1024 * 1024
PIECE = 1024 * 1024


def _pieces(file: IO[bytes], encoding: str | None) -> Iterator[bytes]:
    """The body as sent (compressed when ``encoding``), in pieces, from ``file``'s start."""
    file.seek(0)
    encoder = STREAM_ENCODERS[encoding]() if encoding is not None else None
    while data := file.read(PIECE):
        if encoder is None:
            yield data
        elif out := encoder.process(data):
            yield out
    if encoder is not None and (out := encoder.finish()):
        yield out


class _ETags:
    """ETags of large files, by what identifies a file's contents cheaply (device, inode, size,
    modification time) and the encoding: hashing a large file, compressed, costs a pass over it."""

    MOST = 256

    def __init__(self) -> None:
        self._known: dict[tuple[Any, ...], str] = {}
        self._lock = threading.Lock()

    def get(self, file: IO[bytes], encoding: str | None) -> str:
        stat = os.fstat(file.fileno())
        key = (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, encoding)
        with self._lock:
            if key in self._known:
                return self._known[key]
        digest = hashlib.sha256()
        for piece in _pieces(file, encoding):
            digest.update(piece)
        etag = digest.hexdigest()
        with self._lock:
            if len(self._known) >= self.MOST:
                self._known.pop(next(iter(self._known)))
            self._known[key] = etag
        return etag
# v0.3.0's order of preference.
_PREFERENCE = ("br", "deflate", "gzip")


def best_encoding(headers: Sequence[Sequence[str]], known: Sequence[str] = _PREFERENCE) -> str | None:
    """The first accept-encoding header that names an encoding it can send decides; within it,
    br before deflate before gzip, each compared whole (``gzip;q=0.5`` names nothing)."""
    for name, value in headers:
        if name != "accept-encoding":
            continue
        offered = {token.strip().lower() for token in value.split(",")}
        for encoding in known:
            if encoding in offered and encoding in ENCODERS:
                return encoding
    return None


class StaticFiles:
    """One file-server component: ``respond`` answers a request routed to it."""

    def __init__(self, app: App, component: Component, release: FileServerRelease, environment: dict[str, str],
                 output: ComponentOutput) -> None:
        """``release``: the FileServerRelease; ``environment``: what the component would see
        (manifest ``environment`` and ``-e``). MountError when ``files`` is one Spin refuses."""
        self.id = component.id
        self.release = release
        self.mounts = FileMounts(app.dir, component.files, component.exclude_files)
        self.environment = dict(environment)
        self.output = output
        version = release.version or (0, 3, 0)
        self.file_routes = version >= (0, 3, 0)  # "Made the fileserver component accept file routes"
        self.not_found_body = NOT_FOUND if version >= (0, 2, 1) else b""  # "add bodies to 404 and 500 responses"
        self.encodings = _PREFERENCE if version >= (0, 2, 0) else ("br",)  # before: Brotli only
        self.favicons = version >= (0, 1, 0)
        self.etags = _ETags()

    @property
    def startup_lines(self) -> list[str]:
        """The announcement, and Spin's warnings about its ``files``."""
        served = f"Component '{self.id}' ({self.release.label}) is served by spin-py's built-in file server"
        return [served] + [f"Component '{self.id}': {warning}" for warning in self.mounts.warnings]

    def respond(self, request_path: str, match: Any, raw_headers: list[tuple[str, str]]) -> tuple[int, list[tuple[str, str]], Any]:
        """``(status, headers, body)`` for a request: ``request_path`` is the path as requested
        (no query, not decoded), ``match`` the RouteMatch, ``raw_headers`` the client's headers."""
        try:
            headers = client_headers(raw_headers)
        except HeaderEncodingError as error:  # Spin answers 500 without running the component
            self.output.write(f"{error}: Spin answers 500 without running the component")
            return 500, [("content-type", "text/plain; charset=utf-8")], f"{error}\n".encode()
        path = match.trailing
        if self.file_routes and not path and request_path == match.component_route:
            path = request_path
        if_none_match = next((value for name, value in headers if name == "if-none-match"), "")
        return self.make_response(path, best_encoding(headers, self.encodings), if_none_match)

    def make_response(self, path: str, encoding: str | None, if_none_match: str) -> tuple[int, list[tuple[str, str]], Any]:
        """``(status, headers, body)``: the body is bytes, or for a file over WHOLE_UP_TO an
        iterable of pieces (closed by whoever sends it) with a content-length when not compressed."""
        found = self.resolve(path)
        if found is None:
            return 404, [], self.not_found_body
        file = None
        try:
            body, file = self._open(found)
            if file is not None:
                etag = self.etags.get(file, encoding)
            else:
                assert body is not None  # a small file comes whole
                if encoding is not None:
                    body = ENCODERS[encoding](body)
                etag = hashlib.sha256(body).hexdigest()
        except OSError as error:
            if file is not None:
                file.close()
            self.output.write(f"Error building response: {error}")
            return 500, [], INTERNAL_ERROR
        headers = [("cache-control", self.environment.get("CACHE_CONTROL", CACHE_CONTROL_DEFAULT)), ("etag", etag)]
        if encoding is not None:
            headers.append(("content-encoding", encoding))
        mime = content_type(path)
        if mime:
            headers.append(("content-type", mime))
        if etag == if_none_match or file is None:
            if file is not None:
                file.close()
            return (304, headers, b"") if etag == if_none_match else (200, headers, body)
        if encoding is None:
            headers.append(("content-length", str(os.fstat(file.fileno()).st_size)))
        return 200, headers, _FileBody(file, encoding)

    def resolve(self, request_path: str) -> Any:
        """FileServer::resolve: a host file, built-in favicon bytes, or None."""
        path = request_path or INDEX
        kind = self.mounts.find(path)
        if kind == DIR:
            path = path.rstrip("/") + "/" + INDEX
            kind = self.mounts.find(path)
        name = path.rstrip("/").rpartition("/")[2]
        if kind is None and self.favicons and name in FAVICONS:
            return FAVICONS[name]
        if kind is None and "FALLBACK_PATH" in self.environment:
            path = self.environment["FALLBACK_PATH"]
            kind = self.mounts.find(path)
        if kind is None and self.favicons and "CUSTOM_404_PATH" in self.environment:
            kind = self.mounts.find(self.environment["CUSTOM_404_PATH"])
        if kind is None:
            return None
        return kind  # (FILE, host path), or DIR: opening a folder fails when it is read (500)

    @staticmethod
    def _open(found: Any) -> tuple[bytes | None, IO[bytes] | None]:
        """``(bytes, None)`` for a small file or a built-in one, else ``(None, open file)``."""
        if isinstance(found, bytes):
            return found, None
        if found == DIR:
            raise IsADirectoryError("Is a directory (os error 21)")
        host = found[1]
        file = open(host, "rb")  # noqa: SIM115 (a large one is returned open, for its body to read)
        try:
            size = os.fstat(file.fileno()).st_size
            if size > MAX_RESPONSE_BODY:
                raise OSError(f"cannot serve {host}: {size} bytes is over spin-py's limit for one response")
            if size > WHOLE_UP_TO:
                return None, file
            with file:
                return file.read(), None
        except BaseException:
            file.close()
            raise


class _FileBody:
    """A large file's body on its way to the client, a piece at a time; ``close`` closes the file."""

    must_drain = False  # unlike a worker's stream: a HEAD request reads none of it

    def __init__(self, file: IO[bytes], encoding: str | None) -> None:
        self._file = file
        self._encoding = encoding

    def __iter__(self) -> Iterator[bytes]:
        try:
            yield from _pieces(self._file, self._encoding)
        except OSError as error:  # the headers are gone already: the connection is cut
            raise ConnectionAbortedError(f"reading the file failed: {error}") from None

    def close(self) -> None:
        self._file.close()


def static_files_for(runtime: AppRuntime, component: Component, release: FileServerRelease) -> StaticFiles:
    """The StaticFiles of ``component`` in an AppRuntime; a ``files`` entry Spin refuses is a
    ManifestError naming the component's ``files`` key."""
    output = ComponentOutput(component.id, runtime.logs_dir, runtime.terminal)
    environment = {**component.environment, **runtime.config.env}
    try:
        return StaticFiles(runtime.app, component, release, environment, output)
    except MountError as error:
        key = format_key(("component", component.id, "files"))
        raise ManifestError(runtime.app.path, str(error).replace("\n", " "), key=key) from None
