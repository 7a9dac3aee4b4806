"""Turns on a worker's channel, with real workers: every frame belongs to one
request, a turn ends with ``done``, and a worker that sends anything outside
its turn is replaced before it can answer another request."""

import os
import signal
import socket
import sys
import threading
import time

import pytest
from apps import sdk5_python, write_app

from spin_py.host.instances import InstanceSource, stop_all
from spin_py.host.launch import WorkerSettings
from spin_py.host.output import ComponentOutput
from spin_py.host.pool import ComponentPool
from spin_py.host.worker import ChannelBroken, ClientGone, RequestCancelled, Worker, WorkerGone

# An original-API app (any Python) that misbehaves on the channel on purpose. It
# writes through a copy of the channel's descriptor, as native code could, bypassing
# the guest's own checks.
ROGUE = """
    import os, struct, time
    from spin_http import Response
    from spin_py_guest import host
    from spin_py_wire import framing

    def frame(op, turn, **fields):
        return framing.encode({"op": op, "turn": turn, **fields}, b"stale")

    def handle_request(request):
        what = request.uri.strip("/")
        fd = os.dup(host._channel.fileno())
        turn = host._turn
        stale = frame("response", turn, status=200, headers=[])
        if what == "two-responses":
            os.write(fd, stale)
            os.write(fd, frame("response", turn, status=201, headers=[]))
            time.sleep(3600)
        elif what == "list":
            data = b"[1, 2]"
            os.write(fd, struct.pack(">II", len(data), 0) + data)
            time.sleep(3600)
        elif what == "nested":
            data = b"[" * 200000
            os.write(fd, struct.pack(">II", len(data), 0) + data)
            time.sleep(3600)
        elif what == "oversized":
            os.write(fd, struct.pack(">II", 2**32 - 1, 0))
            time.sleep(3600)
        elif what == "half":
            os.write(fd, struct.pack(">II", 100, 0) + b'{"op": "resp')
            time.sleep(3600)
        elif what.startswith("stale-and-garbage"):
            # A frame of an earlier turn, as a writer left over from it would send one, then bytes that are no frame.
            junk = frame("response", turn - 1, status=200, headers=[]) + struct.pack(">II", 5, 0x67617262) \
                + b"garbage-after-a-header"
            if what.endswith("-then-stale"):
                junk += frame("response", turn - 1, status=200, headers=[])
            os.write(fd, junk)
            time.sleep(0.2)
        elif what == "other-turn":
            os.write(fd, frame("call", turn - 1, capability="kv", function="get", args={}))
            time.sleep(0.2)
        elif what == "args-list":
            try:
                host.call("kv", "get", [1, 2])
            except host.HostError as error:
                return Response(200, {}, f"{error.kind}: {error.message}".encode())
        elif what == "sleep":
            time.sleep(1.0)
        elif what == "loop":
            while True:
                pass
        elif what == "wait-forever":
            while True:
                time.sleep(0.01)
        return Response(200, {}, f"{what} {os.getpid()}".encode())
"""

# spin-sdk 5: a task spawned by the handler calls the host after the response is sent.
SPAWNS = """
    import asyncio
    import componentize_py_async_support
    from spin_sdk.http import Handler, Request, Response
    from spin_py_guest import host

    async def later(uri):
        await asyncio.sleep(0.3)
        host.call("kv", "set", {"uri": uri})

    class HttpHandler(Handler):
        async def handle_request(self, request: Request) -> Response:
            if request.uri == "/spawn":
                componentize_py_async_support.spawn(later(request.uri))
            return Response(200, {}, request.uri.encode())
"""


class Recorder:
    """A per-request instance that records its host calls and when it was closed."""

    def __init__(self, name):
        self.name = name
        self.calls = []
        self.closed_at = None

    def call(self, capability, function, args):
        self.calls.append((capability, function, args))
        return f"{self.name} answered"

    def close(self):
        self.closed_at = time.monotonic()


def make_pool(folder, source, python=sys.executable, **kwargs):
    write_app(folder, 'spin_manifest_version = 2\n[application]\nname = "x"\n', {"app.py": source})
    settings = WorkerSettings(component="turns", module="app", workdir=str(folder))
    output = ComponentOutput("turns", folder)
    spawned = []

    def make_worker(zygote):
        worker = Worker(zygote, output)
        spawned.append(worker)
        return worker

    pool = ComponentPool("turns", InstanceSource(lambda: python, settings, {}, output), make_worker=make_worker, **kwargs)
    pool.start()
    return pool, spawned


@pytest.fixture
def pools():
    made = []

    def start(*args, **kwargs):
        pool, spawned = make_pool(*args, **kwargs)
        made.append(spawned)
        return pool, spawned

    yield start
    for spawned in made:
        for worker in spawned:
            worker.stop()
    stop_all()


def serve(pool, uri, instance=None, timeout=10, client=None):
    with pool.lease(client) as worker:
        response = worker.serve("GET", uri, [], b"", instance, client=client, timeout=timeout)
    return response, worker


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def wait_until(condition, timeout=10):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition never held"
        time.sleep(0.02)


def test_a_task_spawned_after_the_response_calls_the_host_within_its_own_request(tmp_path, pools):
    pool, _ = pools(tmp_path, SPAWNS, python=sdk5_python(), max_workers=1)
    serve(pool, "/warm")
    first = Recorder("first")
    started = time.monotonic()
    response, worker = serve(pool, "/spawn", first)
    assert response.body == b"/spawn"
    assert time.monotonic() - started < 0.3  # the client does not wait for the spawned task
    # The next request (the limit is one) waits for the turn to end, then gets its own instance.
    second = Recorder("second")
    response, again = serve(pool, "/next", second)
    assert again is not worker and response.body == b"/next"
    assert first.calls == [("kv", "set", {"uri": "/spawn"})]
    assert second.calls == []
    assert first.closed_at is not None and first.closed_at <= time.monotonic()
    assert serve(pool, "/third")[0].body == b"/third"
    pool.close()


def test_every_request_gets_a_fresh_instance_and_the_last_one_exits(tmp_path, pools):
    pool, _ = pools(tmp_path, ROGUE, max_workers=1)
    served_by = []
    for index in range(3):
        response, worker = serve(pool, f"/n{index}")
        assert response.body.startswith(f"n{index} ".encode()), response
        served_by.append(worker)
        wait_until(lambda pid=worker.pid: not alive(pid))  # its request over, its process ends
    assert len({worker.pid for worker in served_by}) == 3
    pool.close()


def test_two_responses_retire_the_worker_and_the_next_request_gets_its_own(tmp_path, pools):
    pool, _ = pools(tmp_path, ROGUE, max_workers=1)
    response, first = serve(pool, "/two-responses")
    assert response.body == b"stale"  # the first response answers the request
    wait_until(lambda: not alive(first.pid))  # the second one ended the worker
    response, worker = serve(pool, "/after")
    assert response.body.startswith(b"after ") and worker is not first
    pool.close()


def test_a_frame_of_an_earlier_turn_is_dropped_and_the_request_goes_on(tmp_path, pools, capsys):
    pool, _ = pools(tmp_path, ROGUE, max_workers=1)
    recorder = Recorder("this one")
    response, worker = serve(pool, "/other-turn", recorder)  # a call of turn 0 arrives during turn 1
    assert response.status == 200 and response.body.startswith(b"other-turn ")
    assert recorder.calls == []  # the stale call reached no capability
    said = capsys.readouterr().err
    assert said.count("[turns] the worker for component 'turns' sent a 'call' frame of turn 0 during turn 1") == 1
    response, again = serve(pool, "/fine")
    assert response.body.startswith(b"fine ") and again is not worker
    wait_until(lambda: not alive(worker.pid))
    pool.close()


@pytest.mark.parametrize("then", ["", "-then-stale"])
def test_bytes_that_are_no_frame_after_a_stale_frame_are_skipped_and_the_request_goes_on(tmp_path, pools, capsys, then):
    pool, _ = pools(tmp_path, ROGUE, max_workers=1)
    # A stale response, a header over the limits, maybe another stale response: then its own answer.
    response, worker = serve(pool, f"/stale-and-garbage{then}")
    assert response.status == 200 and response.body.startswith(f"stale-and-garbage{then} ".encode())
    said = capsys.readouterr().err
    assert "sent a 'response' frame of turn 0 during turn 1" in said and "also wrote bytes that are no frame" in said
    response, again = serve(pool, "/fine")
    assert response.body.startswith(b"fine ") and again is not worker
    pool.close()


@pytest.mark.parametrize(
    "what, reason",
    [
        ("list", "a frame is a JSON list, not an object"),
        ("nested", "a frame is not valid JSON (RecursionError"),
        ("oversized", "over the 67108864-byte limit"),
    ],
)
def test_a_frame_that_is_not_a_json_object_fails_the_request_with_the_reason(tmp_path, pools, what, reason):
    pool, _ = pools(tmp_path, ROGUE, max_workers=1)
    with pytest.raises(ChannelBroken) as failure:
        serve(pool, f"/{what}")
    assert reason in str(failure.value)
    assert serve(pool, "/fine")[0].body.startswith(b"fine ")
    pool.close()


def test_a_host_call_with_list_arguments_gets_an_error_answer(tmp_path, pools):
    pool, _ = pools(tmp_path, ROGUE)
    response, _ = serve(pool, "/args-list", Recorder("r"))
    assert response.body == b"Other: spin-py: a host call needs a capability and function name and an object of arguments"
    pool.close()


def test_half_a_frame_then_silence_times_out_and_the_worker_is_replaced(tmp_path, pools):
    pool, _ = pools(tmp_path, ROGUE, max_workers=1)
    started = time.monotonic()
    with pytest.raises(RequestCancelled) as failure:
        serve(pool, "/half", timeout=0.5)
    assert time.monotonic() - started < 5
    assert "did not respond within 0.5 s (--request-timeout)" in str(failure.value)
    assert serve(pool, "/fine")[0].body.startswith(b"fine ")
    pool.close()


def test_a_request_whose_client_left_is_cancelled_and_its_instance_stopped(tmp_path, pools):
    pool, _ = pools(tmp_path, ROGUE, max_workers=1)
    client, far_end = socket.socketpair()
    failures, workers = [], []

    def request():
        try:
            with pool.lease(client) as worker:
                workers.append(worker)
                worker.serve("GET", "/wait-forever", [], b"", None, client=client, timeout=60)
        except ClientGone as error:
            failures.append(error)

    thread = threading.Thread(target=request)
    thread.start()
    wait_until(lambda: workers and workers[0].pid is not None and len(group_members(workers[0].pid)) == 1)
    far_end.close()  # the client goes away
    thread.join(5)
    assert not thread.is_alive()
    assert "went away" in str(failures[0])
    wait_until(lambda: group_members(workers[0].pid) == [])
    assert serve(pool, "/fine")[0].body.startswith(b"fine ")
    client.close()
    pool.close()


def test_a_queued_request_whose_client_left_is_dropped(tmp_path, pools):
    pool, _ = pools(tmp_path, ROGUE, max_workers=1)
    busy = threading.Thread(target=lambda: serve(pool, "/sleep"))
    busy.start()
    time.sleep(0.2)
    client, far_end = socket.socketpair()
    outcome = []

    def queued():
        try:
            with pool.lease(client):
                outcome.append("served")
        except ClientGone:
            outcome.append("dropped")

    waiting = threading.Thread(target=queued)
    waiting.start()
    time.sleep(0.1)
    far_end.close()
    waiting.join(3)
    assert outcome == ["dropped"]
    busy.join(5)
    assert serve(pool, "/fine")[0].body.startswith(b"fine ")
    client.close()
    pool.close()


def test_an_idle_worker_killed_from_outside_is_found_when_a_request_is_sent_and_replaced(tmp_path, pools):
    pool, _ = pools(tmp_path, ROGUE, max_workers=1)
    serve(pool, "/first")
    worker = pool._idle[-1][0]  # the instance forked ahead for the next request
    worker.wait_ready()
    os.kill(worker.pid, signal.SIGKILL)
    time.sleep(0.1)
    # Nothing of the request reached it: the trigger sends it to another worker (WorkerGone).
    with pytest.raises(WorkerGone, match="'turns' was killed by signal 9 before the request reached it"):
        serve(pool, "/lost")
    for index in range(3):
        response, used = serve(pool, f"/n{index}")
        assert response.status == 200 and used is not worker
    pool.close()


def test_workers_never_exceed_the_limit_plus_one_across_reloads(tmp_path, pools):
    pool, spawned = pools(tmp_path, ROGUE, max_workers=2)
    outcomes = []

    def request(uri, timeout):
        try:
            outcomes.append(serve(pool, uri, timeout=timeout)[0].status)
        except RequestCancelled:
            outcomes.append("cancelled")

    threads = [threading.Thread(target=request, args=("/loop", 3)) for _ in range(2)]
    threads += [threading.Thread(target=request, args=("/sleep", 10)) for _ in range(3)]
    for thread in threads:
        thread.start()
        time.sleep(0.05)
    wait_until(lambda: pool.size == 2 and len(spawned) >= 2)
    most = 0
    for _ in range(3):
        pool.reload()
        most = max(most, pool.size, len([worker for worker in spawned if alive(worker.pid)]))
        time.sleep(0.3)
        most = max(most, pool.size, len([worker for worker in spawned if alive(worker.pid)]))
    assert most <= 3
    for thread in threads:
        thread.join(20)
    assert sorted(map(str, outcomes)) == ["200", "200", "200", "cancelled", "cancelled"]
    assert len([worker for worker in spawned if alive(worker.pid)]) <= 3
    assert serve(pool, "/fine")[0].body.startswith(b"fine ")
    pool.close()


def group_members(group):
    members = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == group and fields[0] != "Z":
                members.append(int(name))
    return members
