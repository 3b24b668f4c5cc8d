"""Parallelism gain: within one device budget, how many units of each PE kind fit, and how fast.

A KRP unit has about a third of a dense unit's taps, so more of them fit in the same logic
budget. For each PE kind and each ``tm`` of :data:`TM_CHOICES`, :func:`max_units` doubles ``tn``
(a power of two, ``docs/microarchitecture.md`` section 1) until the budget (a fraction of the device's LUTs, FFs and DSPs; BRAM may use the whole device)
no longer holds for the budgeted part (the PE array, as the paper compares, or the whole
accelerator), using the resource model; :func:`parallelism_gain` simulates the network on each
such array and keeps, per kind, the shape with the lowest latency (ties: the smaller ``tm``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

from ..errors import ConfigError, brief
from ..hw.config import HwConfig, PeKind
from ..hw.devices import Device
from ..hw.resources import STRUCTURAL_BUDGET, Resources, estimate_resources, fits
from ..integer.graph import IntegerNetwork, WeightFormat
from .engine import simulate
from .plan import check_arguments, foreign_weights, weight_formats

#: Largest ``tn`` searched (a power of two).
MAX_TN = 4096
#: Input-channel parallelism (``tm``) tried for each kind.
TM_CHOICES = (1, 2, 4, 8, 16, 32)


@dataclass(frozen=True)
class GainRow:
    """The largest array of one PE kind within the budget, and its simulated latency.

    Attributes:
        kind: the PE kind.
        tn, tm: the fastest array shape within the budget; ``tn = 0`` if not even one unit fits.
        units: ``tn * tm``.
        resources: the whole accelerator's estimate.
        limiting: the resource that stops a larger array.
        cycles: simulated network latency in cycles (0 if nothing fits).
        latency_ms: the same in milliseconds.
        speedup: latency of the slowest kind that fits / this kind's latency.
    """

    kind: PeKind
    tn: int
    tm: int
    units: int
    resources: Resources
    limiting: str
    cycles: int
    latency_ms: float
    speedup: float

    def to_dict(self) -> dict[str, object]:
        """JSON-able row."""
        return {"kind": self.kind.value, "tn": self.tn, "tm": self.tm, "units": self.units,
                **self.resources.as_dict(), "limiting": self.limiting, "cycles": self.cycles,
                "latency_ms": self.latency_ms, "speedup": self.speedup}


def logic_budget(fraction: float, what: str = "budget") -> dict[str, float]:
    """``fraction`` of LUTs, FFs and DSPs; all of the BRAM. ``what`` names the fraction in errors.

    Raises:
        ConfigError: ``fraction`` is not in (0, 1].
    """
    if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not 0 < fraction <= 1:
        raise ConfigError(f"{what} must be a fraction in (0, 1], not {brief(fraction)}")
    return {"lut": fraction, "ff": fraction, "dsp": fraction, "bram36": 1.0}


def _with_array(config: HwConfig, kind: PeKind, tn: int, tm: int | None = None) -> HwConfig:
    pe = dataclasses.replace(config.pe, kind=kind, tn=tn, tm=config.pe.tm if tm is None else tm)
    return dataclasses.replace(config, pe=pe)


def _verdict(config: HwConfig, device: Device, budget: dict[str, float], scope: str) -> tuple[bool, str]:
    """Whether ``config``'s ``scope`` part is within ``budget`` and the whole design can be built on
    ``device`` (``STRUCTURAL_BUDGET``), and the resource that decides."""
    buildable = fits(config, device, STRUCTURAL_BUDGET)
    if not buildable.fits:
        return False, buildable.limiting
    report = fits(config, device, budget, scope)
    return report.fits, report.limiting


def max_units(config: HwConfig, kind: PeKind, budget: dict[str, float], device: Device,
              scope: str = "pe_array") -> tuple[int, str]:
    """Largest power-of-two ``tn`` (``tm`` as in ``config``) of ``kind`` whose ``scope`` part is
    within ``budget`` (and whose whole design can be built), and the limiting resource.

    The estimate grows with ``tn``, so a bisection over its exponent finds the boundary.
    """
    low, high = -1, MAX_TN.bit_length()  # fits(2**low) (-1: nothing), not fits(2**high)
    while high - low > 1:
        middle = (low + high) // 2
        if _verdict(_with_array(config, kind, 1 << middle), device, budget, scope)[0]:
            low = middle
        else:
            high = middle
    top = 1 << min(high, MAX_TN.bit_length() - 1)
    return (1 << low if low >= 0 else 0), _verdict(_with_array(config, kind, top), device, budget, scope)[1]


def _fastest(network: IntegerNetwork, config: HwConfig, kind: PeKind, budget: dict[str, float],
             device: Device, scope: str) -> GainRow:
    """The lowest-latency array of ``kind`` over :data:`TM_CHOICES` (each with its largest ``tn``); an
    array the network cannot run on (a buffer too small for one of its tiles, e.g. the weight words
    of a wide linear layer on a narrow array) is skipped."""
    best: GainRow | None = None
    limiting = "lut"
    for tm in TM_CHOICES:
        tn, limiting = max_units(_with_array(config, kind, 1, tm), kind, budget, device, scope)
        if tn == 0:
            continue
        sized = dataclasses.replace(_with_array(config, kind, tn, tm), device=device.name)
        try:
            result = simulate(network, sized, keep_trace=False)
        except ConfigError:
            continue  # the network cannot run on this array (a buffer too small for one of its tiles)
        if best is None or result.total_cycles < best.cycles:
            best = GainRow(kind, tn, tm, tn * tm, estimate_resources(sized).total, limiting,
                           result.total_cycles, result.latency_ms, 0.0)
    return best or GainRow(kind, 0, 0, 0, Resources(), limiting, 0, 0.0, 0.0)


def parallelism_gain(network: IntegerNetwork | Mapping[WeightFormat, IntegerNetwork], config: HwConfig,
                     budget: float = 0.5, device: Device | None = None,
                     scope: str = "pe_array") -> tuple[GainRow, ...]:
    """For each PE kind, the fastest array within ``budget`` of ``device`` and its network latency.

    ``network`` is one network, timed on the kinds that apply its weights (shifters: GSNQ,
    multipliers: uniform; :func:`~accelsim.sim.plan.foreign_weights`), or one network per weight
    format (the same model compressed each way), each timed on the kinds that apply it. A kind
    without a network it can apply has no row.

    ``scope`` is what the budget holds (``accelsim.hw.resources.FIT_SCOPES``): ``"pe_array"``, the
    paper's comparison (the PE array, the part the kinds differ in), or ``"total"``, the whole
    accelerator (requantization lanes, buffers, DMA and control included; ``docs/resources.md``).

    A kind of which not one unit fits has ``tn = 0`` (and no latency).

    Raises:
        ConfigError: not a network or a configuration, a budget outside (0, 1], an unknown scope, a
            buffer too small for the network, or a budget in which not one unit of any kind fits.
    """
    networks = network if isinstance(network, Mapping) else dict.fromkeys(WeightFormat, network)
    for each in networks.values():
        check_arguments(each, config)
    target = device or config.device_profile
    shares = logic_budget(budget)
    timed = {kind: networks[kind.weight_format] for kind in PeKind if kind.weight_format in networks}
    rows = [_fastest(each, config, kind, shares, target, scope) for kind, each in timed.items()
            if foreign_weights(weight_formats(each), kind) is None]
    if not any(row.units for row in rows):
        held = "PE array" if scope == "pe_array" else "accelerator"
        raise ConfigError(
            f"budget must leave room for at least one PE unit, not {brief(budget)}: no {held} of any PE kind fits "
            f"{100 * budget:g}% of {target.name}'s LUT/FF/DSP; give a larger fraction"
        )
    slowest = max((row.cycles for row in rows if row.cycles), default=0)
    return tuple(dataclasses.replace(row, speedup=slowest / row.cycles if row.cycles else 0.0) for row in rows)
