"""Host capabilities: what a guest's host calls reach, one folder each, all of
one shape (see seam.py). The server knows them only through this table, and
the command line takes their flags from it: adding a capability is adding its
folder and one loader here (and its guest binding in spin_py/guest/bindings/).

Each loader imports its capability when the server starts, so `spin-py --help`
imports none of them; its return type makes mypy check the class against the
Capability Protocol.
"""

from collections.abc import Callable, Iterator

from spin_py.capabilities.seam import Capability, Flag, HostContext


def _llm() -> type[Capability]:
    from spin_py.capabilities.llm import LlmCapability

    return LlmCapability


def _sqlite() -> type[Capability]:
    from spin_py.capabilities.sqlite import SqliteCapability

    return SqliteCapability


def _key_value() -> type[Capability]:
    from spin_py.capabilities.key_value import KeyValueCapability

    return KeyValueCapability


def _variables() -> type[Capability]:
    from spin_py.capabilities.variables import VariablesCapability

    return VariablesCapability


def _redis() -> type[Capability]:
    from spin_py.capabilities.redis import RedisCapability

    return RedisCapability


def _postgres() -> type[Capability]:
    from spin_py.capabilities.postgres import PostgresCapability

    return PostgresCapability


def _mysql() -> type[Capability]:
    from spin_py.capabilities.mysql import MysqlCapability

    return MysqlCapability


def _mqtt() -> type[Capability]:
    from spin_py.capabilities.mqtt import MqttCapability

    return MqttCapability


def _outbound_http() -> type[Capability]:
    from spin_py.capabilities.outbound_http import OutboundHttpCapability

    return OutboundHttpCapability


# In the order they are configured (the first refusal is the one startup shows).
CAPABILITIES: list[Callable[[], type[Capability]]] = [
    _llm, _sqlite, _key_value, _variables, _redis, _postgres, _mysql, _mqtt, _outbound_http,
]


def capability_classes() -> Iterator[type[Capability]]:
    for load in CAPABILITIES:
        yield load()


def load_capabilities(host: HostContext) -> list[Capability]:
    """One instance of each capability for the life of `spin-py up` (Spin's Factor::init)."""
    return [capability(host) for capability in capability_classes()]


def capability_flags() -> list[Flag]:
    """Every capability's `spin-py up` options, in the table's order."""
    return [flag for capability in capability_classes() for flag in capability.flags]

