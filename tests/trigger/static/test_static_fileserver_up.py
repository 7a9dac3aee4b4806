"""Spin's static file server (spin-fileserver v0.3.0) served by spin-py itself, through a real
`spin-py up` over loopback, beside a Python API component in the same app."""

import gzip
import hashlib
import json
import zlib

import brotli
import pytest
from apps import write_app

RELEASE = (
    'source = { url = "https://github.com/spinframework/spin-fileserver/releases/download/v0.3.0/spin_static_fs.wasm", '
    'digest = "sha256:ef88708817e107bf49985c7cefe4dd1f199bf26f6727819183d5c996baa3d148" }\n'
)
OLD_URL = (
    'source = { url = "https://github.com/fermyon/spin-fileserver/releases/download/v0.2.1/spin_static_fs.wasm", '
    'digest = "sha256:5f05b15f0f7cd353d390bc5ebffec7fe25c6a6d7a05b9366c86dcb1a346e9f0f" }\n'
)


def _file_server(component_id, route, files, source=RELEASE, extra=""):
    return (
        f'[[trigger.http]]\nroute = "{route}"\ncomponent = "{component_id}"\n\n'
        f"[component.{component_id}]\n{source}files = {files}\n{extra}\n"
    )


MANIFEST = (
    'spin_manifest_version = 2\n\n[application]\nname = "shop"\n\n'
    '[[trigger.http]]\nroute = "/api/..."\ncomponent = "api"\n\n'
    '[component.api]\nsource = "app.wasm"\n'
    '[component.api.build]\ncommand = "spin py2wasm app -o app.wasm"\n\n'
    + _file_server("ui", "/...", '[{ source = "static", destination = "/" }, "docs/*.md", "notes/**/*.txt"]',
                   extra='exclude_files = ["static/private/*", "notes/**/secret.txt"]')
    + _file_server("spa", "/spa/...", '[{ source = "static", destination = "/" }]',
                   extra='environment = { FALLBACK_PATH = "index.html", CACHE_CONTROL = "no-cache" }')
    + _file_server("site", "/site/...", '[{ source = "static", destination = "/" }]',
                   extra='environment = { CUSTOM_404_PATH = "/errors/404.html" }')
    + _file_server("legacy", "/legacy/...", '[{ source = "static", destination = "/" }]', source=OLD_URL)
    + _file_server("page", "/about.html", '[{ source = "static/about.html", destination = "/about.html" }]')
    + _file_server("dirpattern", "/dp/...", '["assets"]')
)

FILES = {
    "app.py": """
        import json
        from spin_http import Response

        def handle_request(request):
            return Response(200, {"content-type": "application/json"}, json.dumps({"api": request.uri}).encode())
    """,
    "static/index.html": "<h1>home</h1>\n",
    "static/style.css": "body { color: red }\n",
    "static/app.js": "console.log('hi')\n",
    "static/data.json": '{"a": 1}\n',
    "static/font.woff2": "not really a font\n",
    "static/about.html": "<p>about</p>\n",
    "static/blog/index.html": "<h1>blog</h1>\n",
    "static/blog/post.html": "<p>post</p>\n",
    "static/empty/keep.txt": "x\n",
    "static/errors/404.html": "<h1>custom missing</h1>\n",
    "static/private/key.txt": "do not serve\n",
    "static/.hidden": "hidden\n",
    "static/big.txt": "spin " * 20000,
    "docs/guide.md": "# guide\n",
    "docs/sub/deep.md": "# not matched by docs/*.md\n",
    "notes/a/b/c.txt": "deep note\n",
    "notes/a/secret.txt": "excluded by a ** pattern\n",
    "assets/logo.svg": "<svg/>\n",
    "outside.txt": "never mounted\n",
}


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    from live import LiveServer

    folder = tmp_path_factory.mktemp("shop")
    path = write_app(folder, MANIFEST, FILES)
    server = LiveServer(path, "--no-watch", log_path=folder / "spin-py.log").wait_ready()
    server.folder = folder
    yield server
    server.stop()


def sha(body):
    return hashlib.sha256(body).hexdigest()


def test_startup_announces_each_file_server_and_the_api_is_served_beside_them(shop) -> None:
    startup = shop.output().split("Serving")[0]
    assert "Component 'ui' (spin-fileserver v0.3.0) is served by spin-py's built-in file server" in startup
    assert "Component 'legacy' (spin-fileserver v0.2.1) is served by spin-py's built-in file server" in startup
    assert "not served" not in startup
    status, _, body = shop.get("/api/items?x=1")
    assert status == 200
    assert json.loads(body) == {"api": "/api/items?x=1"}


def test_index_for_root_and_folders_with_v030_headers(shop) -> None:
    status, headers, body = shop.get("/")
    assert (status, body) == (200, b"<h1>home</h1>\n")
    assert headers["cache-control"] == "max-age=60"
    assert headers["etag"] == sha(body)
    assert "content-type" not in headers  # v0.3.0 guesses from the requested path: "/" has no extension
    assert "content-encoding" not in headers
    for path in ("/blog", "/blog/"):
        assert shop.get(path)[2] == b"<h1>blog</h1>\n"
    assert shop.get("/blog/post.html")[2] == b"<p>post</p>\n"
    assert shop.get("/empty/")[0] == 404  # a folder without index.html


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/index.html", "text/html"),
        ("/style.css", "text/css"),
        ("/app.js", "application/javascript"),
        ("/data.json", "application/json"),
        ("/font.woff2", "font/woff2"),
        ("/big.txt", "text/plain"),
        ("/docs/guide.md", "text/markdown"),
    ],
)
def test_content_types_as_mime_guess_gives_them(shop, path, expected) -> None:
    status, headers, _ = shop.get(path)
    assert status == 200
    assert headers["content-type"] == expected


def test_not_found_is_a_bare_404_with_spins_body(shop) -> None:
    status, headers, body = shop.get("/nope.html")
    assert (status, body) == (404, b"Not Found")
    assert "etag" not in headers and "cache-control" not in headers


def test_fallback_path_serves_the_spa_shell_with_cache_control_from_the_environment(shop) -> None:
    status, headers, body = shop.get("/spa/some/client/route")
    assert (status, body) == (200, b"<h1>home</h1>\n")
    assert headers["cache-control"] == "no-cache"
    assert "content-type" not in headers  # guessed from the requested path, which has no extension
    assert shop.get("/spa/style.css")[2] == b"body { color: red }\n"


def test_custom_404_path_is_served_with_200_as_spin_fileserver_does(shop) -> None:
    status, headers, body = shop.get("/site/missing.html")
    assert (status, body) == (200, b"<h1>custom missing</h1>\n")
    assert headers["content-type"] == "text/html"


def test_etag_and_if_none_match_give_304_without_a_body(shop) -> None:
    _, headers, _body = shop.get("/style.css")
    etag = headers["etag"]
    status, headers304, body304 = shop.get("/style.css", headers={"If-None-Match": etag})
    assert (status, body304) == (304, b"")
    assert headers304["etag"] == etag and headers304["cache-control"] == "max-age=60"
    assert shop.get("/style.css", headers={"If-None-Match": f'"{etag}"'})[0] == 200  # compared as sent


def test_compression_on_the_fly_br_then_deflate_then_gzip(shop) -> None:
    plain = FILES["static/big.txt"].encode()
    status, headers, body = shop.get("/big.txt", headers={"Accept-Encoding": "gzip"})
    assert (status, headers["content-encoding"]) == (200, "gzip")
    assert gzip.decompress(body) == plain and len(body) < len(plain) // 10
    assert headers["etag"] == sha(body)  # the hash of what is sent
    _, headers, body = shop.get("/big.txt", headers={"Accept-Encoding": "gzip, deflate"})
    assert headers["content-encoding"] == "deflate"
    assert zlib.decompress(body, -15) == plain  # raw deflate, as flate2's DeflateEncoder writes it
    _, headers, body = shop.get("/big.txt", headers={"Accept-Encoding": "gzip;q=1.0, identity"})
    assert "content-encoding" not in headers and body == plain  # v0.3.0 compares whole tokens
    for offered in ("br, gzip", "gzip, deflate, br, zstd"):  # a browser's offer: br first, as v0.3.0 prefers it
        _, headers, body = shop.get("/big.txt", headers={"Accept-Encoding": offered})
        assert headers["content-encoding"] == "br"
        assert brotli.decompress(body) == plain and headers["etag"] == sha(body)


def test_every_method_gets_the_file_and_head_gets_no_body(shop) -> None:
    assert shop.request("POST", "/style.css", body=b"ignored")[2] == b"body { color: red }\n"
    assert shop.request("DELETE", "/style.css")[0] == 200
    status, headers, body = shop.request("HEAD", "/style.css")
    assert (status, body) == (200, b"")
    assert headers["etag"] == sha(b"body { color: red }\n")


@pytest.mark.parametrize(
    "path", ["/../outside.txt", "/../../etc/passwd", "/blog/../../outside.txt", "/%2e%2e/outside.txt", "/..%2foutside.txt"]
)
def test_paths_that_climb_out_of_the_files_are_not_found(shop, path) -> None:
    status, _, body = shop.get(path)
    assert (status, body) == (404, b"Not Found")


def test_dot_dot_inside_the_files_stays_inside(shop) -> None:
    assert shop.get("/blog/../style.css")[2] == b"body { color: red }\n"


def test_exclude_files_and_glob_mounts(shop) -> None:
    assert shop.get("/private/key.txt")[0] == 404
    assert shop.get("/docs/guide.md")[2] == b"# guide\n"
    assert shop.get("/docs/sub/deep.md")[0] == 404  # `*` stays in one folder
    assert shop.get("/notes/a/b/c.txt")[2] == b"deep note\n"
    assert shop.get("/notes/a/secret.txt")[0] == 404
    assert shop.get("/outside.txt")[0] == 404  # not mounted
    assert shop.get("/.hidden")[2] == b"hidden\n"  # hidden files are mounted, as Spin's glob does


def test_a_directory_pattern_lands_where_spins_copy_puts_it(shop) -> None:
    assert shop.get("/dp/assets/assets/logo.svg")[2] == b"<svg/>\n"
    assert shop.get("/dp/assets/logo.svg")[0] == 404


def test_single_file_mount_on_an_exact_route_is_served_by_its_path(shop) -> None:
    status, headers, body = shop.get("/about.html")
    assert (status, body) == (200, b"<p>about</p>\n")
    assert headers["content-type"] == "text/html"


def test_favicon_when_the_app_has_none(shop) -> None:
    status, headers, body = shop.get("/favicon.ico")
    assert status == 200 and headers["content-type"] == "image/x-icon"
    assert body[:4] == b"\x00\x00\x01\x00"
    status, headers, body = shop.get("/favicon.png")
    assert status == 200 and body.startswith(b"\x89PNG")


def test_older_release_behaviour_by_version(shop) -> None:
    # v0.2.1 has 404 bodies and gzip, but not v0.3.0's exact-route handling; the rest is shared.
    assert shop.get("/legacy/nope")[2] == b"Not Found"
    assert shop.get("/legacy/style.css", headers={"Accept-Encoding": "gzip"})[1]["content-encoding"] == "gzip"


def test_an_edit_shows_on_the_next_request(shop) -> None:
    target = shop.folder / "static" / "live.txt"
    target.write_text("first\n")
    assert shop.get("/live.txt")[2] == b"first\n"
    target.write_text("second\n")
    status, headers, body = shop.get("/live.txt")
    assert (status, body) == (200, b"second\n")
    assert headers["etag"] == sha(b"second\n")
    target.unlink()
    assert shop.get("/live.txt")[0] == 404
