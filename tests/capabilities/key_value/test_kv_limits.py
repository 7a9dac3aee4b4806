"""A key-value host call belongs to its request: a call still waiting (for another
process's lock on the SQLite file, for a Redis server that does not answer) when
the request's time limit passes or its client leaves fails with Other saying why,
and lets go of what it held. Host functions over a per-request Instance, with an
inline manifest and runtime config, against the real SQLite file and a real
redis-server."""

import sqlite3
import threading
import time
import tomllib
from types import SimpleNamespace

import pytest
from stopped_calls import PROMPT, failure

from spin_py.capabilities.key_value import KeyValueCapability
from spin_py.capabilities.seam import CLIENT_GONE_TEXT, TIME_LIMIT_TEXT, AppContext, HostContext, Instance, encode_bytes
from spin_py.runtime_config import RuntimeConfig

SOON = 0.4  # seconds: a time limit that passes while the call waits


@pytest.fixture
def key_value(tmp_path):
    """``key_value(runtime_config_text)`` -> ``request(**limits)`` making Instances of component
    `web`, which may use `default` and `cache`."""
    made = []

    def configure(runtime_config=""):
        path = tmp_path / "runtime-config.toml"
        path.write_text(runtime_config)
        config = RuntimeConfig(path=path, data=tomllib.loads(runtime_config))
        host = HostContext(config=None, say=lambda line: None)
        capability = KeyValueCapability(host)
        app = SimpleNamespace(components={"web": SimpleNamespace(id="web", key_value_stores=("default", "cache"))})
        if "cache" not in config.table("key_value_store"):
            app.components["web"].key_value_stores = ("default",)
        configured = capability.configure(AppContext(app, config, tmp_path / "state"))
        made.append((capability, []))

        def request(**limits):
            instance = Instance("web", lambda: {"key_value": configured}, **limits)
            made[-1][1].append(instance)
            return instance

        return request

    yield configure
    for capability, instances in made:
        for instance in instances:
            instance.close()
        capability.close()


def kv(instance, function, **args):
    return instance.call("key_value", function, args)


def test_a_wait_for_another_processs_lock_ends_with_the_time_limit(key_value, tmp_path):
    request = key_value()
    setup = request()
    store = kv(setup, "open", label="default")
    kv(setup, "set", store=store, key="k", value=encode_bytes(b"before"))
    # Another process (a `spin up` on the same state dir, say) holds the file.
    other = sqlite3.connect(tmp_path / "state" / "sqlite_key_value.db", isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        writer = request(deadline=time.monotonic() + SOON)
        mine = kv(writer, "open", label="default")
        kind, message, took = failure(lambda: kv(writer, "set", store=mine, key="k", value=encode_bytes(b"late")))
        # Without the limit the write waits out the 5 s busy timeout and says "database is locked".
        assert (kind, message) == ("Other", TIME_LIMIT_TEXT) and took < PROMPT
        # A request whose client has gone does not wait at all.
        gone = request(client_gone=lambda: True)
        theirs = kv(gone, "open", label="default")
        assert failure(lambda: kv(gone, "get", store=theirs, key="k"))[:2] == ("Other", CLIENT_GONE_TEXT)
    finally:
        other.execute("ROLLBACK")
        other.close()
    # The store's connection and lock are free for the next request, and nothing half-written stayed.
    after = request()
    again = kv(after, "open", label="default")
    assert kv(after, "get", store=again, key="k") == encode_bytes(b"before")
    kv(after, "set_many", store=again, pairs=[["a", encode_bytes(b"1")], ["b", encode_bytes(b"2")]])
    assert sorted(kv(after, "get_keys", store=again)) == ["a", "b", "k"]


def test_a_redis_store_call_the_server_does_not_answer_ends_with_the_time_limit(key_value, redis_server):
    import redis

    request = key_value(f'[key_value_store.cache]\ntype = "redis"\nurl = "{redis_server}"\n')
    setup = request()
    store = kv(setup, "open", label="cache")
    kv(setup, "set", store=store, key="k", value=encode_bytes(b"v"))
    admin = redis.Redis.from_url(redis_server)
    admin.execute_command("CLIENT", "PAUSE", "20000", "WRITE")  # the server holds every write for 20 s
    try:
        stalled = request(deadline=time.monotonic() + SOON)
        mine = kv(stalled, "open", label="cache")
        kind, message, took = failure(lambda: kv(stalled, "set", store=mine, key="k", value=encode_bytes(b"late")))
        assert (kind, message) == ("Other", TIME_LIMIT_TEXT) and took < PROMPT
        left = threading.Event()
        gone = request(client_gone=left.is_set)
        theirs = kv(gone, "open", label="cache")
        threading.Timer(SOON, left.set).start()
        kind, message, took = failure(lambda: kv(gone, "increment", store=theirs, key="n", delta=1))
        assert (kind, message) == ("Other", CLIENT_GONE_TEXT) and took < PROMPT
    finally:
        admin.execute_command("CLIENT", "UNPAUSE")
    # The cut connections were dropped, not handed to the next request.
    after = request()
    again = kv(after, "open", label="cache")
    assert kv(after, "increment", store=again, key="n", delta=5) in (5, 6)  # a paused INCRBY may still run
    assert kv(after, "get", store=again, key="k") in (encode_bytes(b"v"), encode_bytes(b"late"))
    admin.close()
