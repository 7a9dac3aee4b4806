"""A component's module that does not import is reported at startup, before the
routes are served, once, naming each folder it was looked for in once."""

from live import LiveServer

APP = """\
spin_manifest_version = 2

[application]
name = "missing"

[[trigger.http]]
route = "/..."
component = "hello"

[component.hello]
source = "app.wasm"
[component.hello.build]
command = "{command}"
"""


def start(tmp_path, command):
    (tmp_path / "spin.toml").write_text(APP.format(command=command))
    server = LiveServer(tmp_path / "spin.toml", log_path=tmp_path / "spin-py.log")
    return server.wait_ready()


def test_a_missing_module_is_reported_before_serving(tmp_path):
    server = start(tmp_path, "componentize-py -w spin-http componentize nosuchmodule -o app.wasm")
    try:
        startup, _, _ = server.output().partition("Serving ")
        assert startup.count("Component 'hello' failed to load module 'nosuchmodule':") == 1
        assert f"(looked for it in: {tmp_path})\n" in startup
        status, _, body = server.get("/")
        assert status == 500 and b"No module named 'nosuchmodule'" in body
    finally:
        server.stop()


def test_each_python_path_is_named_once_in_search_order(tmp_path):
    (tmp_path / "src").mkdir()
    server = start(tmp_path, "componentize-py -w spin-http componentize -p src -p . nosuchmodule -o app.wasm")
    try:
        startup = server.output().partition("Serving ")[0]
        assert f"(looked for it in: {tmp_path / 'src'}, {tmp_path})\n" in startup
    finally:
        server.stop()
