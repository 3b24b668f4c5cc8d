"""The hardware configuration of the accelerator: typed frozen dataclasses read from YAML.

A configuration names the device, the clock, the PE array (kind and size), the bit widths, the
on-chip buffers and the DDR interface; ``docs/microarchitecture.md`` defines what each field means
for timing. Every field is range-checked when the dataclass is built, unknown keys are rejected
by name, and :func:`load_config` (or :meth:`HwConfig.replace`) also checks that the design fits
its device (from :mod:`accelsim.hw.resources`), so bad input fails at load time, before any
simulation.

>>> from accelsim.hw import load_config
>>> config = load_config("default")
>>> config.pe.tn * config.pe.tm
32
>>> config.replace(**{"pe.tn": 16}).pe.units
64
"""

from __future__ import annotations

import enum
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from ..errors import ConfigError, brief
from ..integer.graph import WeightFormat
from ..yamlfile import read_yaml_mapping
from .devices import Device, load_device
from .fields import (
    build,
    check_fields,
    choice_field,
    int_field,
    name_field,
    number_field,
    section_field,
    to_dict,
)


class PeKind(str, enum.Enum):
    """The four PE-unit kinds of the KRP paper's resource table.

    ``MULT_DSP`` (1): dense KxK, multipliers on DSP48 slices. ``MULT_LUT`` (2): dense KxK,
    multipliers in LUTs. ``GSNQ_SHIFT`` (3): dense KxK, power-of-two weights as shifters.
    ``KRP_GSNQ`` (4): one kernel row of K shifters, the row chosen by the stored row index.
    """

    MULT_DSP = "mult_dsp"
    MULT_LUT = "mult_lut"
    GSNQ_SHIFT = "gsnq_shift"
    KRP_GSNQ = "krp_gsnq"

    @property
    def is_row_unit(self) -> bool:
        """Whether the unit computes one kernel row per pass (KRP) instead of a whole window."""
        return self is PeKind.KRP_GSNQ

    @property
    def uses_dsp(self) -> bool:
        """Whether the tap multipliers are DSP48 slices."""
        return self is PeKind.MULT_DSP

    @property
    def is_shift(self) -> bool:
        """Whether the taps are shifters (power-of-two weights) rather than multipliers."""
        return self in (PeKind.GSNQ_SHIFT, PeKind.KRP_GSNQ)

    @property
    def weight_format(self) -> WeightFormat:
        """The integer weights the taps apply: GSNQ powers of two (shifters) or uniform codes."""
        return WeightFormat.GSNQ if self.is_shift else WeightFormat.UNIFORM

    def taps(self, kernel_max: int) -> int:
        """Multipliers / shifters per unit: ``kernel_max`` for KRP, ``kernel_max**2`` otherwise."""
        return kernel_max if self.is_row_unit else kernel_max * kernel_max


#: Activation widths the integer datapath lowers to (and the hardware configuration allows), bits.
MIN_ACT_BITS, MAX_ACT_BITS = 4, 16


@dataclass(frozen=True)
class PeConfig:
    """The PE array: ``tn`` output channels x ``tm`` input channels of PE units.

    Attributes:
        kind: the PE-unit kind.
        tn: output channels computed in parallel (rows of the array, accumulators, requant lanes).
        tm: input channels computed in parallel (columns of the array; adder-tree fan-in).
        kernel_max: largest kernel handled in one pass (a unit covers a kernel_max x kernel_max
            window, or one kernel_max-wide row for KRP); larger kernels take several passes.
        pipeline_depth: cycles from the first operand read of a tile to its last result written to
            the output buffer, beyond one cycle per step (fill and drain of the whole pipeline:
            buffer read, taps, unit and array adder trees, accumulator, requantization).
    """

    kind: PeKind = choice_field(PeKind.KRP_GSNQ)  # noqa: RUF009 - a dataclasses.field
    tn: int = int_field(8, 1, 4096)
    tm: int = int_field(4, 1, 4096)
    kernel_max: int = int_field(3, 1, 15)
    pipeline_depth: int = int_field(16, 1, 1024)

    def __post_init__(self) -> None:
        check_fields(self, "pe")
        if not is_power_of_two(self.tn):
            raise ConfigError(
                f"pe.tn must be a power of two (a feature map's pixel is a block of tn channels, a whole "
                f"fraction or multiple of a DDR beat), not {self.tn}; the nearest that work: "
                f"{_powers_around(self.tn)}"
            )
        if self.tn % self.tm and self.tm % self.tn:
            lower = max(d for d in range(1, self.tn + 1) if self.tn % d == 0 and d <= self.tm)
            upper = -(-self.tm // self.tn) * self.tn
            raise ConfigError(
                f"pe.tm must divide pe.tn ({self.tn}) or be a multiple of it (a step reads whole "
                f"channel blocks), not {self.tm}; the nearest that work: {lower} or {upper}"
            )

    @property
    def units(self) -> int:
        """Number of PE units, ``tn * tm``."""
        return self.tn * self.tm

    @property
    def taps(self) -> int:
        """Multipliers / shifters per unit."""
        return self.kind.taps(self.kernel_max)


@dataclass(frozen=True)
class BufferConfig:
    """Capacities of the three double-buffered on-chip buffers, per half.

    The organizations follow from the PE array and the DDR beat (``docs/microarchitecture.md``,
    section 4):

    Attributes:
        input_bytes: bytes per half of the input buffer (the input rows of a tile, stored as they
            arrive from DDR).
        weight_depth: step words per half of the weight buffer (a word holds the weights of every
            unit for one step: ``tn * tm`` unit items).
        output_depth: pixels per half of the output buffer (a pixel is ``tn`` channels,
            ``tn * act_bits`` bits).
    """

    input_bytes: int = int_field(32768, 1, 1 << 30)
    weight_depth: int = int_field(512, 1, 1 << 24)
    output_depth: int = int_field(1024, 1, 1 << 24)

    def __post_init__(self) -> None:
        check_fields(self, "buffers")


@dataclass(frozen=True)
class DdrConfig:
    """The one shared off-chip DDR channel.

    Attributes:
        bytes_per_cycle: data bytes moved per clock cycle once a request is served.
        latency_cycles: fixed cycles a request waits, holding the channel, before its first data.
        burst_bytes: largest request: a transfer is split into requests of at most this many bytes;
            a whole number of beats (a multiple of ``bytes_per_cycle``).
    """

    bytes_per_cycle: int = int_field(8, 1, 4096)
    latency_cycles: int = int_field(30, 0, 100_000)
    burst_bytes: int = int_field(2048, 1, 1 << 30)

    def __post_init__(self) -> None:
        check_fields(self, "ddr")
        if not is_power_of_two(self.bytes_per_cycle):
            raise ConfigError(
                f"ddr.bytes_per_cycle must be a power of two (the DMA engines place beats with shifts "
                f"and counters), not {self.bytes_per_cycle}; the nearest that work: "
                f"{_powers_around(self.bytes_per_cycle)}"
            )
        if self.burst_bytes % self.bytes_per_cycle:
            raise ConfigError(
                f"ddr.burst_bytes must be a multiple of ddr.bytes_per_cycle ({self.bytes_per_cycle}), "
                f"not {self.burst_bytes}"
            )


@dataclass(frozen=True)
class HwConfig:
    """A complete accelerator configuration (the defaults are ``configs/default.yaml``).

    Attributes:
        name: configuration name (for reports).
        device: device profile name (``accelsim/configs/devices/<device>.yaml``).
        clock_mhz: clock frequency in MHz.
        weight_bits: stored width of one weight in bits (the GSNQ code width).
        act_bits: width of one activation in bits (on chip and in DDR).
        acc_bits: accumulator width in bits.
        pe, buffers, ddr: the sections above.
    """

    name: str = name_field("default")
    device: str = name_field("xc7z035")
    clock_mhz: float = number_field(200, 0, 2000)
    weight_bits: int = int_field(4, 1, 16)
    act_bits: int = int_field(8, MIN_ACT_BITS, MAX_ACT_BITS)
    acc_bits: int = int_field(32, 2, 64)
    pe: PeConfig = section_field(PeConfig)  # noqa: RUF009 - a dataclasses.field
    buffers: BufferConfig = section_field(BufferConfig)  # noqa: RUF009 - a dataclasses.field
    ddr: DdrConfig = section_field(DdrConfig)  # noqa: RUF009 - a dataclasses.field

    def __post_init__(self) -> None:
        check_fields(self, "")
        self.device_profile  # noqa: B018 - resolves the device name (ConfigError if unknown)

    @property
    def device_profile(self) -> Device:
        """The :class:`Device` named by :attr:`device`."""
        return load_device(self.device)

    def to_dict(self) -> dict[str, Any]:
        """The configuration as plain data (what the YAML file holds)."""
        return to_dict(self)

    def replace(self, **changes: object) -> HwConfig:
        """A copy with fields changed by dotted name, checked like a loaded file.

        ``config.replace(**{"pe.tn": 16, "ddr.bytes_per_cycle": 4})``.

        Raises:
            ConfigError: unknown field name, value out of range, or the design no longer fits.
        """
        data = self.to_dict()
        for dotted, value in changes.items():
            node, where = data, "the configuration"
            *sections, leaf = dotted.split(".")
            for part in sections:
                if not isinstance(node.get(part), dict):
                    raise ConfigError(f"unknown configuration key {brief(dotted)}; {where} has the keys {_keys(node, where)}")
                node, where = node[part], part if where == "the configuration" else f"{where}.{part}"
            if leaf not in node:
                raise ConfigError(f"unknown configuration key {brief(dotted)}; {where} has the keys {_keys(node, where)}")
            if isinstance(node[leaf], dict):
                raise ConfigError(f"configuration key {brief(dotted)} must name a field, not a section; set one of "
                                  f"{_keys(node[leaf], dotted)}")
            node[leaf] = value
        return config_from_dict(data)


def check_config(config: object) -> None:
    """``config`` must be a :class:`HwConfig`: the first check of the public functions that take one,
    so a wrong argument (a configuration's name, say) is named, not an ``AttributeError`` in the work.

    Raises:
        ConfigError: ``config`` is of another type.
    """
    if not isinstance(config, HwConfig):
        raise ConfigError(f"config must be a HwConfig (e.g. accelsim.load_config('default')), not {brief(config)}")


def _keys(section: dict[str, Any], where: str) -> str:
    """The dotted keys of a section of :meth:`HwConfig.to_dict`, quoted (``'pe.kind', 'pe.tn'``)."""
    prefix = "" if where == "the configuration" else f"{where}."
    return ", ".join(repr(f"{prefix}{key}") for key in section)


def is_power_of_two(value: int) -> bool:
    """Whether ``value`` is 1, 2, 4, 8, ..."""
    return value > 0 and value & (value - 1) == 0


def _powers_around(value: int) -> str:
    """The powers of two just below and above ``value`` (``"8 or 16"``)."""
    below = 1 << (value.bit_length() - 1)
    return f"{below} or {below * 2}"


def config_from_dict(data: object, source: str = "configuration") -> HwConfig:
    """Build and check a configuration from plain data (omitted keys take the defaults).

    Raises:
        ConfigError: an unknown key, a value out of range, an unknown device, or a design that
            needs more DSP48s or BRAM36 than its device has (``resources.require_fits``).
    """
    config = build(HwConfig, data, "")
    from .resources import require_fits

    require_fits(config, source)
    return config


def _bundled() -> Path:
    """The folder of the bundled configurations."""
    return Path(str(resources.files("accelsim") / "configs"))


def config_names() -> tuple[str, ...]:
    """Names of the bundled configurations, sorted."""
    return tuple(sorted(path.stem for path in _bundled().glob("*.yaml")))


def load_config(name_or_path: str | Path = "default") -> HwConfig:
    """The bundled configuration ``name_or_path`` (e.g. ``"default"``) or the YAML file at that path.

    Raises:
        ConfigError: unknown name, a path that is not an existing file, malformed YAML (see
            :mod:`accelsim.yamlfile`), or any field error.
    """
    choices = ", ".join(repr(name) for name in config_names())
    if not isinstance(name_or_path, (str, os.PathLike)):
        raise ConfigError(f"config must be one of {choices} or a YAML file path, not {brief(name_or_path)}")
    text = os.fspath(name_or_path)
    path = Path(text)
    if not (text.endswith((".yaml", ".yml")) or path.exists()):
        if text not in config_names():
            raise ConfigError(f"config must be one of {choices} or a YAML file path, not {brief(text)}")
        path = _bundled() / f"{text}.yaml"
    return config_from_dict(read_yaml_mapping(path, "config file"), f"config {brief(text)}")

