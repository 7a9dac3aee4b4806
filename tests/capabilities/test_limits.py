"""The host's watcher of host calls that wait on a server (capabilities/limits.py):
a call blocked on a socket is stopped once its request ends, its steps come in
turn, one call's slow step keeps no other call waiting, and no step ever reaches
a call that has already returned."""

import socket
import threading
import time

from spin_py.capabilities import limits
from spin_py.capabilities.limits import acquire, cut_socket, watched
from spin_py.capabilities.seam import TIME_LIMIT_TEXT, Instance

PROMPT = 2.0  # seconds within which a stopped call returns (GRACE is 2 s: no second step is needed)


def cut(sock):
    return lambda: cut_socket(sock.fileno())


def blocked_read(ended, *steps_for):
    """recv() on a socket nobody writes to, watched with the steps ``steps_for(socket)`` gives;
    returns (the socket pair, a dict that gets "data" and "call" when recv returns, the thread)."""
    ours, theirs = socket.socketpair()
    outcome = {}
    steps = [make(ours) for make in steps_for]

    def run():
        with watched(ended, *steps) as call:
            outcome["data"] = ours.recv(1)
        outcome["call"] = call

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return (ours, theirs), outcome, thread


def test_a_call_blocked_on_a_socket_is_cut_when_its_request_ends():
    request = Instance("web", lambda: {}, deadline=time.monotonic() + 0.3)
    pair, outcome, thread = blocked_read(request.ended, cut)
    thread.join(PROMPT)
    assert not thread.is_alive()
    assert outcome["data"] == b"" and outcome["call"].reason == TIME_LIMIT_TEXT
    for end in pair:
        end.close()


def test_steps_come_in_turn_and_a_slow_step_keeps_no_other_call_waiting(monkeypatch):
    monkeypatch.setattr(limits, "GRACE", 0.2)
    slow_started, release = threading.Event(), threading.Event()
    order = []

    def slow_ask():  # a server that takes its time to hear a cancel request
        order.append("ask")
        slow_started.set()
        release.wait(5)

    first = Instance("web", lambda: {}, deadline=time.monotonic() + 0.2)
    def noted_cut(sock):
        return lambda: (order.append("cut"), cut_socket(sock.fileno()))

    pair, _outcome, thread = blocked_read(first.ended, lambda sock: slow_ask, noted_cut)
    assert slow_started.wait(PROMPT)
    # Meanwhile another request's call ends and is cut at once.
    second = Instance("web", lambda: {}, deadline=time.monotonic() + 0.2)
    other_pair, other_outcome, other_thread = blocked_read(second.ended, cut)
    other_thread.join(PROMPT)
    assert not other_thread.is_alive() and other_outcome["data"] == b""
    # The first call's cut comes only after its first step has had its time.
    assert thread.is_alive() and order == ["ask"]
    release.set()
    thread.join(PROMPT)
    assert not thread.is_alive() and order == ["ask", "cut"]
    for end in (*pair, *other_pair):
        end.close()


def test_no_step_reaches_a_call_that_has_returned():
    stepped = []
    ended = threading.Event()
    with watched(lambda: "ended" if ended.is_set() else None, lambda: stepped.append("cut")) as call:
        pass
    ended.set()
    limits._look(call)  # as the watcher would, had it taken the call before it returned
    deadline = time.monotonic() + 0.5
    while time.monotonic() < deadline and not stepped:
        time.sleep(0.01)
    assert stepped == [] and call.reason is None


def test_a_wait_for_a_lock_gives_up_when_the_request_ends():
    lock = threading.Lock()
    lock.acquire()
    request = Instance("web", lambda: {}, deadline=time.monotonic() + 0.2)
    started = time.monotonic()
    assert acquire(lock, request.ended) == TIME_LIMIT_TEXT
    assert time.monotonic() - started < PROMPT
    lock.release()
    assert acquire(lock, request.ended) is None  # a free lock is taken even after the end
    lock.release()
