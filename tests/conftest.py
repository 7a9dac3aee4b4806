import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from live import LiveServer  # noqa: E402
# Real servers from Debian's packages, started on free ports for the tests that name them.
from servers import mariadb_service, mosquitto_service, postgres_service, redis_server, redis_service  # noqa: E402, F401


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


def pytest_collection_modifyitems(items):
    for item in items:
        if _LIVE_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.live)
