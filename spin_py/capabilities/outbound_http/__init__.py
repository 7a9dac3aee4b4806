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

``http://<component-id>.spin.internal`` (service chaining) is checked as Spin checks it,
then served by that component's handler without the network (private routes included),
through the entry point the HTTP trigger gives each request's instance, as Spin's trigger
installs its OutboundHttpInterceptor (crates/trigger-http/src/outbound_http.rs). A
component the HTTP trigger did not run (a Redis message's) has none: as under Spin, whose
request would then go to the network, the name does not resolve (DnsError).
"""

from urllib.parse import urlsplit

from spin_py.capabilities.errors import CapabilityError
from spin_py.capabilities.outbound_http import errors
from spin_py.capabilities.outbound_http.client import MAX_BODY, HttpClient
from spin_py.capabilities.outbound_networking import (
    AllowedHostError,
    ComponentNetworking,
    OutboundUrl,
    denial_lines,
    service_chaining_target,
    validate_app,
)
from spin_py.capabilities.seam import ConfigureError, decode_bytes, encode_bytes
from spin_py.capabilities.variables.resolver import ResolverConfigError, resolver_for

NAME = "outbound_http"
APIS = ("wasi", "spin")


class OutboundHttpCapability:
    name = NAME

    def __init__(self, host):
        self.host = host
        self.client = HttpClient()

    def configure(self, app, runtime_config, state_dir) -> "OutboundHttpApp":
        try:
            validate_app(app)
        except AllowedHostError as error:
            raise ConfigureError(error.full) from None
        try:
            resolver = resolver_for(app, runtime_config, self.host.config)
        except ResolverConfigError as error:
            raise ConfigureError(str(error)) from None
        return OutboundHttpApp(self, ComponentNetworking(app, resolver))

    def close(self) -> None:
        self.client.close()


class OutboundHttpApp:
    def __init__(self, capability: OutboundHttpCapability, networking: ComponentNetworking):
        self.capability = capability
        self.networking = networking
        self._reported = set()

    def startup_lines(self) -> list[str]:
        return []

    def close(self) -> None:
        pass  # the client and its pooled connections belong to the capability, for the next configuration

    def socket_rules(self, component_id: str) -> list:
        """The component's allowed destinations, for its worker's socket check (WorkerSettings)."""
        return self.networking.socket_rules(component_id)

    def handle(self, instance, function, args):
        if function != "send":
            raise CapabilityError(errors.INTERNAL_ERROR, f"outbound_http has no host function '{function}'")
        api = args.get("api")
        if api not in APIS:
            raise CapabilityError(errors.INTERNAL_ERROR, "outbound_http send needs an api of 'wasi' or 'spin'")
        try:
            return self._send(instance, api, args)
        except CapabilityError as error:
            if api == "spin":
                raise CapabilityError(errors.spin_kind(error.kind), error.message) from None
            raise

    def _send(self, instance, api, args):
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
        url, chained = self._destination(component_id, api, uri)
        if api == "wasi":
            # wasi.rs prepare_request: the host header goes; hyper writes it from the URL.
            headers = [(name, value) for name, value in headers if name.lower() != "host"]
        if chained is not None:
            status, response_headers, data = self._chain(instance, chained, method, url, headers, body)
        else:
            status, response_headers, data = self.capability.client.send(
                method, url, headers, body, follow_redirects=(api == "spin")
            )
        return {"status": status, "headers": [list(pair) for pair in response_headers], "body": encode_bytes(data)}

    def _chain(self, instance, target, method, url, headers, body):
        """Service chaining: the request goes to ``target``'s handler through the HTTP trigger."""
        serve = getattr(instance, "service_chaining", None)
        host = urlsplit(url).hostname
        if serve is None:
            raise CapabilityError(errors.DNS_ERROR, f"{host}: the name does not resolve outside the HTTP trigger")
        parts = urlsplit(url)
        path_and_query = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        try:
            return serve(target, method, path_and_query, headers, body or b"", MAX_BODY)
        except KeyError as error:
            raise CapabilityError(errors.INTERNAL_ERROR, str(error.args[0])) from None
        except ConnectionError as error:  # its response body was cut (over the limit, short of its length)
            raise CapabilityError(errors.HTTP_PROTOCOL_ERROR, f"{host}: {error}") from None

    def _hosts(self, component_id):
        try:
            return self.networking.hosts(component_id)
        except AllowedHostError as error:
            # Spin logs "Error parsing allowed outbound hosts" and denies (unwrap_or(false)).
            if component_id not in self._reported:
                self._reported.add(component_id)
                self.capability.host.say(f"Error parsing allowed outbound hosts of component '{component_id}': {error.full}")
            return None

    def _deny(self, scheme, authority, api):
        for line in denial_lines(scheme, authority):
            self.capability.host.say(line)
        what = "destination" if authority != "self" else "request to the app itself"
        raise CapabilityError(
            errors.HTTP_REQUEST_DENIED,
            f"{scheme}://{authority}: this {what} is not in the component's allowed_outbound_hosts",
        )

    def _destination(self, component_id, api, uri):
        """``(URL, component id when it is a service chaining request, else None)``, once
        the component is allowed to send it; raises CapabilityError."""
        hosts = self._hosts(component_id)
        parts = urlsplit(uri)
        if api == "spin":
            relative = uri.startswith("/")  # spin.rs: only these are "self" requests
        else:
            relative = not parts.netloc or parts.hostname == "self.alt"  # wasi.rs prepare_request
        if relative:
            if hosts is None or not hosts.allows_relative(("http", "https")):
                self._deny("http", "self", api)
            origin = _origin(self.capability.host)
            if origin is None:
                raise CapabilityError(errors.HTTP_REQUEST_URI_INVALID, "spin-py does not know its own address yet")
            path = parts.path or "/"
            return origin + path + (f"?{parts.query}" if parts.query else ""), None
        try:
            url = OutboundUrl.parse(uri, "https")
        except ValueError:
            url = None
        if url is None:  # check_url: "could not be parsed" is a refusal, without the terminal lines
            raise CapabilityError(errors.HTTP_REQUEST_DENIED, f"'{uri}' is not a URL with a host")
        if hosts is None or not hosts.allows(url):
            self._deny(url.scheme, url.authority(), api)
        chained = service_chaining_target(url.host)
        if parts.scheme not in ("http", "https"):
            raise CapabilityError(errors.HTTP_REQUEST_URI_INVALID, f"'{uri}': only http and https URLs can be sent")
        return uri, chained


def _origin(host) -> str | None:
    """The app's own base URL (Spin's SelfRequestOrigin), once the server listens."""
    origin = getattr(host, "origin", None)
    return origin() if callable(origin) else None
