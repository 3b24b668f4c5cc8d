"""Latency versus DDR bandwidth, per workload and PE kind, with the knee where layers turn memory-bound.

For each workload and PE kind the network is simulated at each DDR width (bytes per cycle; the
other fields as in the configuration). A convolution is *memory-bound* at a bandwidth when its
DDR transfers alone take longer than its computation alone (``memory_cycles > compute_cycles``,
docs/microarchitecture.md section 9). A convolution's knee is the smallest swept bandwidth from
which on it is compute-bound; the curve's knee is the largest of them: below it at least one
convolution is memory-bound (and the latency climbs), at and above it none is. The upper panel
shows latency, the lower one how many convolutions are memory-bound.

Only convolutions count: pooling and residual adds stream their operands (memory-bound at
almost any width), and a classifier's linear layers use each weight once behind a fixed request
latency (memory-bound by construction, a small share of the time).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError, brief
from ..hw.config import HwConfig, PeKind
from ..integer.graph import IntegerNetwork
from ..sim import LayerKind, SimulationResult, simulate
from .figure import KIND_COLORS, KIND_LINES, new_figure, plain

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: DDR widths swept by default, bytes per cycle (powers of two divide every power-of-two burst).
DEFAULT_BYTES_PER_CYCLE = (1, 2, 4, 8, 16, 32, 64, 128)
_MARKERS = "osD^vP*X"


def memory_bound_layers(result: SimulationResult) -> tuple[str, ...]:
    """Convolutions of ``result`` whose DDR time alone exceeds their compute time alone."""
    return tuple(layer.name for layer in result.layers
                 if layer.kind is LayerKind.CONV and layer.memory_cycles > layer.compute_cycles)


@dataclass(frozen=True)
class BandwidthCurve:
    """One workload on one PE kind across DDR bandwidths.

    Attributes:
        workload: network name.
        kind: PE kind.
        bytes_per_cycle: the swept DDR widths, ascending.
        gbps: the same as bandwidth, GB/s (bytes per cycle x clock).
        latency_ms: network latency at each bandwidth, ms.
        total_cycles: network latency at each bandwidth, cycles.
        memory_bound: per bandwidth, the memory-bound convolutions.
        layer_knees: per convolution memory-bound somewhere in the sweep, its knee (GB/s), or
            ``None`` if it is memory-bound even at the largest bandwidth.
    """

    workload: str
    kind: PeKind
    bytes_per_cycle: tuple[int, ...]
    gbps: tuple[float, ...]
    latency_ms: tuple[float, ...]
    total_cycles: tuple[int, ...]
    memory_bound: tuple[tuple[str, ...], ...]
    layer_knees: dict[str, float | None]

    @property
    def knee_index(self) -> int | None:
        """Index of the smallest bandwidth from which on no layer is memory-bound (None: never)."""
        index = len(self.memory_bound)
        while index > 0 and not self.memory_bound[index - 1]:
            index -= 1
        return index if index < len(self.memory_bound) else None

    @property
    def knee_gbps(self) -> float | None:
        """The knee's bandwidth, GB/s (None if some layer is memory-bound at every swept bandwidth)."""
        index = self.knee_index
        return None if index is None else self.gbps[index]

    def to_dict(self) -> dict[str, Any]:
        """JSON-able curve."""
        return {"workload": self.workload, "kind": self.kind.value, "bytes_per_cycle": list(self.bytes_per_cycle),
                "gbps": list(self.gbps), "latency_ms": list(self.latency_ms), "total_cycles": list(self.total_cycles),
                "memory_bound_layers": [list(names) for names in self.memory_bound], "knee_gbps": self.knee_gbps,
                "layer_knees_gbps": self.layer_knees}


def _layer_knees(gbps: Sequence[float], memory_bound: Sequence[tuple[str, ...]]) -> dict[str, float | None]:
    knees: dict[str, float | None] = {}
    for index in range(len(gbps) - 1, -1, -1):
        for name in memory_bound[index]:
            if name not in knees:
                knees[name] = gbps[index + 1] if index + 1 < len(gbps) else None
    return knees


def bandwidth_curve(network: IntegerNetwork, config: HwConfig, kind: PeKind,
                    bytes_per_cycle: Sequence[int] = DEFAULT_BYTES_PER_CYCLE) -> BandwidthCurve:
    """Simulate ``network`` on ``config`` with PE kind ``kind`` at each DDR width.

    Raises:
        ConfigError: an empty or unsorted sweep, a width the configuration rejects (e.g. one
            that does not divide ``ddr.burst_bytes``), or a design that does not fit.
    """
    widths = tuple(bytes_per_cycle)
    if not widths or list(widths) != sorted(set(widths)):
        raise ConfigError(f"bandwidths must be distinct and ascending bytes per cycle, not {brief(list(widths))}")
    results = [simulate(network, config.replace(**{"pe.kind": kind.value, "ddr.bytes_per_cycle": width}),
                        keep_trace=False) for width in widths]
    gbps = tuple(width * config.clock_mhz / 1e3 for width in widths)
    bound = tuple(memory_bound_layers(result) for result in results)
    return BandwidthCurve(network.name, kind, widths, gbps, tuple(r.latency_ms for r in results),
                          tuple(r.total_cycles for r in results), bound, _layer_knees(gbps, bound))


def bandwidth_curves(networks: Sequence[IntegerNetwork], config: HwConfig, kinds: Sequence[PeKind] = tuple(PeKind),
                     bytes_per_cycle: Sequence[int] = DEFAULT_BYTES_PER_CYCLE) -> tuple[BandwidthCurve, ...]:
    """One curve per network and PE kind (see :func:`bandwidth_curve`)."""
    return tuple(bandwidth_curve(network, config, kind, bytes_per_cycle) for network in networks for kind in kinds)


def plot_bandwidth(curves: Sequence[BandwidthCurve], title: str | None = None) -> Figure:
    """Latency (top) and memory-bound convolutions (bottom) against DDR bandwidth; knees starred.

    Line order in both axes: one line per curve, in ``curves`` order; the top axes then hold one
    star per curve that has a knee, in the same order. Curves that coincide (the dense kinds run
    the same cycles) are told apart by their line styles.
    """
    figure = new_figure(8.5, 6.5)
    top, bottom = figure.subplots(2, 1, sharex=True, height_ratios=(3, 1))
    names = dict.fromkeys(curve.workload for curve in curves)
    markers = {name: _MARKERS[index % len(_MARKERS)] for index, name in enumerate(names)}
    for curve in curves:
        style = {"color": KIND_COLORS[curve.kind], "linestyle": KIND_LINES[curve.kind], "marker": markers[curve.workload]}
        top.plot(curve.gbps, curve.latency_ms, label=f"{curve.workload}, {curve.kind.value}", **style)
        bottom.plot(curve.gbps, [len(names) for names in curve.memory_bound], markersize=4, **style)
    annotated: set[tuple[float, float]] = set()
    for curve in curves:
        index = curve.knee_index
        if index is None:
            continue
        point = (curve.gbps[index], curve.latency_ms[index])
        top.plot(*point, marker="*", markersize=16, color=KIND_COLORS[curve.kind], markeredgecolor="black",
                 linestyle="none")
        if point not in annotated:
            annotated.add(point)
            top.annotate(f"knee {point[0]:g} GB/s", point, textcoords="offset points", xytext=(6, 10), fontsize=8)
    top.plot([], [], marker="*", markersize=12, color="white", markeredgecolor="black", linestyle="none",
             label="knee: no convolution memory-bound from here on")
    for axes in (top, bottom):
        axes.set_xscale("log", base=2)
        axes.grid(True, which="both", alpha=0.3)
    top.set_yscale("log")
    top.yaxis.set_major_formatter(plain)
    top.yaxis.set_minor_formatter(plain)
    top.tick_params(axis="y", which="minor", labelsize=7)
    top.set_ylabel("latency per image (ms)")
    top.legend(fontsize=8)
    top.set_title(title or "Latency versus DDR bandwidth")
    bottom.set_ylabel("memory-bound\nconvolutions")
    bottom.set_xlabel("DDR bandwidth (GB/s)")
    if curves:
        first = curves[0]
        bottom.set_xticks(first.gbps, [f"{value:g}" for value in first.gbps])
        clock = first.gbps[0] / first.bytes_per_cycle[0]
        secondary = top.secondary_xaxis("top", functions=(lambda x: x / clock, lambda x: x * clock))
        secondary.set_xticks(first.bytes_per_cycle, [str(width) for width in first.bytes_per_cycle])
        secondary.set_xlabel("DDR width (bytes per cycle)")
    return figure
