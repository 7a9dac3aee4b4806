"""Memory of concurrent instances: 8 requests held inside a spin-sdk 3 handler at once,
each in its own instance forked from the component's zygote. Reports, from
/proc/<pid>/smaps_rollup, the proportional (PSS) and private (USS) memory of the
component's processes (base, zygote, instances), against the RSS they would add up
to if nothing were shared.

    .venv/bin/python bench/instances.py [--instances 8]
"""

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from apps import component, manifest, sdk3_python, write_app  # noqa: E402
from live import LiveServer  # noqa: E402

HOLD = """
    import json, time
    from spin_sdk.http import IncomingHandler, Request, Response

    class IncomingHandler(IncomingHandler):
        def handle_request(self, request: Request) -> Response:
            time.sleep(3)
            return Response(200, {}, b"held")
"""


def rollup(pid: int) -> dict:
    fields = {}
    with open(f"/proc/{pid}/smaps_rollup") as file:
        for line in file:
            name, _, rest = line.partition(":")
            if rest.strip().endswith("kB"):
                fields[name] = int(rest.split()[0])
    return fields


def component_processes(host: int) -> list[tuple[str, int]]:
    """(role, pid) of the component's processes under ``host``: base, zygote, instances."""
    children = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                parent = int(Path(f"/proc/{name}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError):
                continue
            children.setdefault(parent, []).append(int(name))
    found = []
    for base in children.get(host, []):
        if b"spin_py_guest" not in Path(f"/proc/{base}/cmdline").read_bytes():
            continue
        found.append(("base", base))
        for zygote in children.get(base, []):
            found.append(("zygote", zygote))
            found += [("instance", pid) for pid in children.get(zygote, [])]
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--instances", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = write_app(folder, manifest(component("hold", route="/...")), {"app.py": HOLD})
        server = LiveServer(path, "--python", str(sdk3_python()), "--max-workers", str(args.instances + 2),
                            log_path=Path(folder) / "spin-py.log").wait_ready()
        try:
            server.get("/warm")
            threads = [threading.Thread(target=server.get, args=("/hold",)) for _ in range(args.instances)]
            for thread in threads:
                thread.start()
            time.sleep(1.5)  # all of them inside the handler
            processes = component_processes(server.process.pid)
            measured = [(role, pid, rollup(pid)) for role, pid in processes]
            for thread in threads:
                thread.join()
        finally:
            server.stop()
    busy = [m for m in measured if m[0] == "instance"]
    for role in ("base", "zygote"):
        for _, _, fields in (m for m in measured if m[0] == role):
            print(f"{role:9} RSS {fields['Rss'] / 1024:6.1f} MiB  PSS {fields['Pss'] / 1024:6.1f} MiB")
    private = [(f["Private_Clean"] + f["Private_Dirty"]) / 1024 for _, _, f in busy]
    rss = sum(f["Rss"] for _, _, f in measured) / 1024
    pss = sum(f["Pss"] for _, _, f in measured) / 1024
    print(f"{len(busy)} instances (busy and forked ahead): private memory per instance median "
          f"{sorted(private)[len(private) // 2]:.2f} MiB, max {max(private):.2f} MiB")
    print(f"all the component's processes: PSS {pss:.1f} MiB, where their RSS adds up to {rss:.1f} MiB "
          f"(shared: {100 * (1 - pss / rss):.0f}%)")


if __name__ == "__main__":
    main()
