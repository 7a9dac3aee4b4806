"""Shared pieces of the Redis trigger tests: apps whose Redis handler prints each
message it handled behind ``handled: `` (the host writes a component's output to
``.spin/logs/<id>_stdout.txt``, where the test reads back what the handler saw: an
instance can write no host file), a publisher, and a redis-server that can be
stopped and started again on the same port."""

import contextlib
import subprocess
import time
from pathlib import Path

import redis
from apps import component, manifest, write_app
from live import free_port
from servers import _wait_listening, ensure_debian_package

# spin-sdk 2 and 3: fermyon:spin/inbound-redis as the class InboundRedis.
SDK3_APP = """
    import os, sys
    from spin_sdk.wit import exports
    from spin_sdk.wit.types import Err
    from spin_sdk.wit.imports.redis_types import Error

    class InboundRedis(exports.InboundRedis):
        def handle_message(self, message: bytes) -> None:
            if message == b"raise":
                raise ValueError("the handler raised on purpose")
            if message == b"err":
                raise Err(Error.ERROR)
            sys.stdout.buffer.write(b"handled: " + message + b"\\n")
            sys.stdout.flush()
"""

# spin-sdk 4 and 5: spin:redis/inbound-redis@3.0.0 as the class RedisHandler, awaited.
SDK5_APP = """
    import asyncio, os, sys
    from componentize_py_types import Err
    from spin_sdk.wit import exports
    from spin_sdk.wit.imports.spin_redis_redis_3_0_0 import Error_Other

    class RedisHandler(exports.RedisHandler):
        async def handle_message(self, message: bytes) -> None:
            await asyncio.sleep(0)
            if message == b"raise":
                raise ValueError("the handler raised on purpose")
            if message == b"err":
                raise Err(Error_Other("refused on purpose"))
            sys.stdout.buffer.write(b"handled: " + message + b" " + ".".join(map(str, sys.version_info[:2])).encode() + b"\\n")
            sys.stdout.flush()
"""


def redis_component(component_id, channel, address=None, world="spin-redis", route=None, module="app", extra=""):
    """A ``[[trigger.redis]]`` (and an HTTP trigger when ``route`` is given) and its component."""
    trigger = f'[[trigger.redis]]\nchannel = "{channel}"\ncomponent = "{component_id}"\n'
    if address:
        trigger += f'address = "{address}"\n'
    return trigger + "\n" + component(component_id, module=module, route=route, extra=extra, world=world)


def handled_log(app_folder, component_id="listener"):
    """Where the host writes what ``component_id`` printed (Spin's log layout)."""
    return Path(app_folder) / ".spin" / "logs" / f"{component_id}_stdout.txt"


def redis_manifest(address, *components):
    text = manifest(*components)
    return text.replace('[application]\nname = "test-app"\n',
                        f'[application]\nname = "test-app"\n\n[application.trigger.redis]\naddress = "{address}"\n')


def write_redis_app(folder, address, source, channel="messages", world="spin-redis"):
    path = write_app(folder, redis_manifest(address, redis_component("listener", channel, world=world)),
                     {"app.py": source})
    return path, handled_log(folder)


def publish(url, channel, *messages):
    """Publish each message; returns how many subscribers got the last one."""
    client = redis.Redis.from_url(url)
    try:
        received = 0
        for message in messages:
            received = client.publish(channel, message)
        return received
    finally:
        client.close()


def wait_lines(path, count, timeout=20):
    """The messages a component said it handled, from its log ``path``, once there are ``count``."""
    deadline = time.monotonic() + timeout
    while True:
        text = Path(path).read_bytes() if Path(path).exists() else b""
        lines = [line[len(b"handled: "):] for line in text.split(b"\n") if line.startswith(b"handled: ")]
        if len(lines) >= count:
            return lines
        if time.monotonic() > deadline:
            raise TimeoutError(f"{path} has {lines!r}, wanted {count} lines")
        time.sleep(0.05)


class RestartableRedis:
    """A redis-server on a fixed port that can be stopped and started again there."""

    def __init__(self, folder):
        self.binary = ensure_debian_package("redis-server", "redis-server")
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}"
        self.process = None

    def start(self):
        log = self.folder / "redis.log"
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.folder),
             "--save", "", "--appendonly", "no", "--logfile", str(log)],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
        )
        _wait_listening(self.port, self.process, log)
        return self

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=15)


@contextlib.contextmanager
def restartable_redis(folder):
    server = RestartableRedis(folder).start()
    try:
        yield server
    finally:
        server.stop()
