"""spin.toml loading: version 2, version 1 normalized as Spin does, validation errors
with file/key/line, and finding a component's Python code from its build command."""

import dataclasses
import json
import pickle
import textwrap
from pathlib import Path

import pytest

from spin_py.manifest import (
    App,
    Build,
    Component,
    FrozenDict,
    HttpTrigger,
    ManifestError,
    NotPython,
    PythonEntry,
    RedisTrigger,
    Variable,
    load_manifest,
    python_entry,
)

HEAD = """\
spin_manifest_version = 2

[application]
name = "test-app"
"""


def write(folder, text, name="spin.toml"):
    path = Path(folder) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def load(folder, text, **kwargs):
    return load_manifest(write(folder, text), **kwargs)


def error(folder, text, **kwargs):
    """The one-line message loading ``text`` fails with."""
    with pytest.raises(ManifestError) as caught:
        load(folder, text, **kwargs)
    return str(caught.value)


def app_with(folder, component_lines, extra=""):
    """A v2 app whose one component `c` (served at /...) has ``component_lines``."""
    return load(
        folder,
        HEAD + '[[trigger.http]]\nroute = "/..."\ncomponent = "c"\n\n'
        '[component.c]\nsource = "c.wasm"\n' + textwrap.dedent(component_lines) + extra,
    )


def entry(folder, build_lines, source='"app.wasm"'):
    app = load(folder, HEAD + f'[[trigger.http]]\nroute = "/"\ncomponent = "c"\n[component.c]\nsource = {source}\n'
               + textwrap.dedent(build_lines))
    return python_entry(app, app.components["c"])


# -- version 2 ------------------------------------------------------------------------


def test_v2_application_and_component_fields(tmp_path):
    app = load(tmp_path, """\
        spin_manifest_version = 2

        [application]
        name = "shop"
        version = "1.2.3"
        description = "A shop"
        authors = ["Ann <ann@example.com>"]

        [application.tool.spin-test]
        anything = "ignored"

        [variables]
        api_host = { default = "example.com" }
        api_key = { required = true, secret = true, description = "the key" }

        [[trigger.http]]
        route = "/cart/..."
        component = "cart"

        [component.cart]
        source = "cart/app.wasm"
        description = "The cart"
        files = ["static/*.html", { source = "assets", destination = "/assets" }]
        exclude_files = ["static/secret.html"]
        allowed_outbound_hosts = ["https://{{ api_host }}", "redis://localhost:6379"]
        key_value_stores = ["default", "user_sessions", "cache-two"]
        sqlite_databases = ["default"]
        ai_models = ["llama2-chat", "all-minilm-l6-v2"]
        environment = { LOG_LEVEL = "debug" }
        variables = { endpoint = "https://{{ api_host }}/v1", key = "{{ api_key }}" }
        dependencies_inherit_configuration = true
        dependencies = { "wasi:clocks/monotonic-clock" = { path = "clock.wasm" }, "my:lib" = ">=0.1.0" }

        [component.cart.build]
        command = "componentize-py -w spin-http componentize app -o app.wasm"
        workdir = "cart"
        watch = ["*.py", "lib/**/*.py"]

        [component.cart.tool.lint]
        level = "strict"
        """)
    assert isinstance(app, App)
    assert app.path == (tmp_path / "spin.toml").resolve() and app.path.is_absolute()
    assert app.dir == tmp_path.resolve()
    assert (app.name, app.version, app.description, app.authors) == ("shop", "1.2.3", "A shop", ("Ann <ann@example.com>",))
    assert app.http_base == "/"
    assert app.manifest_version == 2
    assert app.variables == {
        "api_host": Variable(default="example.com"),
        "api_key": Variable(required=True, secret=True, description="the key"),
    }
    assert app.http_triggers == (HttpTrigger("/cart/...", False, "cart", None, id="cart-http-trigger"),)
    cart = app.components["cart"]
    assert cart == Component(
        id="cart",
        source="cart/app.wasm",
        description="The cart",
        files=("static/*.html", {"source": "assets", "destination": "/assets"}),
        exclude_files=("static/secret.html",),
        allowed_outbound_hosts=("https://{{ api_host }}", "redis://localhost:6379"),
        key_value_stores=("default", "user_sessions", "cache-two"),
        sqlite_databases=("default",),
        ai_models=("llama2-chat", "all-minilm-l6-v2"),
        environment={"LOG_LEVEL": "debug"},
        variables={"endpoint": "https://{{ api_host }}/v1", "key": "{{ api_key }}"},
        build=Build("componentize-py -w spin-http componentize app -o app.wasm", "cart", ("*.py", "lib/**/*.py")),
        dependencies={"wasi:clocks/monotonic-clock": {"path": "clock.wasm"}, "my:lib": ">=0.1.0"},
        dependencies_inherit_configuration=True,
    )
    assert cart.source_path == "cart/app.wasm" and cart.source_url is None
    assert app.warnings == ()


def test_folder_path_and_component_order(tmp_path):
    write(tmp_path, HEAD + """
        [[trigger.http]]
        route = "/b"
        component = "zeta"

        [[trigger.http]]
        route = "/a"
        component = "alpha"

        [component.zeta]
        source = "z.wasm"

        [component.alpha]
        source = "a.wasm"
        """)
    app = load_manifest(tmp_path)
    assert list(app.components) == ["zeta", "alpha"]
    assert [t.route for t in app.http_triggers] == ["/b", "/a"]


def test_http_trigger_variants_and_base(tmp_path):
    app = load(tmp_path, HEAD + """
        [application.trigger.http]
        base = "/api"

        [[trigger.http]]
        route = { private = true }
        component = "internal"

        [[trigger.http]]
        id = "cgi"
        route = "/cgi/..."
        component = "internal"
        executor = { type = "wagi", argv = "${SCRIPT_NAME} ${ARGS}" }

        [[trigger.http]]
        route = "/health"
        static_response = { status_code = 204, headers = { x-up = "yes" } }

        [[trigger.http]]
        route = "/cgi/..."
        component = "internal"

        [component.internal]
        source = "i.wasm"
        """)
    assert app.http_base == "/api"
    private, wagi, static, duplicate = app.http_triggers
    assert (private.route, private.private, private.component) == (None, True, "internal")
    assert wagi.executor == {"type": "wagi", "argv": "${SCRIPT_NAME} ${ARGS}"} and wagi.id == "cgi"
    assert static.component is None and static.static_response == {"status_code": 204, "headers": {"x-up": "yes"}}
    # Duplicate routes are routing's business, not the manifest's.
    assert duplicate.route == wagi.route
    assert [t.id for t in app.http_triggers] == ["internal-http-trigger", "cgi", "http-trigger1", "http-trigger2"]
    assert any("base is deprecated" in warning for warning in app.warnings)


def test_redis_and_plugin_triggers(tmp_path):
    app = load(tmp_path, HEAD + """
        [application.trigger.redis]
        address = "redis://localhost:6379"

        [[trigger.redis]]
        channel = "orders"
        component = "worker"

        [[trigger.cron]]
        cron_expression = "1/2 * * * * *"
        component = "worker"

        [component.worker]
        source = "w.wasm"
        """)
    assert app.redis_triggers == (RedisTrigger("orders", "worker", None, id="worker-redis-trigger"),)
    assert app.redis_address == "redis://localhost:6379"
    assert app.http_triggers == ()
    assert app.other_triggers == {
        "cron": ({"id": "worker-cron-trigger", "component": "worker", "cron_expression": "1/2 * * * * *"},)
    }


def test_inline_components_get_spins_ids(tmp_path):
    # Spin's own normalization test (crates/manifest/tests/ui/normalization.toml).
    app = load(tmp_path, """\
        spin_manifest_version = 2

        [application]
        name = "minimal-v2"

        [[trigger.http]]
        route = "/hello"
        component = "hello"

        [[trigger.http]]
        route = "/admin"
        id = "admin-handler"
        component = { source = "admin.wasm" }

        [[trigger.http]]
        route = "/other"
        component = { source = "other.wasm" }

        [[trigger.example]]
        components.hello = "hello"
        components.inline1 = { source = "inline1.wasm" }
        components.inline2 = { source = "inline2.wasm" }

        [component.hello]
        source = "hello.wasm"
        """)
    assert list(app.components) == [
        "hello", "admin-handler-component", "http-trigger1-component", "inline-component1", "inline-component2",
    ]  # fmt: skip
    assert [(t.id, t.component) for t in app.http_triggers] == [
        ("hello-http-trigger", "hello"),
        ("admin-handler", "admin-handler-component"),
        ("http-trigger1", "http-trigger1-component"),
    ]
    assert app.components["http-trigger1-component"].source == "other.wasm"
    assert app.components["http-trigger1-component"].id == "http-trigger1-component"
    assert app.other_triggers["example"][0]["components"] == {
        "hello": "hello", "inline1": "inline-component1", "inline2": "inline-component2",
    }  # fmt: skip


def test_inline_component_falls_back_to_a_counter(tmp_path):
    app = load(tmp_path, HEAD + """
        [[trigger.http]]
        route = "/a"
        id = "snake_id"
        component = { source = "a.wasm" }

        [[trigger.http]]
        route = "/b"
        component = { source = "b.wasm" }

        [component.http-trigger1-component]
        source = "taken.wasm"
        """)
    # `snake_id-component` is not kebab-case and `http-trigger1-component` is taken.
    assert [t.component for t in app.http_triggers] == ["inline-component1", "inline-component2"]
    assert app.components["inline-component2"].source == "b.wasm"


def test_profile_overrides(tmp_path):
    text = HEAD + """
        [[trigger.http]]
        route = "/..."
        component = "c"

        [component.c]
        source = "c.wasm"
        environment = { MODE = "prod", KEEP = "1" }
        [component.c.build]
        command = "componentize-py componentize app -o c.wasm"
        workdir = "src"
        [component.c.profile.debug]
        environment = { MODE = "debug" }
        build.command = "componentize-py componentize debug_app -o c.wasm"
        """
    plain, debug = load(tmp_path, text), load(tmp_path, text, profile="debug")
    assert plain.components["c"].environment == {"MODE": "prod", "KEEP": "1"}
    assert debug.components["c"].environment == {"MODE": "debug", "KEEP": "1"}
    assert debug.components["c"].build == Build("componentize-py componentize debug_app -o c.wasm", "src")
    assert python_entry(debug, debug.components["c"]).module == "debug_app"
    assert error(tmp_path, text, profile="deugb").endswith("spin.toml: profile deugb is not defined in this application")


def test_allowed_http_hosts_in_v2_is_converted_without_database_access(tmp_path):
    app = app_with(tmp_path, """\
        allowed_outbound_hosts = ["https://api.example.com"]
        allowed_http_hosts = ["example.com", "localhost:3001", "https://secure.example.com:443", "self"]
        """)
    assert app.components["c"].allowed_outbound_hosts == (
        "https://api.example.com",
        "http://example.com", "https://example.com",
        "http://localhost:3001", "https://localhost:3001",
        # The url crate drops a scheme's default port.
        "http://secure.example.com", "https://secure.example.com",
        "http://self",
    )  # fmt: skip
    assert app.warnings == ("component c: allowed_http_hosts is deprecated; use allowed_outbound_hosts",)


@pytest.mark.parametrize(
    ("entry", "hosts"),
    [
        # Spin's own cases (crates/manifest/src/compat/allowed_http_hosts.rs).
        ("http://spin.fermyon.dev/", ["http://spin.fermyon.dev", "https://spin.fermyon.dev"]),
        ("http://spin.fermyon.dev:4444", ["http://spin.fermyon.dev:4444", "https://spin.fermyon.dev:4444"]),
        ("spin.fermyon.dev:7777", ["http://spin.fermyon.dev:7777", "https://spin.fermyon.dev:7777"]),
        ("192.168.1.1:3002", ["http://192.168.1.1:3002", "https://192.168.1.1:3002"]),
        ("[::1]", ["http://[::1]", "https://[::1]"]),
        ("http://[::1]:8001", ["http://[::1]:8001", "https://[::1]:8001"]),
        ("Example.COM", ["http://example.com", "https://example.com"]),
        ("self", ["http://self"]),
    ],
)
def test_allowed_http_hosts_conversion(entry, hosts):
    from spin_py.manifest.hosts import convert_allowed_http_hosts

    assert convert_allowed_http_hosts([entry], allow_database_access=False) == hosts


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ("http://spin.fermyon.dev:6666/a/b", "http://spin.fermyon.dev:6666/a/b contains a path, should be host and optional port only"),
        ("ftp://spin.fermyon.dev", "ftp://spin.fermyon.dev isn't a valid host or host:port string"),
        ("spin.fermyon.dev:port", "spin.fermyon.dev:port isn't a valid host or host:port string"),
        ("http://", "http:// isn't a valid HTTP host URL: empty host"),
        ("http://bad host", "http://bad host isn't a valid HTTP host URL: invalid domain character"),
    ],
)
def test_invalid_allowed_http_hosts(entry, problem):
    from spin_py.manifest.hosts import HostError, convert_allowed_http_hosts

    with pytest.raises(HostError) as caught:
        convert_allowed_http_hosts([entry], allow_database_access=False)
    assert str(caught.value) == problem


def test_loaded_model_is_frozen_comparable_and_hashable(tmp_path):
    text = HEAD + '[[trigger.http]]\nroute = "/"\ncomponent = "c"\n[component.c]\nsource = "c.wasm"\nenvironment = { A = "1" }\n'
    first, second = load(tmp_path, text), load(tmp_path, text)
    assert first == second and first.components["c"] == second.components["c"]
    assert len({first.components["c"], second.components["c"], first}) == 2
    changed = load(tmp_path, text.replace('"1"', '"2"'))
    assert changed.components["c"] != first.components["c"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.components["c"].source = "other.wasm"
    with pytest.raises(TypeError):
        first.components["c"].environment["A"] = "3"
    assert isinstance(first.components, FrozenDict) and isinstance(first.components, dict)
    assert pickle.loads(pickle.dumps(first)) == first


# -- version 1 ------------------------------------------------------------------------


def test_v1_is_normalized_like_spin(tmp_path):
    app = load(tmp_path, """\
        spin_manifest_version = "1"
        name = "old-app"
        version = "0.1.0"
        authors = ["ann"]
        trigger = { type = "http", base = "/base" }

        [variables]
        greeting = { default = "hi" }

        [[component]]
        id = "snake_case"
        source = "a.wasm"
        allowed_http_hosts = ["example.com", "localhost:3001"]
        config = { message = "{{ greeting }}" }
        [component.trigger]
        route = "/a/..."
        [component.build]
        command = "componentize-py componentize app -o a.wasm"

        [[component]]
        id = "mixedCase"
        source = "b.wasm"
        allowed_outbound_hosts = ["https://fermyon.com:443"]
        allowed_http_hosts = ["example.com"]
        trigger = { route = "/b", executor = { type = "wagi" } }

        [[component]]
        id = "LOUD-id"
        source = "c.wasm"
        trigger = { route = "/c" }
        """)
    assert app.manifest_version == 1
    assert (app.name, app.version, app.authors, app.http_base) == ("old-app", "0.1.0", ("ann",), "/base")
    assert app.warnings == ("the HTTP trigger base is deprecated (Spin 3 refuses it): prepend '/base' to each route instead",)
    assert list(app.components) == ["snake-case", "mixedcase", "LOUD-id"]
    assert app.variables == {"greeting": Variable(default="hi")}
    snake, mixed, _ = app.components.values()
    assert snake.variables == {"message": "{{ greeting }}"}
    assert snake.build.command == "componentize-py componentize app -o a.wasm"
    # Without allowed_outbound_hosts a v1 component could reach any database; Spin keeps that.
    assert snake.allowed_outbound_hosts == (
        "redis://*:*", "mysql://*:*", "postgres://*:*",
        "http://example.com", "https://example.com", "http://localhost:3001", "https://localhost:3001",
    )  # fmt: skip
    assert mixed.allowed_outbound_hosts == ("https://fermyon.com:443", "http://example.com", "https://example.com")
    assert app.http_triggers == (
        HttpTrigger("/a/...", False, "snake-case", None, id="trigger-snake-case"),
        HttpTrigger("/b", False, "mixedcase", {"type": "wagi"}, id="trigger-mixedcase"),
        HttpTrigger("/c", False, "LOUD-id", None, id="trigger-LOUD-id"),
    )
    assert python_entry(app, snake) == PythonEntry("app", tmp_path.resolve(), (tmp_path.resolve(),))


def test_v1_old_spin_version_key_and_redis(tmp_path):
    app = load(tmp_path, """\
        spin_version = "1"
        name = "old-redis"
        trigger = { type = "redis", address = "redis://localhost:6379" }

        [[component]]
        id = "echo"
        source = "echo.wasm"
        allowed_http_hosts = ["insecure:allow-all"]
        [component.trigger]
        channel = "messages"
        """)
    assert app.redis_triggers == (RedisTrigger("messages", "echo", None, id="trigger-echo"),)
    assert app.redis_address == "redis://localhost:6379"
    assert app.components["echo"].allowed_outbound_hosts == (
        "redis://*:*", "mysql://*:*", "postgres://*:*", "http://*:*", "https://*:*", "http://self",
    )  # fmt: skip


def test_v1_errors_point_at_v1_keys(tmp_path):
    v1 = 'spin_manifest_version = "1"\nname = "x"\ntrigger = { type = "http" }\n\n[[component]]\n'
    assert error(tmp_path, v1 + 'id = "a"\nsource = "a.wasm"\ntrigger = { route = "/" }\nsauce = 1\n') == (
        f"{tmp_path / 'spin.toml'}:9: component[0].sauce: unknown key (expected one of: id, source, trigger, "
        "description, config, environment, files, exclude_files, allowed_http_hosts, allowed_outbound_hosts, "
        "key_value_stores, sqlite_databases, ai_models, build)"
    )
    assert error(tmp_path, v1 + 'id = "1st"\nsource = "a.wasm"\ntrigger = { route = "/" }\n').endswith(
        ":6: component[0].id: invalid ID `1st`: '-'-separated words must start with an ASCII letter; got '1'"
    )
    assert error(tmp_path, v1 + 'id = "a"\nsource = "a.wasm"\ntrigger = { path = "/" }\n').endswith(
        ":8: component[0].trigger.path: unknown key (expected one of: route, executor, static_response)"
    )
    assert error(tmp_path, 'spin_manifest_version = "1"\nname = "x"\ntrigger = { base = "/" }\n').endswith(
        ":3: trigger.type: required key is missing"
    )
    assert error(tmp_path, 'spin_version = "1"\nspin_manifest_version = "1"\nname = "x"\n').endswith(
        ":1: spin_version: duplicate of spin_manifest_version; keep only one"
    )


# -- validation errors ------------------------------------------------------------------


def test_unknown_keys_are_errors_with_line(tmp_path):
    text = HEAD + """
        [[trigger.http]]
        route = "/..."
        component = "hello-world"

        [component.hello-world]
        source = "app.wasm"
        sauce = "tomato"
        """
    assert error(tmp_path, text) == (
        f"{tmp_path / 'spin.toml'}:12: component.hello-world.sauce: unknown key (expected one of: source, "
        "description, variables, environment, files, exclude_files, allowed_http_hosts, allowed_outbound_hosts, "
        "key_value_stores, sqlite_databases, ai_models, targets, build, tool, dependencies_inherit_configuration, "
        "dependencies, profile)"
    )
    assert error(tmp_path, HEAD + 'colour = "red"\n').endswith(
        ":5: application.colour: unknown key (expected one of: name, version, description, authors, targets, trigger, tool)"
    )
    assert error(tmp_path, 'spin_manifest_version = 2\nextra = 1\n[application]\nname = "x"\n').endswith(
        ":2: extra: unknown key (expected one of: spin_manifest_version, application, variables, trigger, component)"
    )
    assert error(tmp_path, HEAD + '[[trigger.http]]\nroute = "/"\ncomponent = "c"\nroutes = "/x"\n'
                 '[component.c]\nsource = "c.wasm"\n').endswith(
        ":8: trigger.http[0].routes: unknown key (expected one of: id, component, components, dependencies, "
        "route, executor, static_response)"
    )
    assert error(tmp_path, HEAD + '[application.trigger.http]\nbase = "/"\nprefix = "/x"\n[[trigger.http]]\n'
                 'route = "/"\ncomponent = { source = "c.wasm" }\n').endswith(
        ":7: application.trigger.http.prefix: unknown key (expected one of: base)"
    )


def test_error_inside_an_inline_table_points_at_its_key(tmp_path):
    text = HEAD + """
        [[trigger.http]]
        route = "/"
        component = { source = "a.wasm", sauce = 1 }
        """
    assert error(tmp_path, text).endswith(":8: trigger.http[0].component.sauce: unknown key (expected one of: "
                                          "source, description, variables, environment, files, exclude_files, "
                                          "allowed_http_hosts, allowed_outbound_hosts, key_value_stores, "
                                          "sqlite_databases, ai_models, targets, build, tool, "
                                          "dependencies_inherit_configuration, dependencies, profile)")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("spin_manifest_version = 3\n", "spin.toml:1: spin_manifest_version: must be 1 or 2, found 3"),
        ('spin_manifest_version = "2"\n',
         'spin.toml:1: spin_manifest_version: must be 1 or 2, found "2" (version 2 is a number: spin_manifest_version = 2)'),
        ("spin_manifest_version = 1\n",
         'spin.toml:1: spin_manifest_version: must be 1 or 2, found 1 (version 1 is a string: spin_manifest_version = "1")'),
        ('[application]\nname = "x"\n',
         "spin.toml: spin_manifest_version: required key is missing (spin_manifest_version = 2 starts a manifest)"),
        ("spin_version = 2\n",
         "spin.toml:1: spin_version: only version 1 manifests use spin_version; write spin_manifest_version = 2"),
    ],
)
def test_version_errors(tmp_path, monkeypatch, text, expected):
    monkeypatch.chdir(tmp_path)
    write(tmp_path, text)
    with pytest.raises(ManifestError) as caught:
        load_manifest("spin.toml")
    assert str(caught.value) == expected
    assert caught.value.file == "spin.toml"


def test_ids_and_names_follow_spins_rules(tmp_path):
    # Spin's own invalid cases (crates/manifest/tests/ui/invalid).
    assert error(tmp_path, HEAD + '\n[component.bad_id]\nsource = "a.wasm"\n').endswith(
        ":6: component.bad_id: invalid component id: words must be separated with '-', not '_'"
    )
    assert error(tmp_path, HEAD + '\n[[trigger.fake]]\ncomponent = "1-2-3"\n').endswith(
        ":7: trigger.fake[0].component: invalid component id: '-'-separated words must start with an ASCII letter; got '1'"
    )
    assert error(tmp_path, HEAD + '\n[variables]\n"bad+name" = { required = true }\n'
                 '[[trigger.example]]\ncomponent = { source = "example.wasm" }\n').endswith(
        ":7: variables.\"bad+name\": invalid variable name: '_'-separated words may only contain alphanumeric ASCII; got '+'"
    )
    assert error(tmp_path, HEAD + '\n[[trigger.http]]\nroute = "/"\ncomponent = "c"\n'
                 '[component.c]\nsource = "c.wasm"\nvariables = { apiKey = "x" }\n').endswith(
        ":11: component.c.variables.apiKey: invalid variable name: "
        "'_'-separated words must be all lowercase or all UPPERCASE; got \"apiKey\""
    )
    assert error(tmp_path, HEAD + '[variables]\nKEY = { default = "x" }\n').endswith(
        ':6: variables.KEY: invalid variable name: Lower-case identifiers must be all lowercase; got "KEY"'
    )
    assert error(tmp_path, HEAD + '[[trigger.http]]\nroute = "/"\ncomponent = "c"\n'
                 '[component.c]\nsource = "c.wasm"\nkey_value_stores = ["my store"]\n').endswith(
        ":10: component.c.key_value_stores[0]: invalid label 'my store': expected kebab-case or snake_case"
    )


def test_semantic_errors(tmp_path):
    routed = HEAD + '[[trigger.http]]\nroute = "/"\ncomponent = "hello"\n\n'
    assert error(tmp_path, routed + '[component.helo]\nsource = "h.wasm"\n').endswith(
        ':7: trigger.http[0].component: component "hello" does not exist (components: helo)'
    )
    assert error(tmp_path, HEAD + '[variables]\nboth = { required = true, default = "x" }\n').endswith(
        ":6: variables.both: must be `required` OR have a `default`"
    )
    assert error(tmp_path, HEAD + '[variables]\nneither = { secret = true }\n').endswith(
        ":6: variables.neither: must be `required` OR have a `default`"
    )
    assert error(tmp_path, HEAD + '[[trigger.http]]\ncomponent = { source = "a.wasm" }\n').endswith(
        ":5: trigger.http[0].route: required key is missing"
    )
    assert error(tmp_path, HEAD + '[[trigger.http]]\nroute = { private = false }\ncomponent = { source = "a.wasm" }\n').endswith(
        ":6: trigger.http[0].route: must be a string pattern or { private = true }, not { private = false }"
    )
    assert error(tmp_path, HEAD + '[[trigger.http]]\nroute = "/"\n').endswith(
        ":5: trigger.http[0]: an HTTP trigger needs either component or static_response; this one has neither"
    )
    assert error(tmp_path, routed + '[component.hello]\ndescription = "no source"\n').endswith(
        ":9: component.hello.source: required key is missing"
    )
    assert error(tmp_path, routed + '[component.hello]\nsource = "h.wasm"\nallowed_http_hosts = ["ftp://example.com"]\n').endswith(
        ":11: component.hello.allowed_http_hosts: invalid entry: ftp://example.com isn't a valid host or host:port string"
    )
    assert error(tmp_path, routed + '[component.hello]\nsource = "h.wasm"\nallowed_http_hosts = ["http://example.com/api"]\n').endswith(
        "invalid entry: http://example.com/api contains a path, should be host and optional port only"
    )
    assert error(tmp_path, 'spin_manifest_version = 2\n[application]\nname = "x"\n').endswith(
        "spin.toml: trigger: required key is missing"
    )
    assert error(tmp_path, 'spin_manifest_version = 2\n[application]\nversion = "1"\n').endswith(
        ":2: application.name: required key is missing"
    )


def test_dependency_errors(tmp_path):
    routed = HEAD + '[[trigger.http]]\nroute = "/"\ncomponent = "a"\n\n[component.a]\nsource = "a.wasm"\n'
    assert error(tmp_path, routed + '[component.a.dependencies]\n"my:dep" = { component = "b" }\n').endswith(
        ':12: component.a.dependencies."my:dep".component: dependency ID b does not exist'
    )
    assert error(tmp_path, routed + '[component.a.dependencies]\n"my:dep" = { component = "b" }\n'
                 '[component.b]\nsource = "b.wasm"\nai_models = ["llama2-chat"]\n').endswith(
        "Component b cannot be used as a dependency of a because it specifies: ai_models"
    )
    assert error(tmp_path, routed + '[component.a.dependencies]\nfoo-bar = "1.0.0"\n').endswith(
        ":12: component.a.dependencies.foo-bar: dependency 'foo-bar' must specify a package name"
    )
    assert error(tmp_path, routed + '[component.a.dependencies]\n"my:dep" = { path = "x.wasm", version = "1" }\n').endswith(
        ':12: component.a.dependencies."my:dep": expected a version requirement string or a table with one of: '
        "version, path, url and digest, component (plus optional export and inherit_configuration)"
    )
    assert error(tmp_path, routed + 'dependencies_inherit_configuration = true\n'
                 'dependencies = { "my:dep" = { path = "x.wasm", inherit_configuration = true } }\n').endswith(
        ':12: component.a.dependencies."my:dep".inherit_configuration: '
        "cannot be used with the component's dependencies_inherit_configuration: use one or the other"
    )


def test_toml_syntax_errors_become_manifest_errors(tmp_path):
    message = error(tmp_path, HEAD + '[component.c]\nsource = "unterminated\n')
    assert message.startswith(f"{tmp_path / 'spin.toml'}:6: invalid TOML: ")
    message = error(tmp_path, HEAD + 'name = "again"\n')
    assert message.startswith(f"{tmp_path / 'spin.toml'}:5: invalid TOML: ")


def test_file_errors(tmp_path):
    with pytest.raises(ManifestError, match=r"no spin.toml in this folder$"):
        load_manifest(tmp_path)
    with pytest.raises(ManifestError, match=r"other.toml: no such file$"):
        load_manifest(tmp_path / "other.toml")
    (tmp_path / "spin.toml").write_bytes(b'name = "\xff"\n')
    with pytest.raises(ManifestError, match=r"spin.toml: not UTF-8 text"):
        load_manifest(tmp_path)


@pytest.mark.parametrize(
    ("component_lines", "expected"),
    [
        ('ai_models = "llama2-chat"', ':11: component.c.ai_models: expected a list of strings, found a string ("llama2-chat")'),
        ("ai_models = [1]", ":11: component.c.ai_models[0]: expected a string, found an integer (1)"),
        ("environment = { A = 1 }", ":11: component.c.environment.A: expected a string, found an integer (1)"),
        ('environment = ["A=1"]', ":11: component.c.environment: expected a table of strings, found an array"),
        ("files = [1]", ':11: component.c.files[0]: expected a glob pattern or { source = "...", destination = "..." }, found an integer (1)'),
        ('files = "*"', ':11: component.c.files: expected a list of glob patterns and { source, destination } tables, found a string ("*")'),
        ('files = [{ source = "a" }]', ":11: component.c.files[0].destination: required key is missing"),
        ('build = "make"', ':11: component.c.build: expected a table, found a string ("make")'),
        ("build = { command = 1 }", ":11: component.c.build.command: expected a command string or a list of them, found an integer (1)"),
        ('build = { command = "x", dir = "y" }', ":11: component.c.build.dir: unknown key (expected one of: command, workdir, watch)"),
        ('build = { command = "x", watch = "*.py" }', ':11: component.c.build.watch: expected a list of strings, found a string ("*.py")'),
        ("description = true", ":11: component.c.description: expected a string, found a boolean (true)"),
        ("dependencies_inherit_configuration = 1", ":11: component.c.dependencies_inherit_configuration: expected a boolean (true or false), found an integer (1)"),
        ("variables = 1", ":11: component.c.variables: expected a table, found an integer (1)"),
        ('tool = { lint = "x" }', ':11: component.c.tool.lint: expected a table, found a string ("x")'),
        ("profile = { debug = 1 }", ":11: component.c.profile.debug: expected a table, found an integer (1)"),
        ("dependencies = 1", ":11: component.c.dependencies: expected a table, found an integer (1)"),
        ("targets = 1", ":11: component.c.targets: expected a list of environments, found an integer (1)"),
        ("sqlite_databases = 2024-01-01", ":11: component.c.sqlite_databases: expected a list of strings, found a date/time"),
    ],
)
def test_wrong_types_name_the_key(tmp_path, component_lines, expected):
    assert error(tmp_path, HEAD + '[[trigger.http]]\nroute = "/"\ncomponent = "c"\n\n[component.c]\nsource = "c.wasm"\n'
                 + component_lines + "\n").endswith(expected)


TOP = 'spin_manifest_version = 2\n'
APP = '[application]\nname = "x"\n'
INLINE = '[[trigger.http]]\nroute = "/"\ncomponent = { source = "a.wasm" }\n'
V1 = 'spin_manifest_version = "1"\nname = "x"\n'


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (TOP + "component = 5\n" + APP, ":2: component: expected a table, found an integer (5)"),
        (TOP + "trigger = 5\n" + APP, ":2: trigger: expected a table of [[trigger.<type>]] arrays, found an integer (5)"),
        (TOP + "variables = []\n" + APP, ":2: variables: expected a table, found an array"),
        (TOP + 'component.x = "y"\n' + APP, ':2: component.x: expected a table, found a string ("y")'),
        (TOP + 'application = "x"\n', ':2: application: expected a table, found a string ("x")'),
        (TOP + "[application]\nname = 1\n", ":3: application.name: expected a string, found an integer (1)"),
        (TOP + APP + 'authors = "me"\n', ':4: application.authors: expected a list of strings, found a string ("me")'),
        (TOP + APP + "[application.trigger.http]\nbase = 1\n", ":5: application.trigger.http.base: expected a string, found an integer (1)"),
        (TOP + APP + '[application.trigger.redis]\nhost = "x"\n', ":5: application.trigger.redis.host: unknown key (expected one of: address)"),
        (TOP + APP + '[variables]\nx = "default"\n',
         ':5: variables.x: expected a variable table, e.g. { default = "..." } or { required = true }, found a string ("default")'),
        (TOP + APP + "[variables]\nx = { default = 1 }\n", ":5: variables.x.default: expected a string, found an integer (1)"),
        (TOP + APP + '[variables]\nx = { default = "1", hidden = true }\n',
         ":5: variables.x.hidden: unknown key (expected one of: description, required, default, secret)"),
        (TOP + APP + '[trigger.http]\nroute = "/"\n', ":4: trigger.http: expected an array of tables ([[trigger.http]]), found a table"),
        (TOP + APP + '[[trigger.http]]\nroute = 1\ncomponent = { source = "a" }\n',
         ":5: trigger.http[0].route: expected a route string or { private = true }, found an integer (1)"),
        (TOP + APP + '[[trigger.http]]\nroute = { private = "yes" }\ncomponent = { source = "a" }\n',
         ':5: trigger.http[0].route.private: expected a boolean (true or false), found a string ("yes")'),
        (TOP + APP + '[[trigger.http]]\nroute = "/"\ncomponent = ["a"]\n',
         ":6: trigger.http[0].component: expected a component id or an inline component table, found an array"),
        (TOP + APP + '[[trigger.http]]\nroute = "/"\ncomponent = { source = 5 }\n',
         ":6: trigger.http[0].component.source: expected a path string, { url = \"...\", digest = \"sha256:...\" } "
         "or { registry = \"...\", package = \"...\", version = \"...\" }, found an integer (5)"),
        (TOP + APP + '[[trigger.http]]\nroute = "/"\ncomponent = { source = { url = "u" } }\n',
         ":6: trigger.http[0].component.source.digest: required key is missing"),
        (TOP + APP + '[[trigger.http]]\nroute = "/"\ncomponent = { source = { package = "nocolon", version = "1" } }\n',
         ':6: trigger.http[0].component.source.package: expected a package name like "namespace:name"'),
        (TOP + APP + INLINE + 'executor = "wagi"\n',
         ':7: trigger.http[0].executor: expected { type = "http" } or { type = "wagi", ... }, found a string ("wagi")'),
        (TOP + APP + INLINE + 'executor = { type = "cgi" }\n',
         ':7: trigger.http[0].executor.type: unknown executor "cgi" (expected one of: http, spin, wagi)'),
        (TOP + APP + INLINE + 'executor = { type = "http", argv = "x" }\n',
         ":7: trigger.http[0].executor.argv: unknown key (expected one of: type)"),
        (TOP + APP + INLINE + 'static_response = { body = "x" }\n',
         ":4: trigger.http[0]: an HTTP trigger needs either component or static_response; this one has both"),
        (TOP + APP + '[[trigger.http]]\nroute = "/"\nstatic_response = { status_code = "ok" }\n',
         ':6: trigger.http[0].static_response.status_code: expected an HTTP status code, found a string ("ok")'),
        (TOP + APP + INLINE + "components = 3\n", ":7: trigger.http[0].components: expected a table, found an integer (3)"),
        (TOP + APP + INLINE + "dependencies = { role = 1 }\n",
         ":7: trigger.http[0].dependencies.role: expected an array of dependency tables, found an integer (1)"),
        (TOP + APP + '[[trigger.redis]]\ncomponent = { source = "a" }\n', ":4: trigger.redis[0].channel: required key is missing"),
        (TOP + APP + '[[trigger.redis]]\nchannel = "c"\n', ":4: trigger.redis[0].component: required key is missing"),
        (TOP + APP + '[[trigger.http]]\nid = 3\nroute = "/"\ncomponent = { source = "a" }\n',
         ":5: trigger.http[0].id: expected a string, found an integer (3)"),
        (V1 + 'trigger = "http"\n', ':3: trigger: expected a table like { type = "http" }, found a string ("http")'),
        (V1 + 'trigger = { type = "http" }\ncomponent = { id = "a" }\n',
         ":4: component: expected an array of tables ([[component]]), found a table"),
        (V1 + 'trigger = { type = "http" }\n[[component]]\nid = 1\nsource = "a"\ntrigger = {}\n',
         ":5: component[0].id: expected a string, found an integer (1)"),
        (V1 + 'trigger = { type = "http" }\n[[component]]\nid = "a"\nsource = "a"\ntrigger = 1\n',
         ":7: component[0].trigger: expected a table, found an integer (1)"),
        (V1 + 'trigger = { type = "http" }\n[[component]]\nid = "a"\nsource = "a"\ntrigger = {}\n',
         ":7: component[0].trigger.route: required key is missing"),
        ("spin_manifest_version = [2]\n", ":1: spin_manifest_version: must be 1 or 2, found an array"),
        ("", "spin.toml: spin_manifest_version: required key is missing (spin_manifest_version = 2 starts a manifest)"),
    ],
)
def test_mistakes_never_escape_as_tracebacks(tmp_path, text, expected):
    message = error(tmp_path, text)
    assert message.startswith(str(tmp_path / "spin.toml"))
    assert message.endswith(expected)


def test_manifest_error_survives_pickling(tmp_path):
    original = ManifestError("spin.toml", "unknown key", "component.a.b", 7)
    copy = pickle.loads(pickle.dumps(original))
    assert (str(copy), copy.key, copy.line) == ("spin.toml:7: component.a.b: unknown key", "component.a.b", 7)


# -- finding the Python code --------------------------------------------------------------


def test_componentize_py_entry(tmp_path):
    found = entry(tmp_path, '[component.c.build]\ncommand = "componentize-py -w spin-http componentize app -o app.wasm"\n')
    assert found == PythonEntry("app", tmp_path.resolve(), (tmp_path.resolve(),))


@pytest.mark.parametrize(
    ("command", "module", "paths"),
    [
        ("componentize-py componentize -o app.wasm -p src handler", "handler", ["src"]),
        ("componentize-py -d wit -w spin-http componentize -p src -p lib handler -o out.wasm", "handler", ["src", "lib"]),
        ("componentize-py --wit-path wit --world spin-http componentize --python-path src --output app.wasm handler",
         "handler", ["src"]),
        ("componentize-py --world=spin-http componentize --python-path=src --output=app.wasm handler", "handler", ["src"]),
        ("componentize-py componentize handler -psrc -p=lib -oapp.wasm", "handler", ["src", "lib"]),
        ("componentize-py -q componentize --stub-wasi -m spin_sdk=spin-all handler -o app.wasm", "handler", ["."]),
        ("componentize-py componentize -p src:lib pkg.main -o app.wasm", "pkg.main", ["src", "lib"]),
        ("pip install -r requirements.txt && componentize-py -w spin-http componentize app -o app.wasm", "app", ["."]),
        ("componentize-py -w spin-http bindings out && componentize-py componentize app -o a.wasm", "app", ["."]),
        ("python3 -m componentize_py componentize app -o app.wasm", "app", ["."]),
        (".venv/bin/componentize-py componentize app -o app.wasm 2>&1 | tee build.log", "app", ["."]),
        ("PYTHONPATH=x uv run componentize-py componentize 'my app' -o app.wasm", "my app", ["."]),
        ("spin py2wasm app -o app.wasm", "app", ["."]),
        ("spin py2wasm -p lib app", "app", ["lib"]),
    ],
)
def test_build_command_variants(tmp_path, command, module, paths):
    found = entry(tmp_path, f"[component.c.build]\ncommand = {json.dumps(command)}\n")
    assert isinstance(found, PythonEntry), found
    assert found.module == module
    assert found.workdir == tmp_path.resolve()
    assert found.paths == tuple((tmp_path / path).resolve() for path in paths)


def test_workdir_and_cd_move_where_paths_are_from(tmp_path):
    found = entry(tmp_path, '[component.c.build]\nworkdir = "py"\ncommand = "componentize-py componentize app -p . -p ../shared -o a.wasm"\n')
    assert found == PythonEntry("app", (tmp_path / "py").resolve(), ((tmp_path / "py").resolve(), (tmp_path / "shared").resolve()))
    found = entry(tmp_path, '[component.c.build]\nworkdir = "py"\ncommand = "cd src && componentize-py componentize app -o ../a.wasm"\n')
    assert found == PythonEntry("app", (tmp_path / "py/src").resolve(), ((tmp_path / "py/src").resolve(),))
    # A command list runs each entry in a fresh shell from the workdir.
    found = entry(tmp_path, '[component.c.build]\ncommand = ["pip install -t deps -r requirements.txt", '
                  '"componentize-py componentize app -p . -p deps -o a.wasm"]\n')
    assert found.paths == (tmp_path.resolve(), (tmp_path / "deps").resolve())


@pytest.mark.parametrize(
    ("source", "build", "reason"),
    [
        ('{ url = "https://github.com/fermyon/spin-fileserver/releases/download/v0.3.0/spin_static_fs.wasm", digest = "sha256:1" }',
         '[component.c.build]\ncommand = "componentize-py componentize app"\n',
         "source is a URL (https://github.com/fermyon/spin-fileserver/releases/download/v0.3.0/spin_static_fs.wasm), not a Python app"),
        ('{ registry = "ttl.sh", package = "fermyon:static-fs", version = "0.3.0" }', "",
         "source is a registry package (fermyon:static-fs@0.3.0), not a Python app"),
        ('"app.wasm"', "", "it has no build command, so its Python code cannot be found"),
        ('"app.wasm"', '[component.c.build]\ncommand = "cargo build --target wasm32-wasip1 --release"\n',
         "build command `cargo build --target wasm32-wasip1 --release` does not run componentize-py or spin py2wasm, not a Python app"),
        ('"app.wasm"', '[component.c.build]\ncommand = "componentize-py -w spin-http bindings out"\n',
         "build command `componentize-py -w spin-http bindings out` does not run componentize-py or spin py2wasm, not a Python app"),
        ('"app.wasm"', '[component.c.build]\ncommand = "componentize-py componentize -o app.wasm"\n',
         "build command `componentize-py componentize -o app.wasm` does not name the Python module for componentize-py"),
        ('"app.wasm"', """[component.c.build]\ncommand = "componentize-py componentize 'app"\n""",
         "build command `componentize-py componentize 'app` cannot be parsed: No closing quotation"),
        ('"app.wasm"', '[component.c.build]\nworkdir = "/abs"\ncommand = "componentize-py componentize app"\n',
         "build.workdir '/abs' must be relative to the manifest's folder"),
    ],
)
def test_not_python(tmp_path, source, build, reason):
    assert entry(tmp_path, build, source=source) == NotPython(reason)


def test_entries_compare_equal_when_nothing_changed(tmp_path):
    build = '[component.c.build]\ncommand = "componentize-py componentize app -p src -o a.wasm"\n'
    assert entry(tmp_path, build) == entry(tmp_path, build)
    assert entry(tmp_path, build) != entry(tmp_path, build.replace("app", "main"))
