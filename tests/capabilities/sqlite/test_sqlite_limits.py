"""A SQLite host call belongs to its request: its time limit, its client and the
end of its turn stop a statement that is still running (or still waiting for the
file), the call fails with Io saying why, and the file's turn is free at once.
Host functions over a per-request Instance, with an inline manifest."""

import threading
import time
from types import SimpleNamespace

import apsw
import pytest

from spin_py.capabilities.errors import CapabilityError
from spin_py.capabilities.seam import (
    CLIENT_GONE_TEXT,
    REQUEST_ENDED_TEXT,
    TIME_LIMIT_TEXT,
    AppContext,
    HostContext,
    Instance,
)
from spin_py.capabilities.sqlite import SqliteCapability
from spin_py.runtime_config import RuntimeConfig

ENDLESS = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT count(*) FROM c"
ENDLESS_ROWS = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT x FROM c"
SOON = 0.4  # seconds: a time limit that passes while the statement runs
PROMPT = 3.0  # seconds within which a stopped call answers (the statement itself would run forever)


@pytest.fixture
def sqlite(tmp_path):
    """The SQLite capability for an app whose component `web` may use `default`."""
    host = HostContext(config=None, say=lambda line: None)
    app = SimpleNamespace(components={"web": SimpleNamespace(id="web", sqlite_databases=("default",))})
    configured = SqliteCapability(host).configure(AppContext(app, RuntimeConfig(), tmp_path / "state"))
    instances = []

    def request(**limits):
        instance = Instance("web", lambda: {"sqlite": configured}, **limits)
        instances.append(instance)
        return instance

    yield request
    for instance in instances:  # each in a thread of its own: one whose statement runs on must not hang the rest
        threading.Thread(target=instance.close, daemon=True).start()


def execute(instance, connection, statement, params=()):
    return instance.call("sqlite", "execute", {"connection": connection, "statement": statement, "params": list(params)})


def in_thread(call):
    """Run ``call`` in a thread of its own (a daemon: a call that never ends fails the test
    instead of hanging it); returns the thread and a dict that gets its "error" or "value"."""
    outcome = {}

    def run():
        try:
            outcome["value"] = call()
        except CapabilityError as error:
            outcome["error"] = error

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


def failure(call):
    """(kind, message, seconds) of a call that must fail within PROMPT seconds."""
    started = time.monotonic()
    thread, outcome = in_thread(call)
    thread.join(PROMPT)
    took = time.monotonic() - started
    assert not thread.is_alive(), "the call was not stopped"
    assert "error" in outcome, outcome
    return outcome["error"].kind, outcome["error"].message, took


def test_the_time_limit_interrupts_an_endless_statement_and_frees_the_file(sqlite):
    endless = sqlite(deadline=time.monotonic() + SOON)
    db = endless.call("sqlite", "open", {"database": "default"})
    kind, message, took = failure(lambda: execute(endless, db, ENDLESS))
    assert (kind, message) == ("Io", TIME_LIMIT_TEXT)
    assert took < PROMPT
    # The file's turn went with it: the next request's statement runs at once.
    later = sqlite()
    other = later.call("sqlite", "open", {"database": "default"})
    assert execute(later, other, "SELECT 1 AS one") == {"columns": ["one"], "rows": [[1]]}
    # Every later call of the ended request fails the same way, even one too short to be interrupted.
    assert failure(lambda: execute(endless, db, "SELECT 1"))[:2] == ("Io", TIME_LIMIT_TEXT)


def test_a_time_limit_already_past_refuses_every_statement(sqlite):
    late = sqlite(deadline=time.monotonic() - 1)
    db = late.call("sqlite", "open", {"database": "default"})
    assert failure(lambda: execute(late, db, "SELECT 1"))[:2] == ("Io", TIME_LIMIT_TEXT)
    stream = {"connection": db, "statement": "SELECT 1", "params": []}
    assert failure(lambda: late.call("sqlite", "execute_stream", stream))[:2] == ("Io", TIME_LIMIT_TEXT)
    assert late.call("sqlite", "close", {"connection": db}) is None  # letting go still works


def test_a_client_that_leaves_stops_the_statement_and_a_waiting_request_goes_on(sqlite):
    left = threading.Event()
    looked = threading.Event()

    def client_gone():
        looked.set()
        return left.is_set()

    holder = sqlite(client_gone=client_gone)
    db = holder.call("sqlite", "open", {"database": "default"})
    running, outcome = in_thread(lambda: execute(holder, db, ENDLESS))
    assert looked.wait(PROMPT)  # the statement is running, and looks at its client
    # Another request's statement waits for the file's turn meanwhile.
    waiter = sqlite()
    other = waiter.call("sqlite", "open", {"database": "default"})
    waiting, waited = in_thread(lambda: execute(waiter, other, "SELECT 2 AS two"))
    waiting.join(0.3)
    assert waiting.is_alive() and not waited
    left.set()
    running.join(PROMPT)
    assert not running.is_alive()
    assert (outcome["error"].kind, outcome["error"].message) == ("Io", CLIENT_GONE_TEXT)
    waiting.join(PROMPT)
    assert waited == {"value": {"columns": ["two"], "rows": [[2]]}}


def test_the_end_of_the_turn_stops_a_statement_still_running(sqlite):
    looked = threading.Event()
    instance = sqlite(client_gone=lambda: looked.set() or False)
    db = instance.call("sqlite", "open", {"database": "default"})
    running, outcome = in_thread(lambda: execute(instance, db, ENDLESS))
    assert looked.wait(PROMPT)  # the statement is running
    closing, _ = in_thread(instance.close)  # from another thread, as when the server stops mid-request
    running.join(PROMPT)
    closing.join(PROMPT)
    assert not running.is_alive() and not closing.is_alive()
    assert (outcome["error"].kind, outcome["error"].message) == ("Io", REQUEST_ENDED_TEXT)


def test_a_streamed_statement_stops_at_the_time_limit(sqlite):
    instance = sqlite(deadline=time.monotonic() + SOON)
    db = instance.call("sqlite", "open", {"database": "default"})
    opened = instance.call("sqlite", "execute_stream", {"connection": db, "statement": ENDLESS_ROWS, "params": []})
    assert opened["columns"] == ["x"]
    rows = instance.call("sqlite", "read_rows", {"stream": opened["stream"], "max": 3})
    assert rows == [[1], [2], [3]]

    def read_forever():
        while True:
            instance.call("sqlite", "read_rows", {"stream": opened["stream"], "max": 4096})

    kind, message, took = failure(read_forever)
    assert (kind, message) == ("Io", TIME_LIMIT_TEXT) and took < PROMPT


def test_a_wait_for_a_lock_another_process_holds_ends_with_the_time_limit(sqlite, tmp_path):
    setup = sqlite()
    db = setup.call("sqlite", "open", {"database": "default"})
    execute(setup, db, "CREATE TABLE t (v)")
    # Another process's writer (a `spin up` on the same state dir, say) holds the file.
    other = apsw.Connection(str(tmp_path / "state" / "sqlite_db.db"))
    other.execute("BEGIN EXCLUSIVE")
    try:
        writer = sqlite(deadline=time.monotonic() + SOON)
        mine = writer.call("sqlite", "open", {"database": "default"})
        kind, message, took = failure(lambda: execute(writer, mine, "INSERT INTO t VALUES (1)"))
        # Without the limit this waits out the 5 s busy timeout and says "database is locked".
        assert (kind, message) == ("Io", TIME_LIMIT_TEXT) and took < PROMPT
    finally:
        other.execute("ROLLBACK")
        other.close()
    after = sqlite()
    again = after.call("sqlite", "open", {"database": "default"})
    execute(after, again, "INSERT INTO t VALUES (2)")
    assert execute(after, again, "SELECT v FROM t")["rows"] == [[2]]
