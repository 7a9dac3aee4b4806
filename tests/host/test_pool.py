"""A component's pool of instances, with real processes: forked from one zygote per load of
its code, one request each, forked ahead of the requests."""

import sys
import threading
import time

import pytest
from apps import write_app

from spin_py.host.instances import InstanceSource
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

    def make_worker(zygote):
        worker = Worker(zygote, output)
        spawned.append(worker)
        return worker

    source = InstanceSource(lambda: sys.executable, settings, {}, output)
    return ComponentPool("pooled", source, make_worker=make_worker, **kwargs), spawned


def wait_until(condition, timeout=10):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition never held"
        time.sleep(0.02)


def test_an_instance_is_forked_ahead_and_each_request_gets_a_fresh_one(tmp_path):
    pool, spawned = make_pool(tmp_path, HELLO)
    pool.start()
    wait_until(lambda: len(spawned) == 1)
    served = []
    for _ in range(5):
        with pool.lease() as worker:
            assert worker.serve("GET", "/", [], b"", None).body == b"hi"
            served.append(worker)
    assert len({id(worker) for worker in served}) == 5
    # Sequential requests keep one instance forked ahead, no more.
    assert len(spawned) == 6 and pool.size == 1
    pool.close()


def test_instances_grow_to_the_limit_then_extra_idle_ones_retire(tmp_path):
    pool, _ = make_pool(tmp_path, HELLO, max_workers=3, idle_timeout=0.5)
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
    assert queued and queued[0] not in workers  # a fresh instance took the freed place

    for lease in [*leases[1:], fourth]:
        lease.__exit__(None, None, None)
    # More were forked ahead while requests found none waiting; the idle extras retire, one stays.
    wait_until(lambda: pool.size == 1)
    pool.close()


def test_a_module_that_does_not_import_fails_each_request_with_its_error(tmp_path):
    pool, _ = make_pool(tmp_path, "def broken(:\n    pass\n")
    pool.start()
    for _ in range(2):
        with pytest.raises(LoadFailed) as failure, pool.lease():
            pass
        assert "app.py" in str(failure.value) and "line 1" in str(failure.value)
    pool.close()
