"""Redis messages handled per second through spin-py's Redis trigger, against a
plain redis-py subscriber (``for message in pubsub.listen(): handle(data)``)
calling the same function, against one redis-server in one run.

    .venv/bin/python bench/redis_trigger.py [--messages 20000] [--rounds 3]

The function (work.py) tells the message ``stop`` from the others; the subscriber
then says so (spin-py's component prints a line, which the host writes to its log;
the plain one writes a file). Each round publishes the messages in pipelined batches
and then ``stop`` to one subscriber, and times from the first publish to that: since
both handle one message after another in arrival order (as Spin does), that is
the time to handle them all. Through spin-py each message crosses the trigger's
read-ahead, the component's worker pool and the worker's channel, to a spin-sdk
3.4.1 ``InboundRedis`` that calls the function (messages that have already
arrived cross together, each still a turn of its own, in a fresh instance). Both subscribers speak
RESP2, as spin-py's trigger does (redis-py 8 defaults to RESP3, whose parser is
slower: the plain subscriber gets the same parser, not a slower one). Rounds alternate which
subscriber goes first; figures are medians, and the ratio is spin-py / plain
(target: 0.5 or more).
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import redis

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from apps import sdk3_python  # noqa: E402
from live import LiveServer  # noqa: E402
from servers import running_redis  # noqa: E402

WORK = '''
def handle(message):
    """The work both subscribers do: True for the message that ends a round."""
    return message == b"stop"
'''

# Each message runs in a fresh instance, which writes no host file: the end of a round is a line
# of the component's output, which the host writes to .spin/logs/listener_stdout.txt.
APP = '''
from spin_sdk.wit import exports
from work import handle

class InboundRedis(exports.InboundRedis):
    def handle_message(self, message: bytes) -> None:
        if handle(message):
            print("round handled", flush=True)
'''

PLAIN = '''
import os, sys
import redis
from work import handle

pubsub = redis.Redis.from_url(sys.argv[1], protocol=2).pubsub(ignore_subscribe_messages=True)
pubsub.subscribe(sys.argv[2])
print("subscribed", flush=True)
rounds = 0
for message in pubsub.listen():
    if handle(message["data"]):
        rounds += 1
        with open(os.environ["DONE"], "w") as done:
            done.write(str(rounds))
'''

MANIFEST = '''
spin_manifest_version = 2

[application]
name = "redis-trigger-bench"

[[trigger.redis]]
address = "{url}"
channel = "spin"
component = "listener"

[component.listener]
source = "app.wasm"
[component.listener.build]
command = "componentize-py -w spin-redis componentize app -o app.wasm"
'''


def rounds_done(channel, folder):
    """How many rounds the subscriber on ``channel`` has finished, by what it wrote."""
    if channel == "spin":
        log = folder / ".spin" / "logs" / "listener_stdout.txt"
        return log.read_text().count("round handled") if log.exists() else 0
    done = folder / "plain-done.txt"
    return int(done.read_text() or 0) if done.exists() else 0


def timed_round(client, channel, folder, messages):
    """Messages per second: publish ``messages`` and ``stop``, wait for the subscriber to say it handled ``stop``."""
    before = rounds_done(channel, folder)
    payloads = [f"message {n:08d}".encode() for n in range(messages)]
    started = time.perf_counter()
    for start in range(0, messages, 1000):
        pipe = client.pipeline(transaction=False)
        for payload in payloads[start:start + 1000]:
            pipe.publish(channel, payload)
        pipe.execute()
    client.publish(channel, b"stop")
    deadline = time.monotonic() + 300
    while rounds_done(channel, folder) == before:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{channel}: the subscriber did not finish")
        time.sleep(0.001)
    elapsed = time.perf_counter() - started
    return (messages + 1) / elapsed


def wait_subscribed(client, channel):
    deadline = time.monotonic() + 30
    while client.pubsub_numsub(channel)[0][1] == 0:
        if time.monotonic() > deadline:
            raise TimeoutError(f"nobody subscribed to {channel}")
        time.sleep(0.05)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder, running_redis(Path(folder) / "redis") as service:
        folder = Path(folder)
        (folder / "work.py").write_text(textwrap.dedent(WORK))
        (folder / "app.py").write_text(textwrap.dedent(APP))
        (folder / "plain.py").write_text(textwrap.dedent(PLAIN))
        (folder / "spin.toml").write_text(MANIFEST.format(url=service.url))
        client = redis.Redis.from_url(service.url)

        server = LiveServer(folder / "spin.toml", "--python", str(sdk3_python()), "--no-watch",
                            log_path=folder / "spin-py.log")
        plain = subprocess.Popen([sys.executable, str(folder / "plain.py"), service.url, "plain"], cwd=folder,
                                 env={**os.environ, "DONE": str(folder / "plain-done.txt"), "PYTHONPATH": str(folder)})
        try:
            server.wait_ready(timeout=120)
            wait_subscribed(client, "spin")
            wait_subscribed(client, "plain")
            timed_round(client, "spin", folder, 1000)  # warm up both
            timed_round(client, "plain", folder, 1000)
            spin, direct = [], []
            for round_number in range(args.rounds):
                order = [("spin", spin), ("plain", direct)]
                for channel, results in order if round_number % 2 == 0 else reversed(order):
                    results.append(timed_round(client, channel, folder, args.messages))
        finally:
            plain.kill()
            plain.wait()
            server.stop()

    spin_median, plain_median = statistics.median(spin), statistics.median(direct)
    print(f"messages per round: {args.messages}, rounds: {args.rounds}")
    print(f"spin-py Redis trigger: {spin_median:,.0f} messages/s (rounds: {', '.join(f'{r:,.0f}' for r in spin)})")
    print(f"plain redis-py:        {plain_median:,.0f} messages/s (rounds: {', '.join(f'{r:,.0f}' for r in direct)})")
    print(f"ratio spin-py / plain: {spin_median / plain_median:.2f} (target >= 0.5)")


if __name__ == "__main__":
    main()
