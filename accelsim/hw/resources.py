"""A first analytical resource model: LUT, FF, DSP48 and BRAM36 of a configuration.

Every figure is computed from the structure of ``docs/microarchitecture.md`` (taps, bit widths,
adder trees, registers, buffer geometry), never copied from the paper's table; the resource issue
refines the constants against Yosys. The formulas (one LUT6 per adder bit on the carry chain, a
4:1 multiplexer per LUT6, a DSP48 per multiplier up to 25x18 bits) are listed in
``docs/microarchitecture.md``, section "Resource model".

>>> from accelsim.hw import load_config, estimate_resources
>>> estimate_resources(load_config("default")).pe_array.dsp
0
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ..errors import ConfigError
from .config import HwConfig, PeKind
from .devices import Device
from .geometry import input_buffer, output_buffer, unit_weight_word_bits, weight_buffer
from .intmath import bits_for, ceil_div

#: Width of one DSP48E1 multiplier port pair (a x b), bits.
DSP_A_BITS, DSP_B_BITS = 25, 18
#: Requantization multiplier width (bits) and bias width (bits) of the hardware requant unit.
REQUANT_MULTIPLIER_BITS, REQUANT_BIAS_BITS = 16, 48
#: Controller, three DMA engines and address generators: a fixed first estimate (LUT, FF).
CONTROL_LUT, CONTROL_FF = 1200, 1400


@dataclass(frozen=True)
class Resources:
    """An amount of FPGA resources."""

    lut: int = 0
    ff: int = 0
    dsp: int = 0
    bram36: int = 0

    def __add__(self, other: Resources) -> Resources:
        return Resources(self.lut + other.lut, self.ff + other.ff, self.dsp + other.dsp,
                         self.bram36 + other.bram36)

    def __mul__(self, count: int) -> Resources:
        return Resources(self.lut * count, self.ff * count, self.dsp * count, self.bram36 * count)

    def as_dict(self) -> dict[str, int]:
        """``{"lut": ..., "ff": ..., "dsp": ..., "bram36": ...}``."""
        return {"lut": self.lut, "ff": self.ff, "dsp": self.dsp, "bram36": self.bram36}


@dataclass(frozen=True)
class ResourceEstimate:
    """The estimate of a configuration, by part.

    Attributes:
        pe_unit: one PE unit (the paper's "unit" row).
        pe_array: ``tn * tm`` units, the ``tn`` column adder trees and accumulators (the paper's
            "module").
        requant: the ``tn`` requantization lanes.
        vector: the vector unit.
        buffers: the three double buffers (BRAM36 only).
        control: controller and DMA engines.
    """

    pe_unit: Resources
    pe_array: Resources
    requant: Resources
    vector: Resources
    buffers: Resources
    control: Resources

    @property
    def total(self) -> Resources:
        """The whole accelerator."""
        return self.pe_array + self.requant + self.vector + self.buffers + self.control


@dataclass(frozen=True)
class FitReport:
    """Whether a configuration fits a budget of a device, and which resource limits it.

    Attributes:
        device: the device.
        budget: resource name -> fraction of the device allowed (1.0 = all of it).
        usage: resource name -> fraction of the device used.
        limiting: the resource with the largest usage relative to its budget.
    """

    device: Device
    budget: dict[str, float]
    usage: dict[str, float]
    limiting: str

    @property
    def fits(self) -> bool:
        """Whether every resource is within its budget."""
        return all(self.usage[key] <= self.budget[key] for key in self.usage)


def max_shift(weight_bits: int) -> int:
    """Largest shift of a GSNQ code: 1 sign bit, ``weight_bits-1`` magnitude bits, one zero code."""
    return max(0, (1 << (weight_bits - 1)) - 2)


def product_bits(config: HwConfig) -> int:
    """Width of one tap product in bits (shift: activation + max shift + sign; else a + w)."""
    if config.pe.kind.is_shift:
        return config.act_bits + max_shift(config.weight_bits) + 1
    return config.act_bits + config.weight_bits


def unit_sum_bits(config: HwConfig) -> int:
    """Width of a unit's sum of its taps, bits."""
    return product_bits(config) + bits_for(config.pe.taps)


def _mux_luts(inputs: int) -> int:
    """LUT6s of a one-bit ``inputs``:1 multiplexer (a LUT6 is a 4:1 mux, trees of them)."""
    return ceil_div(inputs - 1, 3) if inputs > 1 else 0


def _tap(config: HwConfig) -> Resources:
    """One tap: a multiplier (DSP or LUT array) or a barrel shifter."""
    a, w, p = config.act_bits, config.weight_bits, product_bits(config)
    kind = config.pe.kind
    if kind is PeKind.MULT_DSP:
        return Resources(dsp=ceil_div(a, DSP_A_BITS) * ceil_div(w, DSP_B_BITS))
    if kind is PeKind.MULT_LUT:
        return Resources(lut=w * (a + 1), ff=p)
    levels = bits_for(max_shift(w) + 1)
    return Resources(lut=p * ceil_div(levels, 2), ff=p)


def pe_unit(config: HwConfig) -> Resources:
    """One PE unit: taps, the unit adder tree, operand registers, KRP row multiplexers."""
    pe, a = config.pe, config.act_bits
    taps = pe.taps
    adders = Resources(lut=(taps - 1) * unit_sum_bits(config), ff=unit_sum_bits(config))
    operands = Resources(ff=taps * a + unit_weight_word_bits(config))
    row_select = Resources(lut=taps * a * _mux_luts(pe.kernel_max)) if pe.kind.is_row_unit else Resources()
    return _tap(config) * taps + adders + operands + row_select


def pe_array(config: HwConfig) -> Resources:
    """``tn*tm`` units, ``tn`` column adder trees over ``tm`` inputs, accumulators, window registers."""
    pe = config.pe
    column_bits = unit_sum_bits(config) + bits_for(pe.tm)
    column = Resources(lut=(pe.tm - 1) * column_bits, ff=(pe.tm - 1) * column_bits)
    accumulator = Resources(lut=config.acc_bits, ff=config.acc_bits)
    window = Resources(ff=pe.kernel_max * pe.kernel_max * config.act_bits)
    return pe_unit(config) * pe.units + (column + accumulator) * pe.tn + window * pe.tm


def _requant_lane(config: HwConfig) -> Resources:
    """One requantization lane: multiply, bias add, rounding shift, clamp; double-buffered params."""
    dsp = ceil_div(config.acc_bits, DSP_A_BITS) * ceil_div(REQUANT_MULTIPLIER_BITS, DSP_B_BITS)
    params = 2 * (REQUANT_MULTIPLIER_BITS + REQUANT_BIAS_BITS)
    return Resources(
        lut=REQUANT_BIAS_BITS + 2 * config.act_bits,
        ff=REQUANT_BIAS_BITS + config.act_bits + params,
        dsp=dsp,
    )


def buffer_blocks(config: HwConfig) -> dict[str, int]:
    """BRAM36 blocks of the input, weight and output buffers (both halves)."""
    return {geometry.name: geometry.bram36
            for geometry in (input_buffer(config), weight_buffer(config), output_buffer(config))}


def estimate_resources(config: HwConfig) -> ResourceEstimate:
    """The resource estimate of ``config``, by part."""
    lanes, a = config.vector.lanes, config.act_bits
    vector_lane = Resources(lut=(a + 8) + a, ff=2 * (a + 8))
    return ResourceEstimate(
        pe_unit=pe_unit(config),
        pe_array=pe_array(config),
        requant=_requant_lane(config) * config.pe.tn,
        vector=vector_lane * lanes + _requant_lane(config) * lanes,
        buffers=Resources(bram36=sum(buffer_blocks(config).values())),
        control=Resources(lut=CONTROL_LUT, ff=CONTROL_FF),
    )


def _fraction(need: int, have: int) -> float:
    """``need / have``; infinite when a resource is needed that the device lacks."""
    if have == 0:
        return 0.0 if need == 0 else float("inf")
    return need / have


RESOURCE_NAMES = ("lut", "ff", "dsp", "bram36")


def fits(config: HwConfig, device: Device | None = None, budget: float | Mapping[str, float] = 1.0) -> FitReport:
    """Whether ``config`` fits ``budget`` of ``device`` (default: its own device).

    ``budget`` is a fraction of every resource, or a mapping resource name -> fraction (resources
    not named get 1.0). The limiting resource is the one with the largest usage / budget.
    """
    target = device or config.device_profile
    total = estimate_resources(config).total
    shares = {key: float(budget) for key in RESOURCE_NAMES} if isinstance(budget, (int, float)) else {
        key: float(budget.get(key, 1.0)) for key in RESOURCE_NAMES
    }
    usage = {key: _fraction(getattr(total, key), getattr(target, key)) for key in RESOURCE_NAMES}
    limiting = max(usage, key=lambda key: usage[key] / shares[key] if shares[key] else float("inf"))
    return FitReport(device=target, budget=shares, usage=usage, limiting=limiting)


def require_fits(config: HwConfig, source: str = "configuration") -> None:
    """Raise if ``config`` does not fit its device.

    Raises:
        ConfigError: naming the limiting resource, its need and the device's capacity.
    """
    report = fits(config)
    if report.fits:
        return
    key = report.limiting
    need = getattr(estimate_resources(config).total, key)
    have = getattr(report.device, key)
    hint = "reduce buffers.*_depth" if key == "bram36" else "reduce pe.tn or pe.tm"
    raise ConfigError(
        f"the design of {source} must fit device {report.device.name!r}: it needs {need:,} "
        f"{key.upper()} but the device has {have:,}; {hint}"
    )
