"""Spin's span for each host call: its name, kind and attributes, as the ``#[instrument]``
attributes of crates/factor-*/src/host.rs give them (``name = ...``, ``otel.name`` where it
renames the span, ``otel.kind``, the fields, and the arguments it does not ``skip``).

Where Spin's host has two interfaces for one call (spin:key-value and wasi:keyvalue,
spin:variables and wasi:config), spin-py's guest calls one host function for both, and the
span is the spin: one. Calls that only let go of a resource (``close``) have no span, as
Spin's resource drops have none. Beyond Spin, an llm span carries the OpenTelemetry GenAI
attributes (``gen_ai.*``) and the host's timings (TIME_TO_FIRST_TOKEN, TIME_QUEUED).

No OpenTelemetry import here: this is the table, telemetry/recorder.py makes the spans.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

# opentelemetry_semantic_conventions::attribute, as Spin uses them
DB_SYSTEM_NAME = "db.system.name"
DB_NAMESPACE = "db.namespace"
SERVER_ADDRESS = "server.address"
SERVER_PORT = "server.port"
URL_FULL = "url.full"
HTTP_REQUEST_METHOD = "http.request.method"
HTTP_RESPONSE_STATUS_CODE = "http.response.status_code"
# Beyond Spin, in seconds: the first named after the GenAI semantic conventions' server metric
# (gen_ai.server.time_to_first_token); the conventions have no name for the time queued.
TIME_TO_FIRST_TOKEN = "gen_ai.server.time_to_first_token"
TIME_QUEUED = "spin_py.llm.time_queued"


@dataclass(frozen=True)
class CallSpan:
    name: str
    kind: str = "client"  # otel.kind: "client", "producer"
    attributes: dict[str, Any] = field(default_factory=dict)


def _text(args: Mapping[str, Any], name: str) -> dict[str, Any]:
    """An argument Spin's #[instrument] records (one it does not skip), under its own name."""
    value = args.get(name)
    return {name: value} if isinstance(value, str) else {}


def _address_fields(address: Any) -> dict[str, Any]:
    """factor-outbound-networking's record_address_fields: server.address, server.port and
    db.namespace from a connection address (never its user or password)."""
    if not isinstance(address, str):
        return {}
    try:
        parts = urlsplit(address)
        host, port = parts.hostname, parts.port
    except ValueError:
        return {}
    fields: dict[str, Any] = {}
    if host:
        fields[SERVER_ADDRESS] = host
    if port:
        fields[SERVER_PORT] = port
    namespace = parts.path.lstrip("/")
    if namespace:
        fields[DB_NAMESPACE] = namespace
    return fields


def _key_value(function: str, args: Mapping[str, Any]) -> CallSpan | None:
    # crates/factor-key-value/src/host.rs
    if function == "open":
        return CallSpan("spin_key_value.open", attributes={"name": args.get("label", "")})
    if function in ("get", "set", "delete", "exists", "get_keys", "get_many", "set_many", "delete_many", "increment"):
        return CallSpan(f"spin_key_value.{function}")
    if function == "cas_new":
        return CallSpan("wasi_key_value_cas.new")
    if function == "cas_current":
        return CallSpan("wasi_key_value_cas.current")
    if function == "cas_swap":
        return CallSpan("spin_key_value.swap")
    return None


def _sqlite(function: str, args: Mapping[str, Any]) -> CallSpan | None:
    # crates/factor-sqlite/src/host.rs: open records `database`, execute records `query`
    if function == "open":
        return CallSpan("spin_sqlite.open", attributes={DB_SYSTEM_NAME: "sqlite", **_text(args, "database")})
    if function in ("execute", "execute_stream"):
        statement = args.get("statement")
        return CallSpan("spin_sqlite.execute", attributes={DB_SYSTEM_NAME: "sqlite", **({"query": statement} if isinstance(statement, str) else {})})
    return None


def _variables(function: str, args: Mapping[str, Any]) -> CallSpan | None:
    # crates/factor-variables/src/host.rs: get records `key`
    if function == "get":
        name = args.get("name")
        return CallSpan("spin_variables.get", attributes={"key": name} if isinstance(name, str) else {})
    if function == "get_all":
        return CallSpan("wasi_config.get_all")
    return None


# crates/factor-outbound-redis/src/host.rs: otel.name renames each span to the command
_REDIS = {"publish": "PUBLISH", "get": "GET", "set": "SET", "incr": "INCRBY", "del": "DEL", "sadd": "SADD",
          "smembers": "SMEMBERS", "srem": "SREM"}


def _redis(function: str, args: Mapping[str, Any]) -> CallSpan | None:
    system = {DB_SYSTEM_NAME: "redis"}
    if function == "open":
        return CallSpan("spin_outbound_redis.open_connection", attributes={**system, **_address_fields(args.get("address"))})
    if function in _REDIS:
        recorded = _text(args, "channel") if function == "publish" else _text(args, "key")
        return CallSpan(_REDIS[function], attributes={**system, **recorded})
    if function == "execute":
        command = args.get("command")
        return CallSpan(command if isinstance(command, str) and command else "spin_outbound_redis.execute",
                        attributes={**system, **_text(args, "command")})
    return None


def _rdbms(prefix: str, system: str) -> Callable[[str, Mapping[str, Any]], CallSpan | None]:
    # crates/factor-outbound-pg/src/host.rs, crates/factor-outbound-mysql/src/host.rs: the
    # address is skipped (it may hold a password) and its parts recorded; statements are recorded.
    def span(function: str, args: Mapping[str, Any]) -> CallSpan | None:
        if function == "open":
            return CallSpan(f"{prefix}.open", attributes={DB_SYSTEM_NAME: system, **_address_fields(args.get("address"))})
        if function in ("execute", "query"):
            return CallSpan(f"{prefix}.{function}", attributes={DB_SYSTEM_NAME: system, **_text(args, "statement")})
        return None

    return span


def _mqtt(function: str, args: Mapping[str, Any]) -> CallSpan | None:
    # crates/factor-outbound-mqtt/src/host.rs: the password is skipped
    if function == "open":
        recorded = {**_text(args, "address"), **_text(args, "username")}
        if isinstance(args.get("keep_alive"), int):
            recorded["keep_alive_interval"] = args["keep_alive"]
        return CallSpan("spin_outbound_mqtt.open_connection", attributes=recorded)
    if function == "publish":
        attributes: dict[str, Any] = {"messaging.operation": "publish", "messaging.system": "mqtt"}
        if isinstance(args.get("topic"), str):
            attributes["messaging.destination.name"] = args["topic"]
            attributes["topic"] = args["topic"]
        if isinstance(args.get("qos"), int):
            attributes["qos"] = args["qos"]
        return CallSpan("spin_outbound_mqtt.publish", kind="producer", attributes=attributes)
    return None


def _llm(function: str, args: Mapping[str, Any]) -> CallSpan | None:
    # crates/factor-llm/src/host.rs: the prompt and the texts are skipped, the model recorded
    if function not in ("infer", "generate_embeddings"):
        return None
    model = args.get("model")
    attributes: dict[str, Any] = {}
    if isinstance(model, str):
        attributes["model"] = model
        attributes["gen_ai.request.model"] = model
    attributes["gen_ai.operation.name"] = "text_completion" if function == "infer" else "embeddings"
    params = args.get("params")
    if function == "infer" and isinstance(params, dict):
        for name, key in (("max_tokens", "gen_ai.request.max_tokens"), ("temperature", "gen_ai.request.temperature"),
                          ("top_k", "gen_ai.request.top_k"), ("top_p", "gen_ai.request.top_p")):
            value = params.get(name)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                attributes[key] = value
    return CallSpan(f"spin_llm.{function}", attributes=attributes)


def _outbound_http(function: str, args: Mapping[str, Any]) -> CallSpan | None:
    # crates/factor-outbound-http/src/wasi.rs and spin.rs: otel.name is the method
    if function != "send":
        return None
    method = args.get("method") if isinstance(args.get("method"), str) else "GET"
    return CallSpan(str(method), attributes={HTTP_REQUEST_METHOD: method})


_TABLE: dict[str, Callable[[str, Mapping[str, Any]], CallSpan | None]] = {
    "key_value": _key_value,
    "sqlite": _sqlite,
    "variables": _variables,
    "redis": _redis,
    "postgres": _rdbms("spin_outbound_pg", "postgresql"),
    "mysql": _rdbms("spin_outbound_mysql", "mysql"),
    "mqtt": _mqtt,
    "llm": _llm,
    "outbound_http": _outbound_http,
}


def call_span(capability: str, function: str, args: Mapping[str, Any]) -> CallSpan | None:
    """Spin's span for this host call, or None where Spin has none."""
    make = _TABLE.get(capability)
    return make(function, args) if make is not None else None


def ended_attributes(capability: str, function: str, result: Any, facts: Mapping[str, Any]) -> dict[str, Any]:
    """What is recorded once the call has returned ``result``: the status of an outbound
    request (and where it went), an llm call's token counts and timings."""
    attributes: dict[str, Any] = {}
    if capability == "outbound_http":
        url = facts.get("url")
        if isinstance(url, str):
            attributes[URL_FULL] = url
            attributes.update({k: v for k, v in _address_fields(url).items() if k != DB_NAMESPACE})
        if isinstance(result, dict) and isinstance(result.get("status"), int):
            attributes[HTTP_RESPONSE_STATUS_CODE] = result["status"]
    elif capability == "llm" and isinstance(result, dict):
        usage = result.get("usage")
        if isinstance(usage, dict):
            if isinstance(usage.get("prompt_token_count"), int):
                attributes["gen_ai.usage.input_tokens"] = usage["prompt_token_count"]
            if isinstance(usage.get("generated_token_count"), int):
                attributes["gen_ai.usage.output_tokens"] = usage["generated_token_count"]
        for fact, key in (("time_to_first_token", TIME_TO_FIRST_TOKEN), ("time_queued", TIME_QUEUED)):
            value = facts.get(fact)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                attributes[key] = float(value)
    return attributes
