"""The design space of a sweep: which configuration fields vary, and over which values.

A parameter names a leaf field of :class:`~accelsim.hw.config.HwConfig` by its dotted path
(``"ddr.bytes_per_cycle"``, ``"pe.kind"``, ``"clock_mhz"``) and gives either a list of values or
a numeric range. Both are checked against the field's own declared range when the spec is loaded
(:func:`parameter_from_yaml`), so a typo or an impossible value fails before any point runs.

>>> parameter_from_yaml("pe.tn", {"low": 4, "high": 16, "step": 4}).grid_values()
(4, 8, 12, 16)
"""

from __future__ import annotations

import dataclasses
import difflib
import enum
import math
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError, brief
from ..hw.config import HwConfig
from ..hw.fields import check_value


class FieldKind(str, enum.Enum):
    """How a configuration field's values are typed (its column type in the results)."""

    INT = "int"
    NUMBER = "number"
    TEXT = "text"


@dataclass(frozen=True)
class FieldInfo:
    """A leaf field of the hardware configuration.

    Attributes:
        name: dotted path, e.g. ``"ddr.bytes_per_cycle"``.
        kind: integer, real number or text (names and enum choices).
        meta: the field's declared metadata (range) used to check values.
        annotation: the field's type (an Enum class for choices).
    """

    name: str
    kind: FieldKind
    meta: Mapping[str, Any]
    annotation: object

    def check(self, value: object, where: str) -> object:
        """``value`` checked against the field's declared range; the error names ``where``."""
        checked = check_value(where, value, self.meta, self.annotation)
        return checked.value if isinstance(checked, enum.Enum) else checked


def _leaves(cls: type, prefix: str) -> dict[str, FieldInfo]:
    hints = typing.get_type_hints(cls)
    found: dict[str, FieldInfo] = {}
    for item in dataclasses.fields(cls):
        path = f"{prefix}{item.name}"
        kind = item.metadata["kind"]
        if kind == "section":
            found.update(_leaves(hints[item.name], f"{path}."))
            continue
        column = {"int": FieldKind.INT, "number": FieldKind.NUMBER}.get(kind, FieldKind.TEXT)
        found[path] = FieldInfo(path, column, item.metadata, hints[item.name])
    return found


#: Every leaf field of :class:`HwConfig` by dotted name.
CONFIG_FIELDS: dict[str, FieldInfo] = _leaves(HwConfig, "")


def config_field(name: object) -> FieldInfo:
    """The leaf field called ``name``.

    Raises:
        ConfigError: ``name`` is not a leaf field (the message suggests the closest ones).
    """
    if isinstance(name, str) and name in CONFIG_FIELDS:
        return CONFIG_FIELDS[name]
    close = difflib.get_close_matches(str(name), CONFIG_FIELDS, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise ConfigError(
        f"parameter must name a configuration field such as 'ddr.bytes_per_cycle' or 'pe.tn', "
        f"not {brief(name)}{hint}; the fields are {', '.join(CONFIG_FIELDS)}"
    )


@dataclass(frozen=True)
class Parameter:
    """One varied field: an explicit list of values, or a numeric range ``[low, high]``.

    Attributes:
        field: the configuration field.
        values: the listed values (``None`` for a range), each already checked.
        low, high: range bounds (inclusive).
        step: lattice of a range: grid values are ``low, low+step, ... <= high``; sampled integer
            values are rounded to it. ``None``: 1 for integer fields, continuous for real ones.
        log: sample the range log-uniformly (random and Latin-hypercube samplers).
    """

    field: FieldInfo
    values: tuple[object, ...] | None = None
    low: float | None = None
    high: float | None = None
    step: float | None = None
    log: bool = False

    @property
    def name(self) -> str:
        """The dotted field name."""
        return self.field.name

    @property
    def lattice(self) -> float | None:
        """Spacing of allowed range values: ``step``, or 1 for integer fields, or None (continuous)."""
        if self.step is not None:
            return self.step
        return 1 if self.field.kind is FieldKind.INT else None

    def grid_size(self) -> int:
        """How many values a grid over this parameter has (without making them).

        Raises:
            ConfigError: a range of a real-valued field without ``step``, or with ``log``.
        """
        if self.values is not None:
            return len(self.values)
        assert self.low is not None and self.high is not None
        if self.log:
            raise ConfigError(f"parameters.{self.name}.log applies to the random and lhs samplers; "
                              "a grid needs a list of values or a linear range, not log: true")
        lattice = self.lattice
        if lattice is None:
            raise ConfigError(f"parameters.{self.name}.step must be given for a grid over a real-valued "
                              f"field (or list the values), not None")
        return math.floor((self.high - self.low) / lattice + 1e-9) + 1

    def grid_values(self) -> tuple[object, ...]:
        """Every value of a grid over this parameter (:meth:`grid_size` of them).

        Raises:
            ConfigError: a range of a real-valued field without ``step``, or with ``log``.
        """
        count = self.grid_size()
        if self.values is not None:
            return self.values
        assert self.low is not None and self.lattice is not None
        return tuple(self.cast(self.low + index * self.lattice) for index in range(count))

    def at(self, fraction: float) -> object:
        """The value at ``fraction`` in ``[0, 1)`` of the parameter (uniform or log-uniform).

        A list is indexed (``floor(fraction * len)``); a range is interpolated, then rounded to
        the lattice when there is one.
        """
        if self.values is not None:
            return self.values[min(len(self.values) - 1, int(fraction * len(self.values)))]
        assert self.low is not None and self.high is not None
        if self.log:
            value = math.exp(math.log(self.low) + fraction * (math.log(self.high) - math.log(self.low)))
        else:
            value = self.low + fraction * (self.high - self.low)
        lattice = self.lattice
        if lattice is not None:
            value = self.low + round((value - self.low) / lattice) * lattice
            value = min(value, self.low + math.floor((self.high - self.low) / lattice + 1e-9) * lattice)
        return self.cast(value)

    def cast(self, value: float) -> object:
        """``value`` as the field's type (integers rounded; reals to 12 significant digits)."""
        if self.field.kind is FieldKind.INT:
            return round(value)
        return float(f"{value:.12g}")


_RANGE_KEYS = {"low", "high", "step", "log"}


def _number(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(f"{where} must be a finite number, not {brief(value)}")
    return value


def _range(field: FieldInfo, data: Mapping[str, Any], where: str) -> Parameter:
    if field.kind is FieldKind.TEXT:
        raise ConfigError(f"{where} must be a list of values ({field.name} is not numeric), not a range {brief(dict(data))}")
    unknown = sorted(set(data) - _RANGE_KEYS)
    if unknown or not {"low", "high"} <= set(data):
        raise ConfigError(f"{where} must be a list of values or a range with keys low, high and optionally "
                          f"step, log; not {brief(dict(data))}")
    low = field.check(data["low"], f"{where}.low")
    high = field.check(data["high"], f"{where}.high")
    assert isinstance(low, (int, float)) and isinstance(high, (int, float))
    if high < low:
        raise ConfigError(f"{where} must be a non-empty range (low <= high), not low={brief(low)}, high={brief(high)}")
    step = data.get("step")
    if step is not None:
        step = _number(step, f"{where}.step")
        if step <= 0 or (field.kind is FieldKind.INT and step != int(step)):
            kind = "a positive integer" if field.kind is FieldKind.INT else "a positive number"
            raise ConfigError(f"{where}.step must be {kind}, not {brief(step)}")
    log = data.get("log", False)
    if not isinstance(log, bool):
        raise ConfigError(f"{where}.log must be true or false, not {brief(log)}")
    if log and low <= 0:
        raise ConfigError(f"{where}.low must be positive for a log range, not {brief(low)}")
    return Parameter(field, None, low, high, step, log)


def parameter_from_yaml(name: object, data: object) -> Parameter:
    """A parameter from its spec entry ``name: data`` (a list, or a mapping with low/high).

    Raises:
        ConfigError: unknown field, empty list or range, a value outside the field's range.
    """
    field = config_field(name)
    where = f"parameters.{field.name}"
    if isinstance(data, Mapping):
        return _range(field, data, where)
    if not isinstance(data, list) or not data:
        raise ConfigError(f"{where} must be a non-empty list of values or a range {{low, high}}, not {brief(data)}")
    values = tuple(field.check(value, f"{where}[{index}]") for index, value in enumerate(data))
    if field.kind is FieldKind.NUMBER:
        values = tuple(float(value) for value in values)  # type: ignore[arg-type]
    return Parameter(field, tuple(dict.fromkeys(values)))
