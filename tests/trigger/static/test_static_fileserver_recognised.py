"""Which components are spin-fileserver releases, and `files` entries Spin refuses, told in one line."""

import pytest
from apps import write_app
from live import run_cli

from spin_py.manifest import load_manifest
from spin_py.manifest.python_source import FILE_SERVER_DIGESTS, file_server_release

V030 = "sha256:ef88708817e107bf49985c7cefe4dd1f199bf26f6727819183d5c996baa3d148"


def _release(tmp_path, source):
    head = 'spin_manifest_version = 2\n[application]\nname = "a"\n[[trigger.http]]\nroute = "/..."\ncomponent = "ui"\n'
    path = write_app(tmp_path, head + f"[component.ui]\nsource = {source}\n", {})
    app = load_manifest(path)
    return file_server_release(app, app.components["ui"])


@pytest.mark.parametrize(
    ("source", "label", "version"),
    [
        (f'{{ url = "https://github.com/spinframework/spin-fileserver/releases/download/v0.3.0/spin_static_fs.wasm", digest = "{V030}" }}',
         "spin-fileserver v0.3.0", (0, 3, 0)),
        ('{ url = "https://github.com/fermyon/spin-fileserver/releases/download/v0.0.3/spin_static_fs.wasm", digest = "sha256:38bf971900228222f7f6b2ccee5051f399adca58d71692cdfdea98997965fd0d" }',
         "spin-fileserver v0.0.3", (0, 0, 3)),
        # a release URL with a digest this list does not know (a newer release): recognised by the URL
        ('{ url = "https://github.com/spinframework/spin-fileserver/releases/download/v0.4.1/spin_static_fs.wasm", digest = "sha256:00" }',
         "spin-fileserver v0.4.1", (0, 4, 1)),
        ('{ url = "https://github.com/fermyon/spin-fileserver/releases/latest/download/spin_static_fs.wasm", digest = "sha256:00" }',
         "spin-fileserver", None),
        # a mirror: recognised by the digest
        (f'{{ url = "https://mirror.example.com/static.wasm", digest = "{V030}" }}', "spin-fileserver v0.3.0", (0, 3, 0)),
    ],
)
def test_release_urls_and_digests(tmp_path, source, label, version) -> None:
    release = _release(tmp_path, source)
    assert (release.label, release.version) == (label, version)


@pytest.mark.parametrize(
    "source",
    [
        '{ url = "https://example.com/spin_static_fs.wasm", digest = "sha256:0000" }',
        '{ url = "https://github.com/someone/spin-fileserver/releases/download/v0.3.0/spin_static_fs.wasm", digest = "sha256:00" }',
        '{ url = "https://github.com/fermyon/spin-redirect/releases/download/v0.1.0/redirect.wasm", digest = "sha256:00" }',
        '"app.wasm"',
    ],
)
def test_other_components_are_not_the_file_server(tmp_path, source) -> None:
    assert _release(tmp_path, source) is None


def test_every_release_has_a_digest() -> None:
    assert sorted(FILE_SERVER_DIGESTS.values()) == ["v0.0.1", "v0.0.2", "v0.0.3", "v0.1.0", "v0.2.0", "v0.2.1", "v0.3.0"]


UI = (
    'spin_manifest_version = 2\n[application]\nname = "a"\n'
    '[[trigger.http]]\nroute = "/..."\ncomponent = "ui"\n'
    '[component.ui]\nsource = { url = "https://github.com/spinframework/spin-fileserver/releases/download/v0.3.0/'
    f'spin_static_fs.wasm", digest = "{V030}" }}\nfiles = FILES\n'
)


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ('[{ source = "missing", destination = "/" }]', 'component.ui.files: File or directory "missing" does not exist'),
        ('["nothing-here.txt"]', 'component.ui.files: "nothing-here.txt" does not exist and doesn\'t appear to be a glob pattern'),
        ('["static/.."]', "component.ui.files: A file pattern can't end in a parent directory path (..)"),
        ('[{ source = "static/a.txt", destination = "/" }]', '"/" is not a valid destination file name'),
    ],
)
def test_files_spin_refuses_stop_startup_with_one_line(tmp_path, files, message) -> None:
    path = write_app(tmp_path, UI.replace("FILES", files), {"static/a.txt": "a"})
    result = run_cli("up", "-f", str(path), "--listen", "127.0.0.1:0", "--no-watch", timeout=60)
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert str(path) in result.stderr


def test_whole_app_folder_pattern_gets_spins_warning(tmp_path, spin_up) -> None:
    path = write_app(tmp_path, UI.replace("FILES", '["*"]'), {"index.html": "<p>root</p>"})
    server = spin_up(path, "--no-watch")
    assert "A component is including the entire application directory as asset files" in server.output()
    assert server.get("/")[2] == b"<p>root</p>"


def test_a_manifest_edit_applies_to_the_file_server_without_a_restart(tmp_path, spin_up) -> None:
    import time

    files = '[{ source = "static", destination = "/" }]'
    path = write_app(tmp_path, UI.replace("FILES", files), {"static/index.html": "<p>shell</p>"})
    server = spin_up(path)
    assert server.get("/app/route")[0] == 404
    path.write_text(path.read_text() + 'environment = { FALLBACK_PATH = "index.html" }\n')
    deadline = time.monotonic() + 15
    while server.get("/app/route")[0] != 200:
        assert time.monotonic() < deadline, server.output()
        time.sleep(0.1)
    assert server.get("/app/route")[2] == b"<p>shell</p>"
