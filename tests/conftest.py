import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from live import LiveServer  # noqa: E402


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
