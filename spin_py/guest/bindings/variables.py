"""Spin variables for every spin-sdk generation: the generated interfaces' functions
forward to the host's ``variables`` capability, and its error kinds (InvalidName,
Undefined, Provider, Other) become each interface's own errors, as Spin's host maps
them (crates/factor-variables/src/host.rs):

- spin-sdk 2.x/3.x ``variables`` and 4.x/5.x ``fermyon_spin_variables_2_0_0``
  (fermyon:spin/variables@2.0.0): ``get(name)``, ``Err(Error_<kind>(text))``;
- 4.x/5.x ``spin_variables_variables_3_0_0`` (what ``spin_sdk.variables`` uses):
  the same, ``async``;
- 4.x/5.x ``fermyon_spin_config`` (fermyon:spin/config): ``get_config(key)``, with
  InvalidName as InvalidKey, Undefined as Provider, the rest as Other;
- wasi:config/store (3.x ``wasi_config_store``, 4.x/5.x ``..._0_2_0_draft_2024_09_27``):
  an undefined or invalid name is ``None``; Provider errors are Upstream, others Io.

The original API's ``spin_config.config_get`` (shims/spin_config.py) uses the
fermyon:spin/config mapping.
"""

from typing import Any

from spin_py_wire.rust_text import rust_debug

from .. import host
from .variants import variant

CAPABILITY = "variables"
PREFIX = "spin_sdk.wit.imports."


def get(name) -> Any:
    """The calling component's variable; raises host.HostError(kind, text)."""
    if not isinstance(name, str):
        raise TypeError(f"the variable name must be a str, not {type(name).__name__}")
    return host.call(CAPABILITY, "get", {"name": name})


def get_all() -> list:
    return [tuple(pair) for pair in host.call(CAPABILITY, "get_all", {})]


def _err(module, name, text) -> Any:
    return module.Err(variant(module, name, text))


def config_error(error) -> tuple:
    """fermyon:spin/config's (variant, text) for a host error (host.rs, v1::config::Host)."""
    if error.kind == "InvalidName":
        return "InvalidKey", error.message
    if error.kind == "Undefined":
        return "Provider", error.message
    # format!("{other}") of the variables error: its Display is its Debug.
    return "Other", f"Error::{error.kind}({rust_debug(error.message)})"


def _same_kind(function, body) -> Any:
    """``body`` as an ``async def`` when the generated ``function`` is one."""
    if function.__code__.co_flags & 0x80:  # CO_COROUTINE

        async def replacement(*args) -> Any:
            return body(*args)
    else:

        def replacement(*args) -> Any:  # type: ignore[misc]  # the plain twin of an async function: their types differ by nature
            return body(*args)

    replacement.__name__ = function.__name__
    replacement.__doc__ = function.__doc__
    return replacement


def bind_variables(module) -> None:
    def body(name) -> Any:
        try:
            return get(name)
        except host.HostError as error:
            raise _err(module, error.kind, error.message) from None

    module.get = _same_kind(module.get, body)


def bind_config(module) -> None:
    def body(key) -> Any:
        try:
            return get(key)
        except host.HostError as error:
            raise _err(module, *config_error(error)) from None

    module.get_config = _same_kind(module.get_config, body)


def bind_wasi_config(module) -> None:
    def get_one(key) -> Any:
        try:
            return get(key)
        except host.HostError as error:
            if error.kind in ("Undefined", "InvalidName"):
                return None
            raise _err(module, "Upstream" if error.kind == "Provider" else "Io", error.message) from None

    def get_every() -> Any:
        try:
            return get_all()
        except host.HostError as error:
            raise _err(module, "Upstream" if error.kind == "Provider" else "Io", error.message) from None

    module.get = _same_kind(module.get, get_one)
    module.get_all = _same_kind(module.get_all, get_every)


BINDINGS = {
    PREFIX + "variables": bind_variables,  # spin-sdk 2.x, 3.x: spin_sdk.variables
    PREFIX + "wasi_config_store": bind_wasi_config,  # spin-sdk 3.x
    PREFIX + "spin_variables_variables_3_0_0": bind_variables,  # spin-sdk 4.x, 5.x: spin_sdk.variables
    PREFIX + "fermyon_spin_variables_2_0_0": bind_variables,
    PREFIX + "fermyon_spin_config": bind_config,
    PREFIX + "wasi_config_store_0_2_0_draft_2024_09_27": bind_wasi_config,
}
