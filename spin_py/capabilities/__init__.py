"""Host capabilities: what a guest's host calls reach, one folder each, all of
one shape (see seam.py). The server knows them only through this table:
adding a capability is adding its folder and one line here (and its guest
binding in spin_py/guest/bindings/)."""

import importlib

# "module:Class", imported when the server starts, so `spin-py --help` imports none of them.
CAPABILITIES = (
    "spin_py.capabilities.llm:LlmCapability",
    "spin_py.capabilities.sqlite:SqliteCapability",
    "spin_py.capabilities.key_value:KeyValueCapability",
    "spin_py.capabilities.variables:VariablesCapability",
    "spin_py.capabilities.redis:RedisCapability",
    "spin_py.capabilities.postgres:PostgresCapability",
    "spin_py.capabilities.mysql:MysqlCapability",
    "spin_py.capabilities.mqtt:MqttCapability",
    "spin_py.capabilities.outbound_http:OutboundHttpCapability",
)


def load_capabilities(host) -> list:
    """One instance of each capability for the life of `spin-py up` (Spin's Factor::init)."""
    capabilities = []
    for entry in CAPABILITIES:
        module, _, name = entry.partition(":")
        capabilities.append(getattr(importlib.import_module(module), name)(host))
    return capabilities
