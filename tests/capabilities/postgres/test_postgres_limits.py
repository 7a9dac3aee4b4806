"""A PostgreSQL host call belongs to its request: a statement still running when
the request's time limit passes or its client leaves is cancelled on the server
(which lets go of what it held) and the call fails with QueryFailed saying why.
Host functions over a per-request Instance, with an inline manifest, against a
real PostgreSQL."""

import json
import threading
import time

import pytest
from stopped_calls import PROMPT, failure, outbound_instances

from spin_py.capabilities.errors import CapabilityError
from spin_py.capabilities.postgres import PostgresCapability
from spin_py.capabilities.seam import CLIENT_GONE_TEXT, TIME_LIMIT_TEXT

SOON = 0.4  # seconds: a time limit that passes while the statement runs
CASES = ["Int32", "Int64", "Str"]  # the DbValue cases of the guest's interface


@pytest.fixture
def postgres(tmp_path, postgres_service):
    """``postgres(**limits)``: an Instance of component `web`, which may reach the server."""
    with outbound_instances(tmp_path, PostgresCapability, f"postgres://127.0.0.1:{postgres_service.port}") as request:
        yield request


def open_connection(instance, service):
    return instance.call("postgres", "open", {"address": service.url, "cases": CASES})


def query(instance, connection, statement):
    return instance.call("postgres", "query", {"connection": connection, "statement": statement, "params": []})


def sleeping(instance, connection, tag):
    """The server's sessions still running ``tag``'s statement."""
    rows = query(instance, connection,
                 f"SELECT pid FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%{tag}%' "
                 "AND query NOT LIKE '%pg_stat_activity%'")["rows"]
    return rows


def wait_until_none_sleep(instance, connection, tag):
    deadline = time.monotonic() + PROMPT
    while sleeping(instance, connection, tag):
        assert time.monotonic() < deadline, f"the server still runs {tag}'s statement"
        time.sleep(0.05)


@pytest.mark.parametrize("limit", ["time", "client"])
def test_a_statement_past_its_request_is_cancelled_on_the_server(postgres, postgres_service, limit):
    if limit == "time":
        instance, text = postgres(deadline=time.monotonic() + SOON), TIME_LIMIT_TEXT
    else:
        left = threading.Event()
        threading.Timer(SOON, left.set).start()
        instance, text = postgres(client_gone=left.is_set), CLIENT_GONE_TEXT
    connection = open_connection(instance, postgres_service)
    tag = f"limits_{limit}"
    statement = f"SELECT pg_sleep(60) AS {tag}"
    kind, message, took = failure(lambda: query(instance, connection, statement))
    assert kind == "QueryFailed" and json.loads(message) == {"text": text} and took < PROMPT
    # Cancelled, not left to sleep: the server runs it no more.
    observer = postgres()
    wait_until_none_sleep(observer, open_connection(observer, postgres_service), tag)
    # Every later call of the ended request fails the same way.
    kind, message, _ = failure(lambda: query(instance, connection, "SELECT 1"))
    assert kind == "QueryFailed" and json.loads(message) == {"text": text}


def test_a_statement_holding_a_lock_lets_go_of_it_when_cancelled(postgres, postgres_service):
    setup = postgres()
    admin = open_connection(setup, postgres_service)
    query(setup, admin, "DROP TABLE IF EXISTS held")
    query(setup, admin, "CREATE TABLE held (v int)")
    # A statement that holds the table (its read lock lasts as long as the statement) sleeps on.
    holder = postgres(deadline=time.monotonic() + SOON)
    connection = open_connection(holder, postgres_service)
    kind, message, _took = failure(lambda: query(holder, connection, "SELECT pg_sleep(60), (SELECT count(*) FROM held)"))
    assert kind == "QueryFailed" and json.loads(message) == {"text": TIME_LIMIT_TEXT}
    # The table is free for the next request's DROP at once (which the lock would hold for a minute).
    after = postgres(deadline=time.monotonic() + PROMPT)
    again = open_connection(after, postgres_service)
    assert query(after, again, "DROP TABLE held") == {"columns": [], "rows": []}


def test_a_request_already_past_its_time_limit_opens_nothing(postgres, postgres_service):
    late = postgres(deadline=time.monotonic() - 1)
    with pytest.raises(CapabilityError) as caught:
        open_connection(late, postgres_service)
    assert (caught.value.kind, caught.value.message) == ("ConnectionFailed", TIME_LIMIT_TEXT)
