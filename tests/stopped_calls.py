"""What the host-call limit tests share: run a call that must be stopped, and report how it failed."""

import threading
import time
from contextlib import contextmanager

from spin_py.capabilities.errors import CapabilityError
from spin_py.capabilities.seam import AppContext, HostContext, Instance
from spin_py.manifest import load_manifest
from spin_py.runtime_config import RuntimeConfig

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


@contextmanager
def outbound_instances(folder, capability_class, allowed):
    """``request(**limits)``: a fresh Instance of component `web`, whose allowed_outbound_hosts is
    ``[allowed]``, answered by ``capability_class`` configured for that manifest in ``folder``.
    Every instance made is closed at the end."""
    (folder / "spin.toml").write_text(
        'spin_manifest_version = 2\n[application]\nname = "limits"\n'
        '[[trigger.http]]\nroute = "/..."\ncomponent = "web"\n'
        f'[component.web]\nsource = "app.wasm"\nallowed_outbound_hosts = ["{allowed}"]\n'
    )
    host = HostContext(config=None, say=lambda line: None)
    capability = capability_class(host)
    configured = capability.configure(AppContext(load_manifest(folder / "spin.toml"), RuntimeConfig(), folder))
    instances = []

    def request(**limits):
        instance = Instance("web", lambda: {capability.name: configured}, **limits)
        instances.append(instance)
        return instance

    try:
        yield request
    finally:
        for instance in instances:
            instance.close()
