"""spin-sdk 4.x and 5.x under CPython: their ``componentize_py_async_support``.

The SDK ships componentize-py's asyncio glue, and we keep it: the SDK's code
imports names from it. But at import time it installs its own loop, which
only a WebAssembly host can drive, as both the current and the *running*
event loop. In CPython that makes ``asyncio.run`` refuse to start and sends
``asyncio.sleep`` and friends to a loop that cannot schedule anything. So the
import is wrapped: whatever loops were current before it (none at load time,
our real loop when the app imports the SDK lazily inside a request) are put
back afterwards.

``spawn(coroutine)``, the one function of that module meant for apps (work
that goes on after the response is returned), needs the Component Model's task
state; here it becomes a task on the worker's real loop, which the worker runs
to completion after sending the response (cancelled after FINISH_LIMIT
seconds). Host calls made meanwhile still belong to that request's turn: the
worker says ``done`` and takes the next request only afterwards.
"""

import asyncio
import sys
import time

from spin_py_wire.frames import FINISH_LIMIT

from . import import_hooks, tracebacks

MODULE = "componentize_py_async_support"


_spawned: list[asyncio.Future] = []


def _loop_state() -> tuple:
    running = asyncio.events._get_running_loop()
    policy = asyncio.get_event_loop_policy()
    local = getattr(policy, "_local", None)
    return running, policy, local, dict(vars(local)) if local is not None else None


def _restore(state) -> None:
    running, policy, local, saved = state
    asyncio.events._set_running_loop(running)
    if local is not None:
        vars(local).clear()
        vars(local).update(saved)
    else:
        policy.set_event_loop(None)


def spawn(coroutine) -> None:
    _spawned.append(asyncio.ensure_future(coroutine))


def _hook(module, run) -> None:
    state = _loop_state()
    try:
        run()
    finally:
        _restore(state)
    module.spawn = spawn


def install() -> None:
    import_hooks.on_import(MODULE, _hook)


def pending() -> bool:
    """Did the handler spawn work that has not run yet?"""
    return bool(_spawned)


def running() -> bool:
    """Is work the handler spawned still going (not merely finished and unreported)?"""
    return any(not task.done() for task in _spawned)


def finish_spawned(loop, limit=FINISH_LIMIT) -> None:
    """Run the tasks the last request spawned to their end, at most ``limit`` seconds
    after the response (tasks they spawn included); what is still running then is
    cancelled. Their errors go to stderr, since the response has already been sent."""
    deadline = time.monotonic() + limit
    while _spawned:
        tasks = list(_spawned)
        _spawned.clear()
        finished, running = loop.run_until_complete(asyncio.wait(tasks, timeout=max(0.0, deadline - time.monotonic())))
        for task in finished:
            if not task.cancelled() and task.exception() is not None:
                print("A task the handler spawned failed after the response was sent:", file=sys.stderr)
                print(tracebacks.describe(task.exception()), end="", file=sys.stderr)
        if running:
            running |= set(_spawned)
            _spawned.clear()
            for task in running:
                task.cancel()
            loop.run_until_complete(asyncio.wait(running, timeout=1.0))
            print(
                f"{len(running)} task(s) the handler spawned were still running {limit:g} s after the response "
                "and were cancelled (spin-py gives spawned work that long before the worker takes the next request)",
                file=sys.stderr,
            )
