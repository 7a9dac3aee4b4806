"""A MySQL host call belongs to its request: a statement still running when the
request's time limit passes or its client leaves is stopped on the server (KILL
QUERY, so the server lets go of what it held) and the call fails with QueryFailed
saying why. Host functions over a per-request Instance, with an inline manifest,
against a real MariaDB."""

import threading
import time

import pytest
from stopped_calls import PROMPT, failure, outbound_instances

from spin_py.capabilities.errors import CapabilityError
from spin_py.capabilities.mysql import MysqlCapability
from spin_py.capabilities.seam import CLIENT_GONE_TEXT, TIME_LIMIT_TEXT

SOON = 0.4  # seconds: a time limit that passes while the statement runs
CASES = ["Int32", "Int64", "Str"]  # the DbValue cases of the guest's interface


@pytest.fixture
def mysql(tmp_path, mariadb_service):
    """``mysql(**limits)``: an Instance of component `web`, which may reach the server."""
    with outbound_instances(tmp_path, MysqlCapability, f"mysql://127.0.0.1:{mariadb_service.port}") as request:
        yield request


def open_connection(instance, service):
    return instance.call("mysql", "open", {"address": service.url, "cases": CASES})


def run(instance, function, connection, statement):
    return instance.call("mysql", function, {"connection": connection, "statement": statement, "params": []})


def wait_until_the_server_stops(instance, connection, tag):
    deadline = time.monotonic() + PROMPT
    while True:
        running = run(instance, "query", connection,
                      "SELECT CAST(COUNT(*) AS SIGNED) FROM information_schema.PROCESSLIST "
                      f"WHERE COMMAND = 'Query' AND INFO LIKE '%{tag}%' AND INFO NOT LIKE '%PROCESSLIST%'")
        if running["rows"] == [[["Int64", 0]]]:
            return
        assert time.monotonic() < deadline, f"the server still runs {tag}'s statement"
        time.sleep(0.05)


@pytest.mark.parametrize("limit", ["time", "client"])
def test_a_statement_past_its_request_is_stopped_on_the_server(mysql, mariadb_service, limit):
    if limit == "time":
        instance, text = mysql(deadline=time.monotonic() + SOON), TIME_LIMIT_TEXT
    else:
        left = threading.Event()
        threading.Timer(SOON, left.set).start()
        instance, text = mysql(client_gone=left.is_set), CLIENT_GONE_TEXT
    connection = open_connection(instance, mariadb_service)
    tag = f"limits_{limit}"
    # SLEEP ends without an error when killed: the call still says the request ended it.
    kind, message, took = failure(lambda: run(instance, "query", connection, f"SELECT SLEEP(60) AS {tag}"))
    assert (kind, message) == ("QueryFailed", text) and took < PROMPT
    observer = mysql()
    wait_until_the_server_stops(observer, open_connection(observer, mariadb_service), tag)
    assert failure(lambda: run(instance, "query", connection, "SELECT 1"))[:2] == ("QueryFailed", text)


def test_a_statement_holding_a_lock_lets_go_of_it_when_stopped(mysql, mariadb_service):
    setup = mysql()
    admin = open_connection(setup, mariadb_service)
    run(setup, "execute", admin, "DROP TABLE IF EXISTS held")
    run(setup, "execute", admin, "CREATE TABLE held (v INT) ENGINE=InnoDB")
    run(setup, "execute", admin, "INSERT INTO held VALUES (1)")
    # An UPDATE that sleeps while it holds the row's lock; the request's time limit ends it.
    holder = mysql(deadline=time.monotonic() + SOON)
    connection = open_connection(holder, mariadb_service)
    kind, message, took = failure(lambda: run(holder, "execute", connection, "UPDATE held SET v = v + SLEEP(60)"))
    assert (kind, message) == ("QueryFailed", TIME_LIMIT_TEXT) and took < PROMPT
    # The row is free for the next request at once (InnoDB would hold it up to 50 s otherwise).
    after = mysql(deadline=time.monotonic() + PROMPT)
    again = open_connection(after, mariadb_service)
    run(after, "execute", again, "SET SESSION innodb_lock_wait_timeout = 2")
    run(after, "execute", again, "UPDATE held SET v = 7")
    assert run(after, "query", again, "SELECT v FROM held")["rows"] == [[["Int32", 7]]]


def test_a_request_already_past_its_time_limit_opens_nothing(mysql, mariadb_service):
    late = mysql(deadline=time.monotonic() - 1)
    with pytest.raises(CapabilityError) as caught:
        open_connection(late, mariadb_service)
    assert (caught.value.kind, caught.value.message) == ("ConnectionFailed", TIME_LIMIT_TEXT)
