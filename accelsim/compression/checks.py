"""Validation helpers shared by the compression configs: each raises ConfigError "X must be Y, not x"."""

from __future__ import annotations

import enum
import math
from typing import TypeVar

from ..errors import ConfigError, brief

E = TypeVar("E", bound=enum.Enum)


def is_integer(value: object) -> bool:
    """Whether ``value`` is an int (not a bool)."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_real(value: object) -> bool:
    """Whether ``value`` is a finite int or float (not a bool)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def require(ok: bool, field: str, expected: str, value: object) -> None:
    """Raise ``ConfigError(f"{field} must be {expected}, not {value!r}")`` unless ``ok``."""
    if not ok:
        raise ConfigError(f"{field} must be {expected}, not {value!r}")


def require_type(value: object, kinds: type | tuple[type, ...], field: str, expected: str) -> None:
    """Raise ``ConfigError(f"{field} must be {expected}, not {brief(value)}")`` unless ``value`` is an
    instance of ``kinds``: the first check of a public function, so a wrong argument is named, not
    a ``TypeError`` or ``AttributeError`` deep in the work."""
    if not isinstance(value, kinds):
        raise ConfigError(f"{field} must be {expected}, not {brief(value)}")


def enum_option(cls: type[E], value: object, field: str) -> E:
    """``value`` as a member of the str Enum ``cls`` (a member or its value), else ConfigError."""
    if isinstance(value, cls):
        return value
    for member in cls:
        if value == member.value:
            return member
    choices = ", ".join(repr(member.value) for member in cls)
    raise ConfigError(f"{field} must be one of {choices}, not {value!r}")
