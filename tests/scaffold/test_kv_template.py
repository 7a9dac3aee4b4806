"""The kv-py template: `new` and `add` give a component with the `default` store, and the
app answers GET/POST/DELETE through spin-sdk's key-value API."""

import textwrap
import tomllib

from apps import sdk3_python
from click.testing import CliRunner

from spin_py.cli import main
from spin_py.manifest import load_manifest, python_entry

SHOP = textwrap.dedent("""\
    spin_manifest_version = 2

    [application]
    name = "shop"   # mine

    [[trigger.http]]
    route = "/..."
    component = "shop"

    [component.shop]
    source = "app.wasm"
    [component.shop.build]
    command = "componentize-py -w spin-http componentize app -o app.wasm"
""")


def cli(*args):
    return CliRunner().invoke(main, [str(arg) for arg in args])


def test_new_kv_py_makes_a_component_with_the_default_store(tmp_path):
    result = cli("new", "kv-py", "notes", "-a", "--no-vcs", "-o", tmp_path / "notes", "-v", "http-path=/kv/...")
    assert result.exit_code == 0, result.output
    folder = tmp_path / "notes"
    assert sorted(p.name for p in folder.iterdir()) == ["README.md", "app.py", "requirements.txt", "spin.toml"]
    app = load_manifest(folder / "spin.toml")
    component = app.components["notes"]
    assert component.key_value_stores == ("default",)
    assert [(t.route, t.component) for t in app.http_triggers] == [("/kv/...", "notes")]
    assert python_entry(app, component).module == "app"
    app_py = (folder / "app.py").read_text()
    assert "key_value.open_default()" in app_py and "class IncomingHandler(IncomingHandler)" in app_py
    compile(app_py, "app.py", "exec")
    readme = (folder / "README.md").read_text()
    assert "curl http://127.0.0.1:3000/kv/greeting" in readme and "{{" not in readme


def test_add_kv_py_appends_a_component_with_the_default_store(tmp_path):
    (tmp_path / "spin.toml").write_text(SHOP)
    result = cli("add", "kv-py", "cart", "-a", "-f", tmp_path, "-v", "http-path=/cart/...")
    assert result.exit_code == 0, result.output
    text = (tmp_path / "spin.toml").read_text()
    assert text.startswith(SHOP)
    assert sorted(p.name for p in (tmp_path / "cart").iterdir()) == [".gitignore", "README.md", "app.py", "requirements.txt"]
    app = load_manifest(tmp_path / "spin.toml")
    cart = app.components["cart"]
    assert (cart.source, cart.build.workdir, cart.key_value_stores) == ("cart/app.wasm", "cart", ("default",))
    assert app.components["shop"].key_value_stores == ()
    assert python_entry(app, cart).workdir == (tmp_path / "cart").resolve()
    assert tomllib.loads(text)["trigger"]["http"][1] == {"route": "/cart/...", "component": "cart"}


def test_kv_py_app_serves_get_post_delete(tmp_path, spin_up):
    assert cli("new", "kv-py", "notes", "-a", "--no-vcs", "-o", tmp_path / "notes", "-v", "http-path=/kv/...").exit_code == 0
    server = spin_up(tmp_path / "notes" / "spin.toml", "--python", str(sdk3_python()))
    assert server.get("/kv/greeting")[0] == 404
    status, _, body = server.request("POST", "/kv/greeting", body=b"Hello, key-value!")
    assert (status, body) == (200, b"stored 17 bytes at key 'greeting'\n")
    assert server.get("/kv/greeting")[::2] == (200, b"Hello, key-value!")
    assert server.request("PUT", "/kv/a%2Fb", body=b"x")[0] == 200
    assert server.get("/kv/")[::2] == (200, b'["a/b", "greeting"]')
    assert server.request("DELETE", "/kv/greeting")[::2] == (200, b"deleted key 'greeting'\n")
    assert server.request("DELETE", "/kv/greeting")[0] == 404
    assert server.get("/kv/greeting")[0] == 404
    assert server.request("POST", "/kv/", body=b"x")[0] == 400
    status, headers, _ = server.request("PATCH", "/kv/x")
    assert (status, headers["allow"]) == (405, "GET, POST, PUT, DELETE")
