"""Trigger types as `spin up` treats them: http and redis are built in, any other type
is the plugin trigger-<type>, and a type Spin knows no plugin for is Spin's error."""

import json
import textwrap

import pytest
from live import run_cli

from spin_py.manifest import ManifestError, check_trigger_types, load_manifest, unserved_triggers

HEAD = 'spin_manifest_version = 2\n\n[application]\nname = "typo"\n\n'
COMPONENT = '[component.hello]\nsource = "app.wasm"\n'


def load(tmp_path, text):
    path = tmp_path / "spin.toml"
    path.write_text(textwrap.dedent(text))
    return load_manifest(path)


@pytest.fixture(autouse=True)
def no_spin_plugins(tmp_path, monkeypatch):
    """An empty Spin data folder: no installed plugins, no local plugin catalogue."""
    monkeypatch.setenv("SPIN_DATA_DIR", str(tmp_path / "spin-data"))


def test_a_misspelt_trigger_type_is_spins_error_with_its_line(tmp_path):
    app = load(tmp_path, HEAD + '[[trigger.http]]\nroute = "/"\ncomponent = "hello"\n\n'
               '[[trigger.htttp]]\nroute = "/..."\ncomponent = "hello"\n\n' + COMPONENT)
    with pytest.raises(ManifestError) as caught:
        check_trigger_types(app)
    assert str(caught.value) == (
        f"{tmp_path / 'spin.toml'}:10: trigger.htttp: No built-in trigger named 'htttp', "
        "and no plugin named 'trigger-htttp' was found (did you mean 'http'?)"
    )


def test_a_version_1_trigger_type_is_checked_too(tmp_path):
    app = load(tmp_path, '''\
        spin_manifest_version = "1"
        name = "old"
        trigger = { type = "htp" }

        [[component]]
        id = "hello"
        source = "app.wasm"
        [component.trigger]
        route = "/"
        ''')
    with pytest.raises(ManifestError) as caught:
        check_trigger_types(app)
    assert str(caught.value).endswith(
        ":3: trigger.type: No built-in trigger named 'htp', and no plugin named 'trigger-htp' was found (did you mean 'http'?)"
    )


def test_plugin_triggers_spin_can_find_are_named_as_not_served(tmp_path):
    app = load(tmp_path, HEAD + '''\
        [[trigger.http]]
        route = "/"
        component = "hello"

        [[trigger.redis]]
        channel = "orders"
        component = "hello"

        [[trigger.cron]]
        cron_expression = "1/2 * * * * *"
        component = "hello"

        [[trigger.sqs]]
        queue_url = "https://sqs.us-west-2.amazonaws.com/1/q"
        component = "hello"

        [[trigger.command]]
        component = "hello"
        ''' + COMPONENT)
    check_trigger_types(app)  # all of them exist for Spin
    assert unserved_triggers(app) == [  # redis is served (spin_py/trigger/redis.py)
        "Trigger 'hello-cron-trigger' (cron, component 'hello') is not served: "
        "it runs in the Spin plugin 'trigger-cron', which spin-py does not run",
        "Trigger 'hello-sqs-trigger' (sqs, component 'hello') is not served: "
        "it runs in the Spin plugin 'trigger-sqs', which spin-py does not run",
        "Trigger 'hello-command-trigger' (command, component 'hello') is not served: "
        "it runs in the Spin plugin 'trigger-command', which spin-py does not run",
    ]


def test_a_plugin_installed_in_spin_or_in_its_catalogue_is_a_known_type(tmp_path):
    app = load(tmp_path, HEAD + '[[trigger.kafka]]\ncomponent = "hello"\n\n[[trigger.nats]]\ncomponent = "hello"\n\n'
               + COMPONENT)
    with pytest.raises(ManifestError, match="no plugin named 'trigger-kafka'"):
        check_trigger_types(app)
    plugins = tmp_path / "spin-data" / "plugins"
    (plugins / "manifests").mkdir(parents=True)
    (plugins / "manifests" / "trigger-kafka.json").write_text(json.dumps({"name": "trigger-kafka"}))
    with pytest.raises(ManifestError, match="no plugin named 'trigger-nats'"):
        check_trigger_types(app)
    (plugins / ".spin-plugins" / "manifests" / "trigger-nats").mkdir(parents=True)
    check_trigger_types(app)
    assert [line.split(" is not served")[0] for line in unserved_triggers(app)] == [
        "Trigger 'hello-kafka-trigger' (kafka, component 'hello')",
        "Trigger 'hello-nats-trigger' (nats, component 'hello')",
    ]


def test_an_http_only_app_has_nothing_unserved(tmp_path):
    app = load(tmp_path, HEAD + '[[trigger.http]]\nroute = "/"\ncomponent = "hello"\n\n' + COMPONENT)
    check_trigger_types(app)
    assert unserved_triggers(app) == []


APP = HEAD + '''\
[[trigger.http]]
route = "/..."
component = "hello"

[[trigger.{other}]]
{config}
component = "hello"

[component.hello]
source = "app.wasm"
[component.hello.build]
command = "componentize-py -w spin-http componentize app -o app.wasm"
'''
HANDLER = """\
from spin_http import Response

def handle_request(request):
    return Response(200, {"content-type": "text/plain"}, b"hello")
"""


def write_app(tmp_path, other, config):
    (tmp_path / "app.py").write_text(HANDLER)
    path = tmp_path / "spin.toml"
    path.write_text(APP.format(other=other, config=config))
    return path


def test_spin_py_up_refuses_a_misspelt_trigger_type(tmp_path):
    path = write_app(tmp_path, "htttp", 'route = "/x"')
    result = run_cli("up", "-f", str(path), "--listen", "127.0.0.1:0", timeout=30)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"Error: {path}:10: trigger.htttp: No built-in trigger named 'htttp', "
        "and no plugin named 'trigger-htttp' was found (did you mean 'http'?)"
    )


@pytest.mark.parametrize(
    "other, config, line",
    [
        ("cron", 'cron_expression = "1/2 * * * * *"', "Trigger 'hello-cron-trigger' (cron, component 'hello') "
         "is not served: it runs in the Spin plugin 'trigger-cron', which spin-py does not run"),
    ],
)
def test_spin_py_up_says_which_trigger_it_does_not_serve(tmp_path, spin_up, other, config, line):
    server = spin_up(write_app(tmp_path, other, config), env={"SPIN_DATA_DIR": str(tmp_path / "spin-data")})
    assert server.get("/")[2] == b"hello"
    startup = server.output().split("Serving ")[0]
    assert startup.count(line) == 1
