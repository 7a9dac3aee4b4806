"""An outbound Redis host call belongs to its request: a command still waiting for
its reply when the request's time limit passes or its client leaves (a BLPOP with
no timeout) has its connection cut, which the server takes as the end of the
command, and the call fails with Other saying why. Host functions over a
per-request Instance, with an inline manifest, against a real redis-server."""

import threading
import time

import pytest
from stopped_calls import PROMPT, failure, outbound_instances

from spin_py.capabilities.errors import CapabilityError
from spin_py.capabilities.redis import RedisCapability
from spin_py.capabilities.seam import CLIENT_GONE_TEXT, TIME_LIMIT_TEXT, decode_bytes, encode_bytes

SOON = 0.4  # seconds: a time limit that passes while the command waits


@pytest.fixture
def redis_requests(tmp_path, redis_server):
    """``redis_requests(**limits)``: an Instance of component `web`, which may reach the server."""
    with outbound_instances(tmp_path, RedisCapability, f"redis://127.0.0.1:{redis_server.rsplit(':', 1)[1]}") as request:
        yield request


def blpop_forever(instance, connection):
    arguments = [["binary", encode_bytes(b"never-pushed")], ["int64", 0]]
    return instance.call("redis", "execute", {"connection": connection, "command": "BLPOP", "arguments": arguments})


def blocked_clients(instance, connection):
    reply = instance.call("redis", "execute", {"connection": connection, "command": "INFO",
                                                "arguments": [["binary", encode_bytes(b"clients")]]})
    text = b"".join(decode_bytes(value) for kind, value in reply if kind == "binary").decode()
    return int(text.split("blocked_clients:")[1].split()[0])


@pytest.mark.parametrize("limit", ["time", "client"])
def test_a_command_waiting_past_its_request_is_cut(redis_requests, redis_server, limit):
    if limit == "time":
        instance, text = redis_requests(deadline=time.monotonic() + SOON), TIME_LIMIT_TEXT
    else:
        left = threading.Event()
        threading.Timer(SOON, left.set).start()
        instance, text = redis_requests(client_gone=left.is_set), CLIENT_GONE_TEXT
    connection = instance.call("redis", "open", {"address": redis_server})
    kind, message, took = failure(lambda: blpop_forever(instance, connection))
    assert (kind, message) == ("Other", text) and took < PROMPT
    # The server no longer holds a client blocked on the list.
    observer = redis_requests()
    watching = observer.call("redis", "open", {"address": redis_server})
    deadline = time.monotonic() + PROMPT
    while blocked_clients(observer, watching):
        assert time.monotonic() < deadline, "the server still holds the BLPOP"
        time.sleep(0.05)
    # Every later call of the ended request fails the same way.
    get = {"connection": connection, "key": "k"}
    assert failure(lambda: instance.call("redis", "get", get))[:2] == ("Other", text)


def test_a_request_already_past_its_time_limit_opens_nothing(redis_requests, redis_server):
    late = redis_requests(deadline=time.monotonic() - 1)
    with pytest.raises(CapabilityError) as caught:
        late.call("redis", "open", {"address": redis_server})
    assert (caught.value.kind, caught.value.message) == ("Other", TIME_LIMIT_TEXT)
