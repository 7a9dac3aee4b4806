"""Outbound HTTP (crates/factor-outbound-http): a component's requests, checked against
its ``allowed_outbound_hosts`` with Spin's rules (spin_py/capabilities/outbound_networking)
and made by the host's HTTP client (client.py).

The host call, as it crosses the channel:

  ``send``  ``{"api": "wasi" | "spin", "method", "uri", "headers": [[name, value], ...],
             "body": {"$bytes"} | None}`` -> ``{"status", "headers": [[name, value], ...], "body": {"$bytes"}}``

``api`` is the interface the guest used: "wasi" for spin-sdk 2-5's ``send`` (wasi:http:
no redirect followed, a relative URL or ``http://self.alt`` is a request to the app
itself, errors are error-code variants), "spin" for the original ``spin_http.http_send``
and fermyon:spin/http (redirects followed, only a URL starting with ``/`` is a self
request, errors are http-error values). A refused destination prints Spin's two lines.

The URI is parsed once, as Spin's host holds it (request_uri.py): the scheme, host and port
that are checked against ``allowed_outbound_hosts`` are the ones the connection is made to
(client.Destination), and the request target is the parsed path and query. A call waits no
longer than its request has left (the instance's ``deadline``).

``http://<component-id>.spin.internal`` (service chaining) is checked as Spin checks it,
then served by that component's handler without the network (private routes included),
through the entry point the HTTP trigger gives each request's instance, as Spin's trigger
installs its OutboundHttpInterceptor (crates/trigger-http/src/outbound_http.rs). A
component the HTTP trigger did not run (a Redis message's) has none: as under Spin, whose
request would then go to the network, the name does not resolve (DnsError).
"""

from typing import Any, ClassVar

from spin_py import observe
from spin_py.capabilities.errors import CapabilityError
from spin_py.capabilities.outbound_http import errors
from spin_py.capabilities.outbound_http.client import MAX_BODY, Destination, HttpClient
from spin_py.capabilities.outbound_http.request_uri import from_sdk_parts, parse_absolute, parse_path_and_query
from spin_py.capabilities.outbound_networking import (
    AllowedHostError,
    AllowedHosts,
    ComponentNetworking,
    OutboundUrl,
    denial_lines,
    service_chaining_target,
    validate_app,
)
from spin_py.capabilities.seam import (
    AppContext,
    Args,
    ConfigureError,
    Flag,
    HostContext,
    HostFunction,
    HostFunctions,
    Instance,
    decode_bytes,
    encode_bytes,
)

NAME = "outbound_http"
_DEFAULT_PORTS = {"http": 80, "https": 443}
APIS = ("wasi", "spin")


class OutboundHttpCapability:
    name: ClassVar[str] = NAME
    host_fields: ClassVar[tuple[str, ...]] = ()  # allowed_outbound_hosts also bounds the worker's sockets
    flags: ClassVar[tuple[Flag, ...]] = ()

    def __init__(self, host: HostContext) -> None:
        self.host = host
        self.client = HttpClient()

    def configure(self, context: AppContext) -> "OutboundHttpApp":
        try:
            validate_app(context.app)
        except AllowedHostError as error:
            raise ConfigureError(error.full) from None
        return OutboundHttpApp(self, context.networking())

    def close(self) -> None:
        self.client.close()


class OutboundHttpApp(HostFunctions):
    def __init__(self, capability: OutboundHttpCapability, networking: ComponentNetworking) -> None:
        self.capability = capability
        self.networking = networking
        self._reported: set[str] = set()

    def startup_lines(self) -> list[str]:
        return []

    def close(self) -> None:
        pass  # the client and its pooled connections belong to the capability, for the next configuration

    def unknown_function(self, function: str) -> CapabilityError:
        return CapabilityError(errors.INTERNAL_ERROR, f"outbound_http has no host function '{function}'")

    def send(self, instance: Instance, args: Args) -> dict[str, Any]:
        api = args.get("api")
        if api not in APIS:
            raise CapabilityError(errors.INTERNAL_ERROR, "outbound_http send needs an api of 'wasi' or 'spin'")
        try:
            return self._send(instance, api, args)
        except CapabilityError as error:
            if api == "spin":
                raise CapabilityError(errors.spin_kind(error.kind), f"{error.kind}: {error.message}") from None
            raise

    functions: ClassVar[dict[str, HostFunction]] = {"send": send}

    def _send(self, instance: Instance, api: str, args: Args) -> dict[str, Any]:
        component_id = instance.component_id
        method, uri, headers = args.get("method"), args.get("uri"), args.get("headers", [])
        if not isinstance(method, str) or not isinstance(uri, str) or not isinstance(headers, list):
            raise CapabilityError(errors.HTTP_REQUEST_URI_INVALID, "a request needs a method, a URI and headers")
        try:
            headers = [(str(name), str(value)) for name, value in headers]
        except (TypeError, ValueError):
            raise CapabilityError(errors.INTERNAL_ERROR, "headers must be [name, value] pairs") from None
        body = None if args.get("body") is None else decode_bytes(args["body"], "request body")
        if body is not None and len(body) > MAX_BODY:
            raise CapabilityError(errors.HTTP_REQUEST_BODY_SIZE, f"the request body is over spin-py's {MAX_BODY}-byte limit")
        destination, chained = self._destination(component_id, api, uri)
        if api == "wasi":
            # wasi.rs prepare_request: the host header goes; hyper writes it from the URL.
            headers = [(name, value) for name, value in headers if name.lower() != "host"]
        headers = observe.inject_headers(headers, destination.url())  # traceparent: Spin's inject_trace_context
        if chained is not None:
            status, response_headers, data = self._chain(instance, chained, method, destination, headers, body)
        else:
            status, response_headers, data = self.capability.client.send(
                method, destination, headers, body, follow_redirects=(api == "spin"),
                deadline=instance.deadline,
            )
        return {"status": status, "headers": [list(pair) for pair in response_headers], "body": encode_bytes(data)}

    def _chain(self, instance: Instance, target: str, method: str, destination: Destination,
               headers: list[tuple[str, str]], body: bytes | None) -> tuple[int, list[tuple[str, str]], bytes]:
        """Service chaining: the request goes to ``target``'s handler through the HTTP trigger."""
        serve = instance.service_chaining
        if serve is None:
            raise CapabilityError(errors.DNS_ERROR, f"{destination.host}: the name does not resolve outside the HTTP trigger")
        try:
            return serve(target, method, destination.path_and_query, headers, body or b"", MAX_BODY)
        except KeyError as error:
            raise CapabilityError(errors.INTERNAL_ERROR, str(error.args[0])) from None
        except ConnectionError as error:  # its response body was cut (over the limit, short of its length)
            raise CapabilityError(errors.HTTP_PROTOCOL_ERROR, f"{destination.host}: {error}") from None

    def _hosts(self, component_id: str) -> AllowedHosts | None:
        try:
            return self.networking.hosts(component_id)
        except AllowedHostError as error:
            # Spin logs "Error parsing allowed outbound hosts" and denies (unwrap_or(false)).
            if component_id not in self._reported:
                self._reported.add(component_id)
                self.capability.host.say(f"Error parsing allowed outbound hosts of component '{component_id}': {error.full}")
            return None

    def _deny(self, scheme: str, authority: str, api: str) -> None:
        for line in denial_lines(scheme, authority):
            self.capability.host.say(line)
        what = "destination" if authority != "self" else "request to the app itself"
        raise CapabilityError(
            errors.HTTP_REQUEST_DENIED,
            f"{scheme}://{authority}: this {what} is not in the component's allowed_outbound_hosts",
        )

    def _destination(self, component_id: str, api: str, uri: str) -> tuple[Destination, str | None]:
        """``(where the request goes, component id when it is a service chaining request, else
        None)``, once the component is allowed to send it; raises CapabilityError. The URI is
        parsed once, as Spin's host holds it (request_uri.py), and the destination checked is
        the one sent to."""
        hosts = self._hosts(component_id)
        try:
            if api == "spin":
                if uri.startswith("/"):  # spin.rs: only these are "self" requests
                    return self._self_request(hosts, api, parse_path_and_query(uri)), None
                # spin.rs checks the text as given before it parses it: its refusal comes first.
                self._check(hosts, uri, api)
                parsed = parse_absolute(uri)
            else:
                parsed = from_sdk_parts(uri)
                # wasi.rs prepare_request: no host (the SDK's ":80") or "self.alt" is the app itself.
                if parsed.scheme is None or _host_of(parsed.host_port) in ("", "self.alt"):
                    return self._self_request(hosts, api, parsed.path_and_query), None
        except ValueError as error:
            raise CapabilityError(errors.HTTP_REQUEST_URI_INVALID, f"'{uri}' is not a URI Spin can send: {error}") from None
        url = self._check(hosts, str(parsed), api)
        if url.scheme not in ("http", "https"):
            raise CapabilityError(errors.HTTP_REQUEST_URI_INVALID, f"'{uri}': only http and https URLs can be sent")
        if "@" in parsed.authority and api == "wasi":
            # wasi.rs connect_tcp looks up the authority as written, userinfo included: it never resolves.
            raise CapabilityError(errors.DNS_ERROR, f"{parsed.authority}: address not available")
        destination = Destination(url.scheme, url.host, url.port or _DEFAULT_PORTS[url.scheme], parsed.path_and_query)
        return destination, service_chaining_target(url.host)

    def _check(self, hosts: AllowedHosts | None, text: str, api: str) -> OutboundUrl:
        """``text`` as Spin's check_url(text, "https") reads it, once it is allowed; else Spin's
        refusal (a URL it cannot parse is refused without the terminal lines)."""
        try:
            url = OutboundUrl.parse(text, "https")
        except ValueError:
            raise CapabilityError(errors.HTTP_REQUEST_DENIED, f"'{text}' is not a URL with a host") from None
        if hosts is None or not hosts.allows(url):
            self._deny(url.scheme, url.authority(), api)
        return url

    def _self_request(self, hosts: AllowedHosts | None, api: str, path_and_query: str) -> Destination:
        if hosts is None or not hosts.allows_relative(("http", "https")):
            self._deny("http", "self", api)
        origin = self.capability.host.origin()
        if origin is None:
            raise CapabilityError(errors.HTTP_REQUEST_URI_INVALID, "spin-py does not know its own address yet")
        url = OutboundUrl.parse(origin, "http")
        return Destination(url.scheme, url.host, url.port or _DEFAULT_PORTS[url.scheme], path_and_query)


def _host_of(host_port: str) -> str:
    if host_port.startswith("["):
        return host_port.partition("]")[0] + "]"
    return host_port.partition(":")[0]

