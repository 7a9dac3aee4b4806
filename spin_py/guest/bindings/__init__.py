"""Fills in the host functions of the app's real spin-sdk, one module per capability.

spin-sdk's generated WIT bindings (``spin_sdk.wit.imports.*``) are plain
functions that only work inside a WebAssembly component (they raise
NotImplementedError elsewhere). When the app imports one of them, its
capability's ``bind(module)`` replaces those functions with ones that call our
host and return results and errors as the SDK's own types: the SDK's code
above them (``spin_sdk.llm.infer`` ...) runs unchanged.

Each module here exports ``BINDINGS``: {generated module name: bind(module)}.
"""

from collections.abc import Callable
from typing import Any

from .. import import_hooks
from . import (
    key_value,
    llm,
    mqtt,
    mysql,
    not_provided,
    outbound_http,
    postgres,
    redis,
    sqlite,
    variables,
    wasi_http,
)

BINDINGS = {
    **not_provided.BINDINGS,
    **llm.BINDINGS,
    **key_value.BINDINGS,
    **sqlite.BINDINGS,
    **variables.BINDINGS,
    **outbound_http.BINDINGS,
    **redis.BINDINGS,
    **postgres.BINDINGS,
    **mysql.BINDINGS,
    **mqtt.BINDINGS,
    **wasi_http.BINDINGS,
}


def _after(bind) -> Callable[..., Any]:
    def hook(module, run) -> None:
        run()
        bind(module)

    return hook


def install() -> None:
    for name, bind in BINDINGS.items():
        import_hooks.on_import(name, _after(bind))
