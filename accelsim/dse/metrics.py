"""The figures of merit of a design point: names, units, types and which way is better.

One catalogue serves the results columns, the Pareto analysis (which direction each metric is
optimized in) and the plot axis labels (with units).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from ..errors import ConfigError


class Sense(str, enum.Enum):
    """Whether smaller or larger values of a metric are better."""

    MIN = "min"
    MAX = "max"


@dataclass(frozen=True)
class Metric:
    """One figure of merit.

    Attributes:
        name: column name.
        label: axis label, with the unit.
        sense: which way is better.
        integer: whether the values are integers (else reals).
    """

    name: str
    label: str
    sense: Sense
    integer: bool


_CATALOGUE = (
    Metric("total_cycles", "latency (cycles)", Sense.MIN, True),
    Metric("latency_ms", "latency (ms)", Sense.MIN, False),
    Metric("throughput_fps", "throughput (frames/s)", Sense.MAX, False),
    Metric("effective_gops", "effective performance (GOPS)", Sense.MAX, False),
    Metric("dense_gops", "dense-equivalent performance (GOPS)", Sense.MAX, False),
    Metric("pe_utilization", "PE utilization (fraction)", Sense.MAX, False),
    Metric("compute_cycles", "compute-bound cycles (sum over layers)", Sense.MIN, True),
    Metric("memory_cycles", "DDR-bound cycles (sum over layers)", Sense.MIN, True),
    Metric("stall_cycles", "stall cycles", Sense.MIN, True),
    Metric("drain_cycles", "drain cycles", Sense.MIN, True),
    Metric("ddr_bytes_read", "DDR read (bytes)", Sense.MIN, True),
    Metric("ddr_bytes_written", "DDR written (bytes)", Sense.MIN, True),
    Metric("ddr_gbps", "DDR bandwidth (GB/s)", Sense.MIN, False),
    Metric("units", "PE units", Sense.MIN, True),
    Metric("lut", "LUTs", Sense.MIN, True),
    Metric("ff", "flip-flops", Sense.MIN, True),
    Metric("dsp", "DSP48 slices", Sense.MIN, True),
    Metric("bram36", "BRAM36 blocks", Sense.MIN, True),
    Metric("device_usage", "device usage (fraction of the limiting resource)", Sense.MIN, False),
)

#: Every metric by name, in column order.
METRICS: dict[str, Metric] = {metric.name: metric for metric in _CATALOGUE}


def metric(name: object) -> Metric:
    """The metric called ``name``.

    Raises:
        ConfigError: an unknown name (the message lists the known ones).
    """
    if isinstance(name, str) and name in METRICS:
        return METRICS[name]
    raise ConfigError(f"metric must be one of {', '.join(METRICS)}, not {name!r}")
