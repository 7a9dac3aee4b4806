"""The guest's event loop is made per process, on first use: a process that builds the
handlers (and forks instances) has none, and a forked child makes its own without
closing the one it inherited (whose epoll instance it shares with its parent)."""

import subprocess
import sys
import textwrap

from spin_py.host.launch import guest_loader

SCRIPT = guest_loader() + textwrap.dedent('''
    import asyncio, os, sys, threading
    from spin_py_guest import handlers

    class App:
        async def handle_request(self, request):
            return None

        async def handle(self, request):
            return None

        async def handle_message(self, message):
            return None

    handlers.AsyncSdkHandler(App(), object)
    handlers.WasiHttpHandler(App(), None)
    handlers.RedisMessageHandler(App(), "RedisHandler", True)
    assert handlers._loop is None, "a handler made the event loop when it was built"

    parent = handlers.worker_loop()
    assert handlers.worker_loop() is parent
    parent.run_until_complete(asyncio.sleep(0))

    pid = os.fork()
    if pid == 0:
        try:
            child = handlers.worker_loop()
            assert child is not parent and handlers.worker_loop() is child
            assert parent in handlers._inherited and not parent.is_closed()
            child.run_until_complete(asyncio.sleep(0.01))
            os._exit(0)
        except BaseException as error:
            print(repr(error), flush=True)
            os._exit(1)
    assert os.waitpid(pid, 0)[1] == 0

    # The parent's loop still wakes when another thread hands it work (its self-pipe is still
    # registered in the epoll instance the child shared).
    async def woken():
        future = asyncio.get_running_loop().create_future()
        threading.Timer(0.05, lambda: parent.call_soon_threadsafe(future.set_result, "woken")).start()
        return await asyncio.wait_for(future, 5)

    import time
    started = time.monotonic()
    assert parent.run_until_complete(woken()) == "woken"
    assert time.monotonic() - started < 2, "the parent's loop slept through its wake-up"
    assert handlers.worker_loop() is parent
    print("ok")
''')


def test_the_event_loop_is_made_on_first_use_in_each_process():
    result = subprocess.run([sys.executable, "-I", "-c", SCRIPT], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stdout + result.stderr
