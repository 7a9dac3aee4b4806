"""A component's worker pool, with real worker processes."""

import sys
import threading
import time

import pytest

from apps import write_app
from spin_py.host.launch import WorkerSettings
from spin_py.host.output import ComponentOutput
from spin_py.host.pool import ComponentPool
from spin_py.host.worker import LoadFailed, Worker

HELLO = """
    from spin_http import Response

    def handle_request(request):
        return Response(200, {}, b"hi")
"""


def make_pool(tmp_path, source, **kwargs):
    write_app(tmp_path, 'spin_manifest_version = 2\n[application]\nname = "x"\n', {"app.py": source})
    settings = WorkerSettings(component="pooled", module="app", workdir=str(tmp_path))
    output = ComponentOutput("pooled", tmp_path)
    spawned = []

    def spawn():
        worker = Worker(sys.executable, settings, {}, output)
        worker.wait_ready()
        spawned.append(worker)
        return worker

    return ComponentPool("pooled", spawn, **kwargs), spawned


def wait_until(condition, timeout=10):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition never held"
        time.sleep(0.02)


def test_one_worker_is_started_ahead_and_reused(tmp_path):
    pool, spawned = make_pool(tmp_path, HELLO)
    pool.start()
    wait_until(lambda: len(spawned) == 1)
    for _ in range(5):
        with pool.lease() as worker:
            assert worker.serve("GET", "/", [], b"", None).body == b"hi"
    # Sequential requests use one worker and keep one spare ready beside it.
    assert len(spawned) <= 2
    pool.close()


def test_workers_grow_to_the_limit_then_extra_idle_ones_retire(tmp_path):
    pool, spawned = make_pool(tmp_path, HELLO, max_workers=3, idle_timeout=0.5)
    pool.start()
    leases = [pool.lease() for _ in range(3)]
    workers = [lease.__enter__() for lease in leases]
    assert len({id(w) for w in workers}) == 3
    assert pool.size == 3

    queued = []
    fourth = pool.lease()
    thread = threading.Thread(target=lambda: queued.append(fourth.__enter__()))
    thread.start()
    time.sleep(0.2)
    assert not queued  # at the limit: the fourth request waits
    leases[0].__exit__(None, None, None)
    thread.join(5)
    assert queued == [workers[0]]  # handed over directly

    for lease in [*leases[1:], fourth]:
        lease.__exit__(None, None, None)
    wait_until(lambda: pool.size == 1)  # idle extras retired, the spare stays
    pool.close()


def test_a_module_that_does_not_import_fails_each_request_with_its_error(tmp_path):
    pool, _ = make_pool(tmp_path, "def broken(:\n    pass\n")
    pool.start()
    for _ in range(2):
        with pytest.raises(LoadFailed) as failure:
            with pool.lease():
                pass
        assert "app.py" in str(failure.value) and "line 1" in str(failure.value)
    pool.close()
