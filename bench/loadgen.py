"""What the request-per-second benchmarks share: keep-alive clients on loopback,
rounds that alternate which side goes first (this machine is shared and noisy,
so both sides see the same noise), and medians over rounds."""

import http.client
import statistics
import threading
import time


def load(port, paths, check, seconds, connections):
    """Requests per second from ``connections`` keep-alive clients for ``seconds``, each
    cycling through ``paths``; ``check(path, status, body)`` asserts on every answer."""
    counts = [0] * connections
    deadline = time.perf_counter() + seconds

    def client(index):
        connection = http.client.HTTPConnection("127.0.0.1", port)
        turn = index
        while time.perf_counter() < deadline:
            path = paths[turn % len(paths)]
            turn += 1
            connection.request("GET", path)
            response = connection.getresponse()
            check(path, response.status, response.read())
            if response.will_close:
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port)
            counts[index] += 1
        connection.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(counts) / (time.perf_counter() - started)


def compare(sides, rounds, seconds, warm_up=1.0):
    """``sides``: {name: load(seconds) -> req/s}. Each side is warmed up, then loaded once a
    round, the order alternating between rounds; returns {name: [req/s per round]}."""
    for run in sides.values():
        run(warm_up)
    results = {name: [] for name in sides}
    order = list(sides)
    for round_number in range(rounds):
        for name in order if round_number % 2 == 0 else reversed(order):
            results[name].append(sides[name](seconds))
    return results


def report(results, target):
    """Print each side's median and rounds, and the first side's ratio to the second."""
    (first, first_rounds), (second, second_rounds) = results.items()
    width = max(len(name) for name in results)
    for name, rounds in results.items():
        print(f"{name:{width}}  {statistics.median(rounds):8.0f} req/s  (rounds: {', '.join(f'{r:.0f}' for r in rounds)})")
    ratio = statistics.median(first_rounds) / statistics.median(second_rounds)
    print(f"ratio {first} / {second}: {ratio:.2f} (target >= {target})")
    return ratio
