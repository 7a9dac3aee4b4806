"""A recorded host call made readable for the page: what it did in a few named fields
(the model, prompt and token counts of an ``infer``; the store, operation and key of a
key-value call; the statement of a SQL one; the URL and status of an outbound request),
and for a call the manifest refused, the line of spin.toml that would allow it.

The permission texts matched here are the capabilities' own, which are Spin's:
crates/factor-key-value/src/host.rs (``AccessDenied``), crates/factor-sqlite/src/host.rs
(``AccessDenied``), crates/factor-llm/src/host.rs ("The component does not have access to
use '{model}'..."), and crates/runtime-factors/src/lib.rs's disallowed-host lines ("To allow
this request, add 'allowed_outbound_hosts = [...]' to the manifest component section.").
"""

import base64
import binascii
import json
import re
from collections.abc import Callable
from typing import Any

from spin_py.inspector.recorder import CallRecord, RequestRecord

# The refusals each capability gives (their kinds and texts are Spin's).
_LLM_DENIED = re.compile(r"does not have access to use '(?P<model>.*)'\. To give")
_HTTP_DENIED = re.compile(r"(?P<pattern>[a-z][a-z0-9+.-]*://\S+?): this (?:destination|request to the app itself) is not in")
# The outbound capabilities that name their destination by an address, and the scheme Spin checks it with.
_ADDRESS_SCHEMES = {"redis": "redis", "postgres": "postgres", "mysql": "mysql", "mqtt": "mqtt"}


def readable(value: Any) -> Any:
    """A recorded value with its bytes as text where they are UTF-8 (else base64), for the page."""
    if isinstance(value, dict):
        if "$bytes" in value and set(value) <= {"$bytes", "$size"}:
            encoded = value["$bytes"]
            try:
                data = base64.b64decode(encoded[: len(encoded) // 4 * 4])
            except (binascii.Error, ValueError):
                return {"bytes": encoded}
            size = value.get("$size", len(data))
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                return {"bytes": f"{size} bytes, base64 {encoded[:80]}"}
            return text if size == len(data) else f"{text}… ({size} bytes)"
        if "$text" in value and "$size" in value:
            return value["$text"] if len(value["$text"].encode()) == value["$size"] else f"{value['$text']}… ({value['$size']} bytes)"
        return {key: readable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [readable(item) for item in value]
    return value


def toml_line(key: str, item: str) -> str:
    """``key = ["item"]`` as a TOML line (the item quoted as a TOML basic string)."""
    return f"{key} = [{json.dumps(item)}]"


def allow_line(call: CallRecord, component: str | None,
               allowed: Callable[[str, str, str], bool | None] | None = None) -> str | None:
    """The spin.toml line (under ``[component.<component>]``) that would allow this refused call, or
    None when it was not refused by the manifest. ``allowed(component, address, scheme)``: whether the current manifest
    lets that component reach ``address`` (None: not known), for the outbound capabilities whose
    refusal does not say so in words (Redis, PostgreSQL, MySQL, MQTT answer an address error)."""
    if call.error is None:
        return None
    kind, message = call.error
    args = call.args if isinstance(call.args, dict) else {}
    if call.capability == "key_value" and kind == "AccessDenied" and isinstance(args.get("label"), str):
        return toml_line("key_value_stores", args["label"])
    if call.capability == "sqlite" and kind == "AccessDenied" and isinstance(args.get("database"), str):
        return toml_line("sqlite_databases", args["database"])
    if call.capability == "llm":
        match = _LLM_DENIED.search(message)
        return toml_line("ai_models", match.group("model")) if match else None
    if call.capability == "outbound_http":
        match = _HTTP_DENIED.search(message)
        return toml_line("allowed_outbound_hosts", match.group("pattern")) if match else None
    scheme = _ADDRESS_SCHEMES.get(call.capability)
    if scheme is not None and call.function == "open" and isinstance(args.get("address"), str) and allowed is not None:
        pattern = _address_pattern(args["address"], scheme)
        if pattern is not None and component is not None and allowed(component, args["address"], scheme) is False:
            return toml_line("allowed_outbound_hosts", pattern)
    return None


def _address_pattern(address: str, scheme: str) -> str | None:
    """``scheme://host:port`` as Spin's denial line names an address (OutboundUrl's authority)."""
    from spin_py.capabilities.outbound_networking import OutboundUrl

    try:
        url = OutboundUrl.parse(address, scheme)
    except ValueError:
        return None
    return f"{url.scheme}://{url.authority()}"


def summary(call: CallRecord, labels: dict) -> dict:
    """The fields the page shows for one call, by capability. ``labels``: handle -> store or
    database label, from the request's earlier calls."""
    args = readable(call.args) if isinstance(call.args, dict) else {}
    value = readable(call.value)
    fields: dict[str, Any] = {}
    if call.capability == "llm":
        fields["model"] = args.get("model")
        if call.function == "infer":
            fields["prompt"] = args.get("prompt")
            params = args.get("params")
            fields["parameters"] = (", ".join(f"{name} {value}" for name, value in params.items())
                                    if isinstance(params, dict) else "Spin's defaults")
            if isinstance(value, dict):
                fields["answer"] = value.get("text")
                usage = value.get("usage") or {}
                fields["prompt tokens"] = usage.get("prompt_token_count")
                generated = usage.get("generated_token_count")
                fields["generated tokens"] = generated
                first = call.extra.get("time_to_first_token")
                if first is not None:
                    fields["time to first token"] = f"{first * 1000:.0f} ms"
                if call.extra.get("time_queued") is not None:
                    fields["time queued"] = f"{call.extra['time_queued'] * 1000:.0f} ms"
                if isinstance(generated, int) and call.duration > 0:
                    decoding = call.duration / 1000 - (first or 0.0)
                    if decoding > 0:
                        fields["tokens/s"] = f"{generated / decoding:.1f}"
        else:
            texts = args.get("texts") or []
            fields["texts"] = texts
            if isinstance(value, dict):
                vectors = value.get("embeddings") or []
                fields["embeddings"] = f"{len(vectors)} vectors" + (f" of {len(vectors[0])}" if vectors and isinstance(vectors[0], list) else "")
                fields["prompt tokens"] = (value.get("usage") or {}).get("prompt_token_count")
    elif call.capability in ("key_value", "sqlite"):
        handle = args.get("store", args.get("connection"))
        label = args.get("label", args.get("database", labels.get(handle)))
        fields["store" if call.capability == "key_value" else "database"] = label
        fields["operation"] = call.function
        for name in ("key", "keys", "statement", "params", "parameters", "value", "delta"):
            if name in args:
                fields[name] = args[name]
        if call.function in ("get", "exists", "get_keys", "get_many", "increment", "execute", "cas_current"):
            fields["result"] = value
    elif call.capability == "outbound_http":
        fields["method"] = args.get("method")
        fields["url"] = args.get("uri")
        if isinstance(value, dict):
            fields["status"] = value.get("status")
    elif call.capability in _ADDRESS_SCHEMES:
        for name in ("address", "channel", "topic", "key", "keys", "command", "statement", "params"):
            if name in args:
                fields[name] = args[name]
        if call.function != "open" and value is not None:
            fields["result"] = value
    elif call.capability == "variables":
        fields["name"] = args.get("name")
        fields["value"] = value
    return {key: item for key, item in fields.items() if item is not None}


def describe(record: RequestRecord, allowed: Callable[[str, str, str], bool | None] | None = None) -> dict:
    """One request in full, as the detail view shows it."""
    labels: dict = {}
    calls = []
    for call in record.calls:
        if call.function == "open" and call.error is None and isinstance(call.args, dict):
            label = call.args.get("label", call.args.get("database", call.args.get("address")))
            if label is not None:
                labels[call.value] = label
        line = allow_line(call, record.component, allowed)
        calls.append({
            "capability": call.capability, "function": call.function, "offset": round(call.offset, 2),
            "duration": round(call.duration, 2), "fields": summary(call, labels),
            "args": readable(call.args), "value": readable(call.value),
            "error": None if call.error is None else {"kind": call.error[0], "message": call.error[1]},
            "allow": line,
        })
    # The host writes a failed handler's traceback under the component's name too: shown once, as the traceback.
    traceback = set(record.error.splitlines()) if record.error else set()
    detail = record.summary()
    detail.update({
        "calls": calls, "calls_dropped": record.calls_dropped,
        "lines": [{"stream": stream, "text": text} for stream, text in record.lines
                  if not (stream == "host" and text in traceback)],
        "lines_dropped": record.lines_dropped, "error": record.error,
    })
    return detail
