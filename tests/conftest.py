import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from live import LiveServer

# Real servers from Debian's packages, started on free ports for the tests that name them.
from servers import mariadb_service, mosquitto_service, postgres_service, redis_server, redis_service  # noqa: F401


@pytest.fixture
def spin_up(tmp_path):
    """Start `spin-py up` for a manifest: ``spin_up(manifest, *flags)`` returns a ready LiveServer."""
    servers = []

    def start(manifest, *args, env=None):
        server = LiveServer(manifest, *args, log_path=tmp_path / f"spin-py-{len(servers)}.log", env=env)
        servers.append(server)
        return server.wait_ready()

    yield start
    for server in servers:
        server.stop()


# What makes a test live: it starts `spin-py up`, a Debian server, a local origin or the
# pytest plugin's app. `pytest -m "not live"` leaves those out (README, "Development").
_LIVE_FIXTURES = {"spin_up", "spin_app", "redis_server", "redis_service", "postgres_service", "mariadb_service",
                  "mosquitto_service", "origin", "tls_origin"}


# Modules whose tests start processes themselves (a component's, a model's, pip's, componentize-py's)
# or wait on real clocks: each takes half a second or more in all.
_LIVE_MODULES = {
    "tests/capabilities/key_value/test_kv_config.py",
    "tests/capabilities/llm/test_ai_models.py",
    "tests/capabilities/llm/test_batching.py",
    "tests/capabilities/llm/test_llm_pool.py",
    "tests/capabilities/llm/test_llm_remote.py",
    "tests/capabilities/mqtt/test_mqtt_limits.py",
    "tests/capabilities/outbound_http/test_outbound_destination.py",
    "tests/capabilities/outbound_http/test_outbound_http_sdk5.py",
    "tests/capabilities/sqlite/test_sqlite_examples.py",
    "tests/capabilities/sqlite/test_sqlite_limits.py",
    "tests/capabilities/sqlite/test_sqlite_live.py",
    "tests/capabilities/test_limits.py",
    "tests/capabilities/variables/test_variables_up.py",
    "tests/guest/test_guest.py",
    "tests/guest/test_guest_hardening.py",
    "tests/guest/test_wasm_world.py",
    "tests/host/test_app_python.py",
    "tests/host/test_build_check.py",
    "tests/host/test_pool.py",
    "tests/host/test_requirements_txt.py",
    "tests/host/test_watch.py",
    "tests/host/test_worker_turns.py",
    "tests/inspector/test_inspector_browser.py",
    "tests/manifest/test_environment_names.py",
    "tests/manifest/test_missing_module.py",
    "tests/manifest/test_trigger_types.py",
    "tests/scaffold/test_plugin.py",
    "tests/scaffold/test_scaffold.py",
    "tests/scaffold/test_wheel_install.py",
    "tests/test_cli.py",
    "tests/test_up_app.py",
    "tests/trigger/redis/test_redis_trigger_reload.py",
    "tests/trigger/static/test_static_fileserver_recognised.py",
    "tests/trigger/static/test_static_fileserver_up.py",
    "tests/trigger/kv_explorer/test_kv_explorer_up.py",
    "tests/trigger/test_http_holds.py",
    "tests/trigger/test_http_keep_alive.py",
    "tests/trigger/test_server_threads.py",
}


def pytest_collection_modifyitems(items):
    for item in items:
        module = item.nodeid.split("::", 1)[0]
        if module in _LIVE_MODULES or _LIVE_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.live)
