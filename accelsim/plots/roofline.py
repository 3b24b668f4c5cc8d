"""A roofline per layer: operational intensity against achieved performance.

For each layer on the PE array: ``ops = 2 x non-zero MACs``, intensity = ``ops / DDR bytes``
(read + written), achieved GOPS = ``ops / (cycles / clock)``. The roofs: the PE array's peak,
``2 x units x taps x clock`` (every tap of every unit busy every cycle), and the DDR slope,
``intensity x bandwidth`` (bytes per cycle x clock). A layer can lie on neither roof (fixed
request latency, pipeline fill, the exposed first load); it cannot lie above them
(``cycles >= compute_cycles >= macs / (units x taps)`` and ``cycles >= memory_cycles >= bytes /
bytes_per_cycle``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..sim import SimulationResult, Unit
from .figure import new_figure, plain

if TYPE_CHECKING:
    from matplotlib.figure import Figure


@dataclass(frozen=True)
class RooflinePoint:
    """One layer on the roofline.

    Attributes:
        layer: layer name.
        ops: useful operations (2 per non-zero MAC).
        ddr_bytes: bytes read and written.
        cycles: the layer's cycles.
        intensity: ops per DDR byte.
        gops: achieved performance, 1e9 ops/s.
    """

    layer: str
    ops: int
    ddr_bytes: int
    cycles: int
    intensity: float
    gops: float


@dataclass(frozen=True)
class Roofline:
    """The layers of one simulated network and the roofs of its configuration.

    Attributes:
        network, config: names.
        peak_gops: compute roof, 1e9 ops/s.
        bandwidth_gbps: DDR roof slope, GB/s.
        points: one per PE-array layer, in execution order.
    """

    network: str
    config: str
    peak_gops: float
    bandwidth_gbps: float
    points: tuple[RooflinePoint, ...]

    @property
    def ridge(self) -> float:
        """Intensity (ops/byte) where the two roofs meet."""
        return self.peak_gops / self.bandwidth_gbps

    def attainable(self, intensity: float) -> float:
        """The roof at ``intensity``: ``min(peak, intensity x bandwidth)``, GOPS."""
        return min(self.peak_gops, intensity * self.bandwidth_gbps)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able roofline."""
        return {"network": self.network, "config": self.config, "peak_gops": self.peak_gops,
                "bandwidth_gbps": self.bandwidth_gbps, "ridge_ops_per_byte": self.ridge,
                "layers": [vars(point) for point in self.points]}


def roofline(result: SimulationResult) -> Roofline:
    """The roofline of ``result``'s PE-array layers (those with MACs)."""
    config = result.config
    mhz = config.clock_mhz
    points = []
    for layer in result.layers:
        if layer.unit is not Unit.PE or not layer.macs or not layer.cycles:
            continue
        ops, moved = 2 * layer.macs, layer.ddr_bytes_read + layer.ddr_bytes_written
        points.append(RooflinePoint(layer.name, ops, moved, layer.cycles, ops / moved, ops * mhz / (layer.cycles * 1e3)))
    peak = 2 * config.pe.units * config.pe.taps * mhz / 1e3
    return Roofline(result.network, config.name, peak, config.ddr.bytes_per_cycle * mhz / 1e3, tuple(points))


def _coinciding(points: tuple[RooflinePoint, ...]) -> dict[tuple[float, float], list[str]]:
    """Layer names grouped by their position (identical layers share one label)."""
    groups: dict[tuple[float, float], list[str]] = {}
    for point in points:
        groups.setdefault((point.intensity, point.gops), []).append(point.layer)
    return groups


def plot_roofline(data: Roofline, title: str | None = None) -> Figure:
    """Log-log roofline: the roofs (line 0), the layers (one scatter collection), labelled."""
    from matplotlib.ticker import NullFormatter

    figure = new_figure(8.0, 5.5)
    axes = figure.subplots()
    intensities = [point.intensity for point in data.points] or [data.ridge]
    low, high = min(min(intensities), data.ridge) / 4, max(max(intensities), data.ridge) * 4
    grid = np.geomspace(low, high, 200)
    axes.plot(grid, np.minimum(data.peak_gops, grid * data.bandwidth_gbps), color="black", linewidth=2,
              label=f"roof: {data.peak_gops:g} GOPS peak, {data.bandwidth_gbps:g} GB/s DDR")
    axes.scatter([p.intensity for p in data.points], [p.gops for p in data.points], s=36, color="#1b9e77",
                 edgecolor="black", zorder=3, label="layer (achieved)")
    labels = sorted(_coinciding(data.points).items())
    for index, ((intensity, gops), names) in enumerate(labels):  # alternate below / above: neighbours apart
        axes.annotate(", ".join(names), (intensity, gops), textcoords="offset points",
                      xytext=(4, -11 if index % 2 == 0 else 5), fontsize=7)
    axes.axvline(data.ridge, color="gray", linestyle=":", linewidth=1)
    axes.annotate(f"ridge {data.ridge:.3g} ops/B", (data.ridge, data.peak_gops), textcoords="offset points",
                  xytext=(4, 6), fontsize=8, color="gray")
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.xaxis.set_major_formatter(plain)
    axes.xaxis.set_minor_formatter(NullFormatter())
    axes.yaxis.set_major_formatter(plain)
    axes.yaxis.set_minor_formatter(plain)
    axes.tick_params(which="minor", labelsize=7)
    axes.set_xlim(low, high)
    axes.set_xlabel("operational intensity (ops per DDR byte)")
    axes.set_ylabel("performance (GOPS, 2 ops per non-zero MAC)")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=8, loc="lower right")
    axes.set_title(title or f"Roofline: {data.network} on {data.config}")
    return figure
