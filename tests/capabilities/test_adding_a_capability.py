"""The README's "adding a capability", done: a small capability registered through the
same table the server reads (spin_py/capabilities: CAPABILITIES), whose flag `spin-py up`
offers, configured for a manifest, and called from a component's handler through the
guest's one host-call function. Nothing else in spin-py knows its name."""

from pathlib import Path
from typing import ClassVar

import pytest
from apps import write_app
from click.testing import CliRunner

import spin_py.capabilities as capabilities
from spin_py import cli
from spin_py.capabilities.errors import CapabilityError
from spin_py.capabilities.seam import (
    AppContext,
    Args,
    Capability,
    ConfigureError,
    Flag,
    FlagError,
    HostContext,
    HostFunction,
    HostFunctions,
    Instance,
)


def _suffix(values: tuple[str, ...]) -> str:
    if any(not value for value in values):
        raise FlagError("the suffix must not be empty")
    return "".join(values)


class ShoutApp(HostFunctions):
    """One manifest's configuration: the components that may shout (those with a `shout` environment variable)."""

    def __init__(self, allowed: frozenset[str], suffix: str) -> None:
        self.allowed = allowed
        self.suffix = suffix

    def startup_lines(self) -> list[str]:
        return [f"Shouting for {', '.join(sorted(self.allowed))}."]

    def close(self) -> None:
        pass

    def upper(self, instance: Instance, args: Args) -> str:
        if instance.component_id not in self.allowed:
            raise CapabilityError("AccessDenied", f"component '{instance.component_id}' may not shout")
        return str(args.get("text", "")).upper() + self.suffix

    functions: ClassVar[dict[str, HostFunction]] = {"upper": upper}


class ShoutCapability:
    name: ClassVar[str] = "shout"
    host_fields: ClassVar[tuple[str, ...]] = ()
    flags: ClassVar[tuple[Flag, ...]] = (Flag("--shout-suffix", "shout_suffix", "TEXT", "What every shout ends with.", _suffix),)

    def __init__(self, host: HostContext) -> None:
        self.host = host

    def configure(self, context: AppContext) -> ShoutApp:
        allowed = frozenset(c.id for c in context.app.components.values() if "shout" in c.environment)
        if not allowed:
            raise ConfigureError("no component may shout: give one a `shout` environment variable")
        return ShoutApp(allowed, self.host.flag("shout_suffix", ""))

    def close(self) -> None:
        pass


def _shout() -> type[Capability]:
    return ShoutCapability


@pytest.fixture
def registered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(capabilities, "CAPABILITIES", [*capabilities.CAPABILITIES, _shout])
    # `up` adds the table's flags once per process: start again from its own options.
    own = {flag.dest for flag in capabilities.capability_flags()}
    monkeypatch.setattr(cli.up, "params", [param for param in cli.up.params if param.name not in own])
    monkeypatch.setattr(cli.up, "_with_capability_flags", False)


def test_up_offers_the_capabilitys_flag_and_names_it_in_a_mistake(registered: None) -> None:
    runner = CliRunner()
    assert "--shout-suffix TEXT" in runner.invoke(cli.main, ["up", "--help"]).output
    result = runner.invoke(cli.main, ["up", "--shout-suffix", "", "-f", "/nonexistent"])
    assert result.exit_code == 2
    assert "Invalid value for '--shout-suffix': the suffix must not be empty" in result.output


MANIFEST = """
    spin_manifest_version = 2

    [application]
    name = "shouting"

    [[trigger.http]]
    route = "/loud/..."
    component = "loud"

    [[trigger.http]]
    route = "/quiet/..."
    component = "quiet"

    [component.loud]
    source = "app.wasm"
    environment = { shout = "yes" }
    [component.loud.build]
    command = "componentize-py -w spin-http componentize app -o app.wasm"

    [component.quiet]
    source = "app.wasm"
    [component.quiet.build]
    command = "componentize-py -w spin-http componentize app -o app.wasm"
"""

# The original Python API, so it runs in spin-py's own interpreter; its guest binding is
# one call of the guest's host-call function.
APP = """
    from spin_http import Response
    from spin_py_guest import host


    def handle_request(request):
        try:
            text = host.call("shout", "upper", {"text": "hello"})
        except host.HostError as error:
            return Response(403, {"content-type": "text/plain"}, f"{error.kind}: {error.message}".encode())
        return Response(200, {"content-type": "text/plain"}, text.encode())
"""


@pytest.mark.live
def test_a_component_calls_the_registered_capability(registered: None, tmp_path: Path) -> None:
    from spin_py.config import UpConfig
    from spin_py.dev_server import DevServer
    from spin_py.testing import SpinApp

    manifest = write_app(tmp_path, MANIFEST, {"app.py": APP})
    config = UpConfig(manifest=manifest, port=0, watch=False, build_check=False,
                      capability_flags={"shout_suffix": "!"})
    server = DevServer(config)
    assert "Shouting for loud." in server.runtime.capability_lines()
    app = SpinApp(server)
    try:
        loud = app.get("/loud/")
        assert (loud.status, loud.text) == (200, "HELLO!")
        quiet = app.get("/quiet/")
        assert (quiet.status, quiet.text) == (403, "AccessDenied: component 'quiet' may not shout")
    finally:
        app.stop()
