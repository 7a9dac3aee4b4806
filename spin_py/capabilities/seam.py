"""The one shape every host capability has, after Spin's factors
(crates/factors/src/factor.rs: `init` once, `configure_app` per app,
`prepare` per instance):

1. ``Capability(host)``: made once per `spin-py up`, holds what outlives
   manifests (the model pool, open store files). Its class declares what it
   owns: ``name`` (what guests call it by), ``host_fields`` (the component fields
   of the manifest it checks at call time, so an edit to them keeps the workers)
   and ``flags`` (its `spin-py up` options, which cli.py adds from the table).
2. ``configure(context)``: once per loaded manifest. ``context`` (an AppContext)
   holds the app, the runtime config (the capability reads its own tables from it)
   and what several capabilities share, worked out once per manifest and handed to
   each that asks (Spin's ``ctx.app_state::<OutboundNetworkingFactor>()``): the
   variables' resolver and the components' allowed outbound hosts. It checks the
   manifest with Spin's texts (raising ConfigureError fails startup, or keeps the
   last good manifest on reload), and works out each component's permissions.
3. ``Instance``: one request's state (Spin gives every request a fresh
   instance): the handles its calls opened, closed when the request's turn ends,
   and the request's limits, which bound every host call it makes (``ended``).
4. ``AppCapability.handle(instance, function, args)``: the host function. It is
   looked up in the *current* configuration at call time, so a permission
   revoked by a manifest edit fails on the very next call. Every capability
   answers it one way (HostFunctions): a table from function name to method.

The guest half of each capability lives apart, in ``spin_py/guest/bindings/``.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from spin_py import observe
from spin_py.capabilities.errors import CapabilityError
from spin_py.wire import codec

if TYPE_CHECKING:
    from spin_py.capabilities.outbound_networking import ComponentNetworking
    from spin_py.capabilities.variables.resolver import Resolver
    from spin_py.config import UpConfig
    from spin_py.runtime_config import RuntimeConfig

Args = dict[str, Any]  # a host call's arguments as they cross the channel (JSON; bytes as encode_bytes)


class ConfigureError(Exception):
    """The manifest or runtime config asks for something the capability refuses: Spin's text, one line or a few."""


class FlagError(ValueError):
    """A value of a capability's command-line flag that cannot be used: the text after the flag's name."""


@dataclass(frozen=True)
class Flag:
    """One `spin-py up` option a capability owns (repeatable, as all of them are in Spin). cli.py adds
    it to `up`; ``parse`` turns the values given into the setting the capability reads back with
    ``UpConfig.flag(dest)``, raising FlagError for a bad one."""

    name: str  # "--key-value"
    dest: str  # "key_values"
    metavar: str
    help: str
    parse: Callable[[tuple[str, ...]], Any] = tuple


@dataclass(frozen=True)
class HostContext:
    """What every capability is given once, for the life of `spin-py up`."""

    config: UpConfig | None  # the UpConfig built from the command line (None in a test: no flags)
    say: Callable[[str], None]  # one line to the terminal
    origin: Callable[[], str | None] = lambda: None  # the app's own base URL ("http://127.0.0.1:3000") once listening

    def flag(self, dest: str, default: Any = ()) -> Any:
        """A capability flag's setting (``default`` when it was not given, or there is no config)."""
        return self.config.flag(dest, default) if self.config is not None else default


class AppContext:
    """What ``configure`` is given, once per loaded manifest (Spin's ConfigureAppContext).

    What several capabilities share is worked out here once, on first use, and the same
    object handed to each that asks: the variables' resolver (which reads ``.env``) and
    the components' allowed outbound hosts resolved with it. The first capability to ask
    for one that Spin would refuse fails with ConfigureError, as it would have alone.
    """

    def __init__(self, app: Any, runtime_config: RuntimeConfig, state_dir: Path, config: UpConfig | None = None,
                 cwd: Path | None = None) -> None:
        """``config``: `spin-py up`'s UpConfig (its --variable values); ``cwd``: see below."""
        self.app = app
        self.runtime_config = runtime_config
        self.state_dir = Path(state_dir)
        self.config = config
        self._cwd = cwd  # where `spin-py up` runs, which holds the default .env (None: the current folder)
        self._variables: Resolver | ConfigureError | None = None
        self._networking: ComponentNetworking | None = None

    def variables(self) -> Resolver:
        """The app's variables, resolved as crates/factor-variables does (ConfigureError: Spin's refusal)."""
        if self._variables is None:
            from spin_py.capabilities.variables.resolver import ResolverConfigError, resolver_for

            try:
                self._variables = resolver_for(self.app, self.runtime_config, self.config, self._cwd)
            except ResolverConfigError as error:
                self._variables = ConfigureError(str(error))
        if isinstance(self._variables, ConfigureError):
            raise self._variables
        return self._variables

    def networking(self) -> ComponentNetworking:
        """Each component's allowed_outbound_hosts, resolved with the app's variables
        (crates/factor-outbound-networking: one per app, for every capability that connects
        and for the component's own sockets)."""
        if self._networking is None:
            from spin_py.capabilities.outbound_networking import ComponentNetworking

            self._networking = ComponentNetworking(self.app, self.variables())
        return self._networking


class AppCapability(Protocol):
    """A capability configured for one loaded manifest."""

    def startup_lines(self) -> list[str]:
        """What startup prints for this configuration (Spin's "Storing default ... data to" lines, say)."""
        ...

    def handle(self, instance: Instance, function: str, args: Args) -> Any:
        """One host call; JSON values in and out (bytes as ``encode_bytes``); raises CapabilityError."""
        ...

    def close(self) -> None:
        """This configuration is replaced by a newer manifest, or the server stops. Requests
        still running keep the resources their instance opened until their turn ends."""
        ...


class Capability(Protocol):
    name: ClassVar[str]  # what guests call it by
    host_fields: ClassVar[tuple[str, ...]]  # the component fields it reads at call time (see the module docstring)
    flags: ClassVar[tuple[Flag, ...]]  # its `spin-py up` options

    def __init__(self, host: HostContext) -> None: ...

    def configure(self, context: AppContext) -> AppCapability: ...

    def close(self) -> None:
        """The server stops."""
        ...


HostFunction = Callable[[Any, "Instance", Args], Any]  # an AppCapability method: (self, instance, args) -> result


class HostFunctions:
    """``handle`` as every capability answers it: ``functions`` maps each host function's name
    to the method that answers it; a name it lacks is ``unknown_function``'s error."""

    functions: ClassVar[Mapping[str, HostFunction]]

    def unknown_function(self, function: str) -> CapabilityError:
        return CapabilityError("Other", f"there is no host function '{function}'")

    def handle(self, instance: Instance, function: str, args: Args) -> Any:
        answer = self.functions.get(function)
        if answer is None:
            raise self.unknown_function(function)
        return answer(self, instance, args)


# What a host call that the end of its request stopped fails with, in the capability's own
# error variant (Io for SQLite, Other for key-value and Redis, QueryFailed for PostgreSQL ...).
TIME_LIMIT_TEXT = "spin-py: the request's time limit (--request-timeout) ended this call"
CLIENT_GONE_TEXT = "spin-py: the request's client went away, which ended this call"
REQUEST_ENDED_TEXT = "spin-py: the request ended, which ended this call"
CLIENT_CHECK_INTERVAL = 0.1  # seconds between looks at the client's socket during one call


# (target component, method, path and query, headers, body, the most response body it may have)
# -> (status, headers, body): KeyError for a component it cannot serve, ConnectionError for a cut response.
ServiceChaining = Callable[[str, str, str, list[tuple[str, str]], bytes, int], tuple[int, list[tuple[str, str]], bytes]]


class UnknownHandle(KeyError):
    """A handle that this instance never opened, or has closed, or that names another kind of resource."""


class Instance:
    """One request's state: the calling component (known from the worker's
    channel, never from a message) and the resources its calls opened.

    Handles are numbered across all instances, so a handle a guest kept from an
    earlier request never names one this request opened: it is unknown here, as
    in Spin, where every request starts with an empty resource table.
    """

    _handles = itertools.count(1)
    observed: observe.Request | None = None  # the request observers follow (spin_py/observe.py), set by its trigger

    def __init__(self, component_id: str, capabilities: Callable[[], Mapping[str, AppCapability]],
                 deadline: float | None = None, client_gone: Callable[[], bool] | None = None) -> None:
        """``capabilities()`` returns the current configuration's {name: AppCapability};
        ``deadline`` is the request's time limit as a time.monotonic() value (None: none),
        ``client_gone()`` says whether its client has left (None: it has no client)."""
        self.component_id = component_id
        self._capabilities = capabilities
        self._resources: dict[int, tuple[str, Any]] = {}  # handle -> (kind, resource)
        self.closed = False
        # Set by whoever runs the request (the worker, as the request's turn starts); every host
        # call waits no longer than the deadline and stops once the client has gone (``ended``).
        self.deadline = deadline
        self.client_gone = client_gone
        self.cancelled = threading.Event()  # set once the request's turn is over (close())
        self._client_checked = 0.0
        self._client_left = False
        # How a request to another component of the app is served without the network (Spin's
        # service chaining): set by the HTTP trigger for the requests it runs (trigger/http.py),
        # None for the others (a Redis message's), whose chained requests then do not resolve.
        self.service_chaining: ServiceChaining | None = None

    def ended(self) -> str | None:
        """Why this request's host calls must stop now (the text the call fails with), or
        None while the request goes on. Cheap enough to ask between a statement's steps:
        the client is looked at most every CLIENT_CHECK_INTERVAL seconds."""
        if self.cancelled.is_set():
            return REQUEST_ENDED_TEXT
        now = time.monotonic()
        if self.deadline is not None and now >= self.deadline:
            return TIME_LIMIT_TEXT
        if self.client_gone is not None and not self._client_left and now - self._client_checked >= CLIENT_CHECK_INTERVAL:
            self._client_checked = now
            try:
                self._client_left = bool(self.client_gone())
            except Exception:  # a socket that cannot be looked at is a client that cannot be answered
                self._client_left = True
        return CLIENT_GONE_TEXT if self._client_left else None

    def seconds_left(self) -> float | None:
        """Until the deadline (0 once past it), for a driver's own timeout; None without one."""
        if self.deadline is None:
            return None
        return max(0.0, self.deadline - time.monotonic())

    def call(self, capability: str, function: str, args: Args) -> Any:
        handler = self._capabilities().get(capability)
        if handler is None:
            raise CapabilityError("Other", f"spin-py has no host capability named '{capability}'")
        if not isinstance(function, str) or not isinstance(args, dict):
            raise CapabilityError("Other", "a host call needs a function name and an object of arguments")
        if self.observed is not None:  # each host call of an observed request is told (spin_py/observe.py)
            return observe.call(self.observed, self, handler, capability, function, args)
        return handler.handle(self, function, args)

    def add(self, kind: str, resource: Any) -> int:
        handle = next(Instance._handles)
        self._resources[handle] = (kind, resource)
        return handle

    def get(self, kind: str, handle: Any) -> Any:
        found = self._resources.get(handle) if isinstance(handle, int) else None
        if found is None or found[0] != kind:
            raise UnknownHandle(handle)
        return found[1]

    def remove(self, kind: str, handle: Any) -> None:
        resource = self.get(kind, handle)
        del self._resources[handle]
        _close(resource)

    def close(self) -> None:
        """The request's turn ended: stop a call still running (see ``ended``), then close
        what its calls opened, newest first."""
        self.cancelled.set()
        if self.observed is not None:
            observe.instance_closed(self)
        self.closed = True
        resources, self._resources = self._resources, {}
        for _, resource in reversed(list(resources.values())):
            _close(resource)


def _close(resource: Any) -> None:
    close = getattr(resource, "close", None)
    if close is not None:
        try:
            close()
        except Exception:  # closing must not fail the turn: the request has its answer
            pass


# JSON carries no bytes: a byte string crosses the channel as {"$bytes": base64}, written and
# read by the one codec both sides share (spin_py/wire/codec.py).
encode_bytes = codec.encode_bytes


def decode_bytes(value: Any, what: str = "value") -> bytes:
    """What a guest sent as bytes; anything else is the capability's "other" error, naming the argument."""
    try:
        return codec.decode_bytes(value)
    except ValueError:
        raise CapabilityError("Other", f"the {what} must be bytes") from None


# Arguments as they cross the channel: a wrong type is the capability's "other" error, naming the argument.
def text_arg(args: dict, name: str, kind: str = "Other") -> str:
    value = args.get(name)
    if not isinstance(value, str):
        raise CapabilityError(kind, f"the {name} must be a string")
    return value


def texts_arg(args: dict, name: str, kind: str = "Other") -> list[str]:
    value = args.get(name)
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise CapabilityError(kind, f"the {name} must be a list of strings")
    return value
