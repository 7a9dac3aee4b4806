"""CPython stand-in for the `componentize_py_types` module that componentize-py
generates into a component: spin-sdk 4.x and 5.x import it."""

from dataclasses import dataclass
from typing import Generic, TypeVar, Union

S = TypeVar("S")
T = TypeVar("T")
E = TypeVar("E")


@dataclass
class Some(Generic[S]):
    value: S


@dataclass
class Ok(Generic[T]):
    value: T


@dataclass(frozen=True)
class Err(Generic[E], Exception):
    value: E


Result = Union[Ok[T], Err[E]]
