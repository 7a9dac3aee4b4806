"""CPython stand-in for ``componentize_py_types``, which componentize-py
generates into each component: spin-sdk 4.x and 5.x import ``Result``, ``Ok``,
``Err`` and ``Some`` from it. Same definitions as the generated module, so an
``Err`` raised by the SDK or by our host bindings is caught by the app's
``except Err``."""

from dataclasses import dataclass
from typing import Generic, TypeVar

S = TypeVar("S")


@dataclass
class Some(Generic[S]):
    value: S


T = TypeVar("T")


@dataclass
class Ok(Generic[T]):
    value: T


E = TypeVar("E")


@dataclass(frozen=True)
class Err(Generic[E], Exception):
    value: E


Result = Ok[T] | Err[E]
