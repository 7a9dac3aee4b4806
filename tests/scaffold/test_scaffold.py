"""`spin-py new`, `add` and `templates list`: the templates render, load and run
under `spin-py up`, `add` keeps the user's spin.toml as written, and bad input is
a one-line error that writes nothing."""

import json
import textwrap
import tomllib

import pytest
from apps import sdk3_python
from click.testing import CliRunner
from live import run_cli

from spin_py.cli import main
from spin_py.manifest import load_manifest, python_entry

# id -> (ai_models, key_value_stores) of the component it makes
TEMPLATES = {
    "http-py": ((), ()),
    "llm-py": (("llama2-chat",), ()),
    "embeddings-py": (("all-minilm-l6-v2",), ()),
    "kv-py": ((), ("default",)),
}
FILES = {".gitignore", "README.md", "app.py", "requirements.txt", "spin.toml"}


def cli(*args, input=None):
    return CliRunner().invoke(main, list(args), input=input)


def tree(folder):
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if ".git" not in p.parts)


def assert_one_line_error(result, *needles):
    assert result.exit_code != 0, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith("Error: "), result.output
    assert "Traceback" not in result.output
    for needle in needles:
        assert needle in lines[0], result.output


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


# --- templates list and new


def test_templates_list_shows_ids_and_descriptions():
    result = cli("templates", "list")
    assert result.exit_code == 0, result.output
    lines = dict(line.split(None, 1) for line in result.output.splitlines())
    assert set(TEMPLATES) <= set(lines)
    assert "HTTP request handler using Python" in lines["http-py"]
    assert "llama2-chat" in lines["llm-py"]


@pytest.mark.parametrize("template", TEMPLATES)
def test_new_renders_a_loadable_app(in_tmp, template):
    result = cli("new", template, "my-app", "--accept-defaults")
    assert result.exit_code == 0, result.output
    folder = in_tmp / "my-app"
    assert set(tree(folder)) >= FILES
    text = (folder / "spin.toml").read_text()
    assert "{{" not in text and "{%" not in text
    assert "{{" not in (folder / "app.py").read_text()
    assert (folder / "requirements.txt").read_text().splitlines() == ["spin-sdk == 3.4.1", "componentize-py == 0.17.2"]
    app = load_manifest(folder / "spin.toml")
    assert app.name == "my-app"
    component = app.components["my-app"]
    assert component.build.command == "componentize-py -w spin-http componentize app -o app.wasm"
    assert component.source == "app.wasm"
    assert python_entry(app, component).module == "app"
    assert (component.ai_models, component.key_value_stores) == TEMPLATES[template]
    readme = (folder / "README.md").read_text()
    assert "spin-py up" in readme and "spin build" in readme
    compile(( folder / "app.py").read_text(), "app.py", "exec")


def test_new_values_and_name_casing(in_tmp):
    result = cli("new", "http-py", "MY-APP", "-v", "http-path=/hello/...", "-v", "project-description=Says hi",
                 "-o", "elsewhere", "--no-vcs")  # fmt: skip
    assert result.exit_code == 0, result.output
    manifest = tomllib.loads((in_tmp / "elsewhere" / "spin.toml").read_text())
    assert manifest["application"]["name"] == "MY-APP"
    assert manifest["application"]["description"] == "Says hi"
    assert manifest["trigger"]["http"] == [{"route": "/hello/...", "component": "my-app"}]
    assert "my-app" in manifest["component"]
    assert not (in_tmp / "elsewhere" / ".gitignore").exists() and not (in_tmp / "elsewhere" / ".git").exists()


def test_new_prompts_for_parameters_and_asks_again_for_a_bad_value(in_tmp):
    result = cli("new", "llm-py", "chat", input="A chat\n/chat/...\nlots\n64\n\n")
    assert result.exit_code == 0, result.output
    assert "does not match pattern" in result.output  # `lots` refused, asked again
    app_py = (in_tmp / "chat" / "app.py").read_text()
    assert "MAX_TOKENS = 64" in app_py and "TEMPERATURE = 0.7" in app_py  # empty answer: the default
    assert tomllib.loads((in_tmp / "chat" / "spin.toml").read_text())["trigger"]["http"][0]["route"] == "/chat/..."


def own_templates(root, *ids):
    """A folder of templates with these ids, each making a one-line README."""
    for template_id in ids:
        (root / template_id / "metadata").mkdir(parents=True)
        (root / template_id / "metadata" / "spin-template.toml").write_text(
            f'manifest_version = "1"\nid = "{template_id}"\ndescription = "mine: {template_id}"\n')
        (root / template_id / "content").mkdir()
        (root / template_id / "content" / "README.md").write_text(f"{template_id} {{{{ project-name }}}}\n")
    return root


def test_a_template_of_ones_own_replacing_a_built_in_one_is_named(in_tmp, tmp_path_factory, monkeypatch):
    from spin_py.scaffold.template import builtin_templates_dir

    root = own_templates(tmp_path_factory.mktemp("templates"), "http-py", "extra-py")
    monkeypatch.setenv("SPIN_PY_TEMPLATES", str(root))
    note = (f"Template 'http-py' from {root / 'http-py'} replaces the built-in one at "
            f"{builtin_templates_dir() / 'http-py'} (SPIN_PY_TEMPLATES comes first)")  # fmt: skip
    listed = CliRunner().invoke(main, ["templates", "list"])
    assert listed.exit_code == 0, listed.output
    assert listed.stderr.splitlines() == [note]
    lines = dict(line.split(None, 1) for line in listed.stdout.splitlines())
    assert (lines["http-py"], lines["extra-py"], lines["kv-py"].startswith("Key-value")) == ("mine: http-py", "mine: extra-py", True)

    made = CliRunner().invoke(main, ["new", "http-py", "mine", "-a", "--no-vcs"])
    assert made.exit_code == 0, made.output
    assert made.stderr.splitlines() == [note]
    assert (in_tmp / "mine" / "README.md").read_text() == "http-py mine\n"
    assert CliRunner().invoke(main, ["new", "extra-py", "other", "-a", "--no-vcs"]).stderr == ""  # hides nothing

    (in_tmp / "mine" / "spin.toml").write_text('spin_manifest_version = 2\n[application]\nname = "mine"\n')
    own_templates(root, "kv-py")
    (root / "kv-py" / "metadata" / "spin-template.toml").write_text(
        'manifest_version = "1"\nid = "kv-py"\n[add_component]\n[add_component.snippets]\ncomponent = "c.txt"\n')
    (root / "kv-py" / "metadata" / "snippets").mkdir()
    (root / "kv-py" / "metadata" / "snippets" / "c.txt").write_text('[component.{{ project-name }}]\nsource = "x.wasm"\n')
    added = CliRunner().invoke(main, ["add", "kv-py", "store", "-a", "-f", str(in_tmp / "mine")])
    assert added.exit_code == 0, added.output
    assert added.stderr.splitlines() == [
        f"Template 'kv-py' from {root / 'kv-py'} replaces the built-in one at {builtin_templates_dir() / 'kv-py'} "
        "(SPIN_PY_TEMPLATES comes first)"
    ]


def test_of_two_folders_of_ones_own_the_first_wins_and_is_named(in_tmp, tmp_path_factory, monkeypatch):
    first = own_templates(tmp_path_factory.mktemp("first"), "same-py")
    second = own_templates(tmp_path_factory.mktemp("second"), "same-py")
    monkeypatch.setenv("SPIN_PY_TEMPLATES", f"{first}:{second}")
    listed = CliRunner().invoke(main, ["templates", "list"])
    assert listed.stderr.splitlines() == [
        f"Template 'same-py' from {first / 'same-py'} replaces the one at {second / 'same-py'} (SPIN_PY_TEMPLATES comes first)"
    ]


def test_new_spin2_syntax_and_empty_existing_folder(in_tmp):
    (in_tmp / "ready").mkdir()
    result = cli("new", "ready", "-t", "http-py", "-a")
    assert result.exit_code == 0, result.output  # like Spin: an empty folder is fine to generate into
    assert (in_tmp / "ready" / "app.py").is_file()


# --- bad input: one line naming the argument, nothing written


@pytest.mark.parametrize(
    "args, needles",
    [
        (["new", "http-pyy", "app", "-a"], ["'TEMPLATE'", "Unknown template 'http-pyy'", "http-py", "llm-py", "embeddings-py"]),
        (["new", "http-py", "1app", "-a"], ["'NAME'", "'1app' does not start with a letter"]),
        (["new", "http-py", "my_app", "-a"], ["'NAME'", "kebab-cased"]),
        (["new", "http-py", "MyApp", "-a"], ["'NAME'", "kebab-cased"]),
        (["new", "http-py", "my--app", "-a"], ["'NAME'", "start with a letter"]),
        (["new", "http-py", "app", "-a", "-v", "http-path=no-slash"], ["'-v' / '--value'", "http-path", "does not match pattern"]),
        (["new", "llm-py", "app", "-a", "-v", "max-tokens=0"], ["'-v' / '--value'", "max-tokens"]),
        (["new", "http-py", "app", "-a", "-v", "colour=blue"], ["'-v' / '--value'", "parameter named 'colour'"]),
        (["new", "http-py", "app", "-a", "-v", "novalue"], ["'-v' / '--value'", "name=value"]),
    ],
)
def test_new_bad_input(in_tmp, args, needles):
    assert_one_line_error(cli(*args), *needles)
    assert tree(in_tmp) == []


def test_new_into_a_folder_with_files(in_tmp):
    (in_tmp / "app").mkdir()
    (in_tmp / "app" / "notes.txt").write_text("mine")
    assert_one_line_error(cli("new", "http-py", "app", "-a"), "'NAME'", "already contains other files")
    assert_one_line_error(cli("new", "http-py", "other", "-a", "-o", "app"), "'-o' / '--output'")
    assert tree(in_tmp) == ["app", "app/notes.txt"]


def test_bad_input_from_the_real_command_has_no_traceback(tmp_path):
    result = run_cli("new", "nope", "app", "-a", cwd=tmp_path)
    assert result.returncode != 0
    assert result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        "Error: Invalid value for 'TEMPLATE': Unknown template 'nope'. Known templates: embeddings-py, http-py, kv-py, llm-py"
    ]
    assert list(tmp_path.iterdir()) == []


def test_a_broken_template_writes_nothing(in_tmp, tmp_path_factory, monkeypatch):
    root = tmp_path_factory.mktemp("templates")
    broken = root / "broken" / "content"
    broken.mkdir(parents=True)
    (root / "broken" / "metadata").mkdir()
    (root / "broken" / "metadata" / "spin-template.toml").write_text('manifest_version = "1"\nid = "broken"\n')
    (broken / "a.txt").write_text("fine {{ project-name }}")
    (broken / "b.txt").write_text("not fine {{ undefined-thing }}")
    monkeypatch.setenv("SPIN_PY_TEMPLATES", str(root))
    assert_one_line_error(cli("new", "broken", "app", "-a"), "b.txt", "'undefined-thing' is undefined")
    assert tree(in_tmp) == []


def test_text_that_is_not_liquid_is_copied_as_is(in_tmp, tmp_path_factory, monkeypatch):
    root = tmp_path_factory.mktemp("templates")
    (root / "raw" / "metadata").mkdir(parents=True)
    (root / "raw" / "metadata" / "spin-template.toml").write_text('manifest_version = "1"\nid = "raw"\n')
    (root / "raw" / "content").mkdir()
    (root / "raw" / "content" / "odd.txt").write_text("left {{ open")
    (root / "raw" / "content" / "blob.bin").write_bytes(b"\xff\xfe{{ x }}")
    (root / "raw" / "content" / "pyproject.toml.tmpl").write_text('name = "{{ project-name | snake_case }}"\n')
    monkeypatch.setenv("SPIN_PY_TEMPLATES", str(root))
    assert cli("new", "raw", "my-thing", "-a", "--no-vcs").exit_code == 0
    assert (in_tmp / "my-thing" / "odd.txt").read_text() == "left {{ open"
    assert (in_tmp / "my-thing" / "blob.bin").read_bytes() == b"\xff\xfe{{ x }}"
    assert (in_tmp / "my-thing" / "pyproject.toml").read_text() == 'name = "my_thing"\n'


# --- add


USER_MANIFEST = """\
# My app: the comments and layout below are mine.
spin_manifest_version = 2

[application]
name = "shop"   # the shop
version = "0.1.0"

[[trigger.http]]
route = "/..."          # everything else
component = "shop"

[component.shop]
source = "app.wasm"
# built by componentize-py
[component.shop.build]
command = "componentize-py -w spin-http componentize app -o app.wasm"
"""


@pytest.fixture
def shop(in_tmp):
    (in_tmp / "spin.toml").write_text(USER_MANIFEST)
    (in_tmp / "app.py").write_text(textwrap.dedent("""
        from spin_sdk.http import IncomingHandler, Request, Response

        class IncomingHandler(IncomingHandler):
            def handle_request(self, request: Request) -> Response:
                return Response(200, {"content-type": "text/plain"}, b"shop")
    """))
    return in_tmp


def test_add_keeps_the_manifest_as_written_and_loads(shop):
    result = cli("add", "llm-py", "chat", "-a", "-v", "http-path=/chat/...")
    assert result.exit_code == 0, result.output
    text = (shop / "spin.toml").read_text()
    assert text.startswith(USER_MANIFEST.rstrip())  # byte for byte, comments included
    assert "# built by componentize-py" in text and "# everything else" in text
    assert set(tree(shop / "chat")) == FILES - {"spin.toml"}
    app = load_manifest(shop / "spin.toml")
    assert list(app.components) == ["shop", "chat"]
    chat = app.components["chat"]
    assert chat.source == "chat/app.wasm" and chat.build.workdir == "chat"
    assert chat.ai_models == ("llama2-chat",)
    assert python_entry(app, chat).workdir == (shop / "chat").resolve()
    assert [(t.route, t.component) for t in app.http_triggers] == [("/...", "shop"), ("/chat/...", "chat")]


def test_add_merges_variables_with_tomlkit(shop, tmp_path_factory, monkeypatch):
    root = tmp_path_factory.mktemp("templates")
    meta = root / "with-vars" / "metadata"
    (meta / "snippets").mkdir(parents=True)
    (meta / "spin-template.toml").write_text(textwrap.dedent("""
        manifest_version = "1"
        id = "with-vars"
        [add_component]
        [add_component.snippets]
        component = "component.txt"
        variables = "variables.txt"
    """))
    (meta / "snippets" / "component.txt").write_text('[component.{{ project-name }}]\nsource = "x.wasm"\n')
    (meta / "snippets" / "variables.txt").write_text('api_key = { required = true, secret = true }\n')
    monkeypatch.setenv("SPIN_PY_TEMPLATES", str(root))
    (shop / "spin.toml").write_text(USER_MANIFEST.replace("[application]", '[variables]\ngreeting = { default = "hi" }  # kept\n\n[application]'))
    result = cli("add", "with-vars", "extra", "-a")
    assert result.exit_code == 0, result.output
    text = (shop / "spin.toml").read_text()
    assert 'greeting = { default = "hi" }  # kept\napi_key = { required = true, secret = true }' in text
    assert "# built by componentize-py" in text
    assert set(load_manifest(shop / "spin.toml").variables) == {"greeting", "api_key"}


@pytest.mark.parametrize(
    "args, needles",
    [
        (["add", "nope", "extra", "-a"], ["'TEMPLATE'", "Unknown template 'nope'", "http-py"]),
        (["add", "http-py", "Extra_One", "-a"], ["'NAME'", "kebab-cased"]),
        (["add", "http-py", "shop", "-a", "-o", "shop-code"], ["'NAME'", "already has a component 'shop'"]),
        (["add", "http-py", "extra", "-a", "-v", "http-path=x"], ["'-v' / '--value'", "does not match pattern"]),
        (["add", "http-py", "extra", "-a", "-v", "size=3"], ["'-v' / '--value'", "parameter named 'size'"]),
        (["add", "http-py", "extra", "-a", "-f", "missing/spin.toml"], ["'-f' / '--file'", "file does not exist"]),
        (["add", "http-py", "node_modules", "-a"], ["'NAME'"]),
    ],
)
def test_add_bad_input(shop, args, needles):
    before = tree(shop)
    assert_one_line_error(cli(*args), *needles)
    assert tree(shop) == before
    assert (shop / "spin.toml").read_text() == USER_MANIFEST


def test_add_into_an_existing_folder_or_v1_manifest(shop):
    (shop / "extra").mkdir()
    (shop / "extra" / "keep.py").write_text("")
    assert_one_line_error(cli("add", "http-py", "extra", "-a"), "'NAME'", "already contains other files")
    (shop / "spin.toml").write_text('spin_manifest_version = "1"\nname = "old"\ntrigger = { type = "http" }\n')
    assert_one_line_error(cli("add", "http-py", "more", "-a"), "'-f' / '--file'", "version 1")
    assert not (shop / "more").exists()


# --- generated apps run under spin-py up


def test_http_py_app_runs(in_tmp, spin_up):
    assert cli("new", "http-py", "hello", "-a", "--no-vcs").exit_code == 0
    server = spin_up(in_tmp / "hello" / "spin.toml", "--python", str(sdk3_python()))
    status, headers, body = server.get("/")
    assert (status, body) == (200, b"Hello from Python!")
    assert headers["content-type"] == "text/plain"


def test_ai_templates_run_added_to_one_app(in_tmp, spin_up):
    assert cli("new", "http-py", "site", "-a", "--no-vcs", "-v", "http-path=/").exit_code == 0
    site = in_tmp / "site"
    assert cli("add", "llm-py", "chat", "-a", "-f", str(site), "-v", "http-path=/chat/...", "-v", "max-tokens=5").exit_code == 0
    assert cli("add", "embeddings-py", "search", "-a", "-f", str(site), "-v", "http-path=/find").exit_code == 0
    server = spin_up(site / "spin.toml", "--python", str(sdk3_python()), "--ai-engine", "deterministic")

    assert server.get("/")[2] == b"Hello from Python!"

    status, _, body = server.request("POST", "/chat", body=b"tell me about spin please now and later")
    assert status == 200, body
    answer = json.loads(body)
    assert answer["model"] == "llama2-chat"
    assert answer["text"] == "echo: tell me about spin"  # the deterministic engine echoes, cut to max-tokens=5
    assert answer["usage"] == {"prompt_tokens": 8, "generated_tokens": 5}
    status, _, body = server.request("POST", "/chat", body=json.dumps({"prompt": "a b c", "max_tokens": 2}).encode(),
                                     headers={"content-type": "application/json"})  # fmt: skip
    assert (status, json.loads(body)["text"]) == (200, "echo: a")
    status, headers, body = server.get("/chat")  # a browser's first look: how to use it, not an error
    assert (status, headers["content-type"]) == (200, "text/plain; charset=utf-8")
    url = f"http://127.0.0.1:{server.port}/chat"
    assert f"  curl -d 'Write a haiku about WebAssembly' {url}\n" in body.decode()
    assert "llama2-chat" in body.decode() and "max_tokens defaults to 5" in body.decode()
    assert server.get("/chat/?x=1")[2].decode().count(f" {url}/\n") == 2  # the query is not part of the endpoint
    status, headers, _ = server.request("DELETE", "/chat")
    assert (status, headers["allow"]) == (405, "GET, POST")
    assert server.request("POST", "/chat", body=b"  ")[0] == 400
    assert server.request("POST", "/chat", body=b"{", headers={"content-type": "application/json"})[0] == 400

    document = "Cats spend most of the day asleep in the sun."
    status, _, body = server.get("/find/search?q=" + document.replace(" ", "+"))
    assert status == 200, body
    found = json.loads(body)
    assert found["query"] == document and found["model"] == "all-minilm-l6-v2"
    scores = [result["score"] for result in found["results"]]
    assert len(scores) == 6 and scores == sorted(scores, reverse=True)
    assert found["results"][0] == {"text": document, "score": 1.0}
    status, _, body = server.get("/find/search?q=coffee&limit=2")
    assert status == 200 and len(json.loads(body)["results"]) == 2
    assert server.get("/find/search")[0] == 400
    assert server.get("/find/search?q=x&limit=many")[0] == 400
    assert server.get("/find/elsewhere")[0] == 404
    for path in ("/find", "/find/"):
        status, headers, body = server.get(path)
        assert (status, headers["content-type"]) == (200, "text/plain; charset=utf-8"), body
        assert f"  curl 'http://127.0.0.1:{server.port}/find/search?q=how+do+I+compile+python'\n" in body.decode()
        assert "6 documents with all-minilm-l6-v2" in body.decode()
