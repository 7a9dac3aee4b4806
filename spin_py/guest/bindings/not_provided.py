"""Capabilities spin-py does not provide yet: their generated functions raise
the SDK's own error type, with a message that says so, instead of the bare
NotImplementedError of a binding that only a WebAssembly host fills in.

The error is the interface's own "other" variant (``Err(Error_Other(text))``,
``Err(ErrorCode_InternalError(text))`` for wasi:http), found in the generated
module or the types module it imports, so the app's own error handling sees
what it would see under Spin when the call fails.
"""

import dataclasses
import inspect
import sys
import types
from collections.abc import Callable
from typing import Any, NoReturn

MESSAGE = "spin-py does not provide {what} yet: this call works only under Spin for now"

# Generated interfaces, by what they are to the user; spin-sdk 2.x/3.x names first, then 4.x/5.x. None
# at present: wasi:http 0.2's outgoing handler, the last, is bindings/wasi_http_02.py.
INTERFACES: dict[str, tuple[str, ...]] = {}
# Their "other" error variants, most specific first.
OTHER_VARIANTS = ("Error_Other", "MysqlError_Other", "PgError_Other", "ErrorCode_InternalError")


def _other_variant(module) -> Any:
    """The interface's catch-all error class taking one text, from the module or the types it imports."""
    places = [module] + [value for value in vars(module).values() if isinstance(value, types.ModuleType)]
    for name in OTHER_VARIANTS:
        for place in places:
            variant = getattr(place, name, None)
            if isinstance(variant, type) and dataclasses.is_dataclass(variant) and len(dataclasses.fields(variant)) == 1:
                return variant
    return None


def error_for(module, what) -> Any:
    """An exception as the SDK raises it for this interface."""
    text = MESSAGE.format(what=what)
    err = getattr(module, "Err", None) or _err_class()
    variant = _other_variant(module)
    if err is not None and variant is not None:
        return err(variant(text))
    return RuntimeError(text)


def _err_class() -> Any:
    """``Err`` of the app's SDK generation: spin-sdk 2.x/3.x ``spin_sdk.wit.types``, 4.x/5.x ``componentize_py_types``."""
    for name in ("spin_sdk.wit.types", "componentize_py_types"):
        module = sys.modules.get(name)
        if module is not None and hasattr(module, "Err"):
            return module.Err
    return None


def _unprovided(function) -> bool:
    """A generated function that only raises NotImplementedError."""
    code = getattr(function, "__code__", None)
    return code is not None and "NotImplementedError" in code.co_names


def _replacement(function, module, what) -> Any:
    if inspect.iscoroutinefunction(function):
        async def refuse(*args, **kwargs) -> NoReturn:
            raise error_for(module, what)
    else:
        def refuse(*args, **kwargs) -> NoReturn:  # type: ignore[misc]  # the plain twin of an async function: their types differ by nature
            raise error_for(module, what)
    refuse.__name__ = function.__name__
    refuse.__qualname__ = function.__qualname__
    refuse.__doc__ = function.__doc__
    return refuse


def _bind(what) -> Callable[..., Any]:
    def bind(module) -> None:
        for name, value in list(vars(module).items()):
            if inspect.isfunction(value) and value.__module__ == module.__name__ and _unprovided(value):
                setattr(module, name, _replacement(value, module, what))
            elif isinstance(value, type) and value.__module__ == module.__name__:
                for attribute, member in list(vars(value).items()):
                    function = member.__func__ if isinstance(member, (classmethod, staticmethod)) else member
                    if inspect.isfunction(function) and _unprovided(function):
                        replacement = _replacement(function, module, what)
                        if isinstance(member, classmethod):
                            replacement = classmethod(replacement)
                        elif isinstance(member, staticmethod):
                            replacement = staticmethod(replacement)
                        setattr(value, attribute, replacement)

    return bind


BINDINGS = {f"spin_sdk.wit.imports.{name}": _bind(what) for what, names in INTERFACES.items() for name in names}
