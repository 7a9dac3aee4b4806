"""The HTTP server's threads: a connection gets a thread at once, an idle one when there is
one, a new one otherwise, so slow clients never hold up others and threads are not started
for every request."""

import http.client
import socket
import threading
import time

from spin_py.trigger.http_server import THREAD_IDLE, _ThreadReusingServer

SERVED_BY = []  # the thread that served each request


def _hello(environ, start_response):
    SERVED_BY.append(threading.current_thread())
    start_response("200 OK", [("content-length", "2")])
    return [b"ok"]


def _get(port):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", "/")
        return connection.getresponse().read()
    finally:
        connection.close()


def _wait_for_an_idle_thread(server, timeout=5):
    deadline = time.monotonic() + timeout
    while not server._idle:
        assert time.monotonic() < deadline, "no thread became idle"
        time.sleep(0.001)


def test_idle_threads_take_new_connections_and_stalled_ones_hold_up_nobody() -> None:
    server = _ThreadReusingServer("127.0.0.1", 0, _hello)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.socket.getsockname()[1]
    stalled = [socket.create_connection(("127.0.0.1", port)) for _ in range(3)]  # each holds a thread, sending nothing
    try:
        assert _get(port) == b"ok"
        started = threading.active_count()
        SERVED_BY.clear()
        for _ in range(30):
            _wait_for_an_idle_thread(server)  # the last request's thread, once it has closed its connection
            assert _get(port) == b"ok"
        assert len(set(SERVED_BY)) == 1  # that one thread served them all: none was started for them
        # Once idle past THREAD_IDLE, a thread ends: nothing grows while nobody connects.
        deadline = time.monotonic() + THREAD_IDLE + 5
        while threading.active_count() > started - 1 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert threading.active_count() <= started - 1
    finally:
        for connection in stalled:
            connection.close()
        server.shutdown()
        server.server_close()
