"""May this component connect to that address? The check every outbound
database and messaging capability (redis, postgres, mysql, mqtt) makes before
it opens a connection: Spin's OutboundAllowedHosts::check_url
(crates/outbound-networking-config/src/allowed_hosts.rs) with the address and
the capability's scheme, matched by spin_py/capabilities/outbound_networking,
and Spin's two terminal lines for a denied destination."""

from collections.abc import Callable
from typing import Any, ClassVar

from spin_py.capabilities.errors import CapabilityError
from spin_py.capabilities.outbound_networking import AllowedHostError, ComponentNetworking, OutboundUrl, denial_lines
from spin_py.capabilities.seam import AppContext, Args, Flag, HostContext, HostFunctions, Instance, UnknownHandle


class OutboundAccess:
    """The allowed_outbound_hosts of one loaded manifest, by component, resolved with its variables."""

    def __init__(self, networking: ComponentNetworking, say: Callable[[str], None]) -> None:
        self.networking = networking
        self._say = say
        self._reported: set[str] = set()

    def allows(self, component_id: str, address: str, scheme: str) -> bool:
        """Spin's check_url: False for an address that does not parse (said nothing of, as
        Spin only logs it) or that no entry allows (then the terminal says which entry would)."""
        try:
            url = OutboundUrl.parse(address, scheme)
        except ValueError:
            return False
        try:
            hosts = self.networking.hosts(component_id)
        except AllowedHostError as error:
            # Spin logs "Error parsing allowed outbound hosts" and denies.
            if component_id not in self._reported:
                self._reported.add(component_id)
                self._say(f"Error parsing allowed outbound hosts of component '{component_id}': {error.full}")
            return False
        if hosts.allows(url):
            return True
        for line in denial_lines(url.scheme, url.authority()):
            self._say(line)
        return False


class OutboundCapability:
    """The shape redis, postgres, mysql and mqtt share: made once, configured per
    manifest with the app's one outbound networking (AppContext.networking, as Spin's
    factor-outbound-mysql takes ``ctx.app_state::<OutboundNetworkingFactor>()``);
    subclasses name ``App``."""

    name: ClassVar[str]
    host_fields: ClassVar[tuple[str, ...]] = ()  # allowed_outbound_hosts also bounds the worker's sockets
    flags: ClassVar[tuple[Flag, ...]] = ()
    App: ClassVar[type["OutboundApp"]]

    def __init__(self, host: HostContext) -> None:
        self.host = host

    def configure(self, context: AppContext) -> "OutboundApp":
        """ConfigureError when the app's variables cannot be resolved (outbound HTTP, which
        checks the same manifest, words the manifest's own mistakes)."""
        return self.App(OutboundAccess(context.networking(), self.host.say))

    def close(self) -> None:
        pass


class OutboundApp(HostFunctions):
    """One manifest's outbound capability: its ``functions`` table names the methods that
    answer each host function; connections live in the request's instance, under
    ``CONNECTION``, and ``close`` forgets one (a handle already gone is no error)."""

    CONNECTION: ClassVar[str]  # the instance's resource kind
    WHAT: ClassVar[str]  # as the user knows it: "outbound Redis"
    OTHER: ClassVar[str] = "Other"  # the error kind for a call that is not a host function

    def __init__(self, access: OutboundAccess) -> None:
        self.access = access

    def startup_lines(self) -> list[str]:
        return []

    def close(self) -> None:
        pass

    def unknown_function(self, function: str) -> CapabilityError:
        return CapabilityError(self.OTHER, f"{self.WHAT} has no host function '{function}'")

    def call_close(self, instance: Instance, args: Args) -> Any:
        try:
            instance.remove(self.CONNECTION, args.get("connection"))
        except UnknownHandle:
            pass
