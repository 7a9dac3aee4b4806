"""What the host-call limit tests share: run a call that must be stopped, and report how it failed."""

import threading
import time

from spin_py.capabilities.errors import CapabilityError

PROMPT = 3.0  # seconds within which a stopped call answers (left alone, each would wait far longer)


def failure(call):
    """(kind, message, seconds) of a call that must fail within PROMPT seconds (run in a
    daemon thread, so one that never ends fails the test instead of hanging it)."""
    outcome = {}

    def run():
        try:
            outcome["value"] = call()
        except CapabilityError as error:
            outcome["error"] = error

    started = time.monotonic()
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(PROMPT)
    assert not thread.is_alive(), "the call was not stopped"
    assert "error" in outcome, outcome
    return outcome["error"].kind, outcome["error"].message, time.monotonic() - started
