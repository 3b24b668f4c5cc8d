"""Typed, range-checked fields for the frozen configuration dataclasses.

A field declared with :func:`int_field`, :func:`number_field`, :func:`name_field` or
:func:`choice_field` carries its allowed range in its metadata; :func:`check_fields` (called from
``__post_init__``) raises a :class:`~accelsim.errors.ConfigError` that names the field by its
dotted path and states the allowed range: "ddr.bytes_per_cycle must be a positive integer, not 0".
:func:`build` turns a mapping read from YAML into a dataclass, rejecting unknown keys by name.
"""

from __future__ import annotations

import dataclasses
import enum
import math
import typing
from collections.abc import Mapping
from typing import Any, TypeVar

from ..errors import ConfigError, brief

T = TypeVar("T")


def int_field(default: int, lo: int, hi: int | None = None, doc: str = "") -> Any:
    """An integer field in ``[lo, hi]`` (``hi=None``: no upper bound)."""
    return dataclasses.field(default=default, metadata={"kind": "int", "lo": lo, "hi": hi, "doc": doc})


def number_field(default: float, lo_exclusive: float, hi: float, doc: str = "") -> Any:
    """A real number in ``(lo_exclusive, hi]`` (integers accepted)."""
    return dataclasses.field(
        default=default, metadata={"kind": "number", "lo": lo_exclusive, "hi": hi, "doc": doc}
    )


def name_field(default: str, doc: str = "") -> Any:
    """A non-empty string field."""
    return dataclasses.field(default=default, metadata={"kind": "name", "doc": doc})


def choice_field(default: enum.Enum, doc: str = "") -> Any:
    """A str-Enum field; YAML gives the value string."""
    return dataclasses.field(default=default, metadata={"kind": "choice", "doc": doc})


def section_field(factory: type, doc: str = "") -> Any:
    """A nested configuration section (a dataclass with its own checked fields)."""
    return dataclasses.field(default_factory=factory, metadata={"kind": "section", "doc": doc})


def _int_range(lo: int, hi: int | None) -> str:
    """'a positive integer', 'a non-negative integer' or 'an integer from lo to hi'."""
    if hi is None:
        return {0: "a non-negative integer", 1: "a positive integer"}.get(lo, f"an integer >= {lo}")
    return f"an integer from {lo} to {hi}"


def check_value(path: str, value: object, meta: Mapping[str, Any], annotation: object) -> object:
    """Check (and normalize) one field value; return the value to store.

    Raises:
        ConfigError: the value has the wrong type or is out of range; the message names ``path``.
    """
    kind = meta["kind"]
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int) or value < meta["lo"] or (
            meta["hi"] is not None and value > meta["hi"]
        ):
            raise ConfigError(f"{path} must be {_int_range(meta['lo'], meta['hi'])}, not {brief(value)}")
        return int(value)
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or not (
            meta["lo"] < value <= meta["hi"]
        ):
            raise ConfigError(f"{path} must be a positive number up to {meta['hi']:g}, not {brief(value)}")
        return value
    if kind == "name":
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"{path} must be a non-empty string, not {brief(value)}")
        return value
    if kind == "choice":
        assert isinstance(annotation, type) and issubclass(annotation, enum.Enum)
        allowed = [member.value for member in annotation]
        if isinstance(value, annotation):
            return value
        if isinstance(value, str) and value in allowed:
            return annotation(value)
        choices = ", ".join(repr(item) for item in allowed)
        raise ConfigError(f"{path} must be one of {choices}, not {brief(value)}")
    if kind == "section":
        assert isinstance(annotation, type)
        if not isinstance(value, annotation):
            raise ConfigError(f"{path} must be a {annotation.__name__}, not {type(value).__name__}")
        return value
    raise AssertionError(f"unknown field kind {kind!r}")  # pragma: no cover - programming error


def check_fields(instance: object, section: str) -> None:
    """Check every field of a frozen dataclass ``instance``; ``section`` prefixes the field names."""
    hints = typing.get_type_hints(type(instance))
    for item in dataclasses.fields(instance):  # type: ignore[arg-type]
        path = f"{section}.{item.name}" if section else item.name
        value = check_value(path, getattr(instance, item.name), item.metadata, hints[item.name])
        object.__setattr__(instance, item.name, value)


def build(cls: type[T], data: object, section: str) -> T:
    """Build dataclass ``cls`` from a mapping (nested sections recursively), defaults for omitted keys.

    Raises:
        ConfigError: ``data`` is not a mapping, has an unknown key, or a value is out of range.
    """
    where = section or "the configuration"
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where} must be a mapping of field names to values, not {brief(data)}")
    fields = {item.name: item for item in dataclasses.fields(cls)}  # type: ignore[arg-type]
    hints = typing.get_type_hints(cls)
    unknown = [key for key in data if key not in fields]
    if unknown:
        allowed = ", ".join(repr(name) for name in fields)
        key = f"{section}.{unknown[0]}" if section else str(unknown[0])
        raise ConfigError(f"unknown configuration key {brief(key)}; {where} has the keys {allowed}")
    values: dict[str, object] = {}
    for key, value in data.items():
        path = f"{section}.{key}" if section else str(key)
        if fields[key].metadata["kind"] == "section":
            values[key] = build(hints[key], value, path)
        else:
            values[key] = check_value(path, value, fields[key].metadata, hints[key])
    return cls(**values)


def to_dict(instance: object) -> dict[str, Any]:
    """A plain dict (enums as their values, sections nested) that :func:`build` reads back."""
    result: dict[str, Any] = {}
    for item in dataclasses.fields(instance):  # type: ignore[arg-type]
        value = getattr(instance, item.name)
        if dataclasses.is_dataclass(value):
            result[item.name] = to_dict(value)
        elif isinstance(value, enum.Enum):
            result[item.name] = value.value
        else:
            result[item.name] = value
    return result
