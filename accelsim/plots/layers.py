"""Per-layer stacked cycles: computing, stalled on memory, and draining the last store.

``cycles = compute_cycles + stall_cycles + drain_cycles`` for every layer
(docs/microarchitecture.md section 9): the unit computes, waits for loaded data or a free output
half (a memory stall), then the layer waits for its last store (the drain overhead).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..sim import SimulationResult
from .figure import new_figure, thousands

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: Widest figure, inches, and most layer names on the x axis.
MAX_WIDTH, MAX_LABELS = 16.0, 48
#: Stack order and colors of the three parts.
PARTS = (("compute", "#1b9e77"), ("memory stall", "#d95f02"), ("drain (last store)", "#7570b3"))


@dataclass(frozen=True)
class LayerCycles:
    """The cycles of each layer (layers that take no cycles, like a flatten, are left out).

    Attributes:
        network: network name.
        names: layer names in execution order.
        compute, stall, drain: cycles per layer of each part.
    """

    network: str
    names: tuple[str, ...]
    compute: tuple[int, ...]
    stall: tuple[int, ...]
    drain: tuple[int, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-able columns."""
        return {"network": self.network, "layers": list(self.names), "compute_cycles": list(self.compute),
                "stall_cycles": list(self.stall), "drain_cycles": list(self.drain)}


def layer_cycles(result: SimulationResult) -> LayerCycles:
    """The three parts of every layer of ``result`` that takes cycles."""
    layers = [layer for layer in result.layers if layer.cycles]
    return LayerCycles(result.network, tuple(layer.name for layer in layers),
                       tuple(layer.compute_cycles for layer in layers), tuple(layer.stall_cycles for layer in layers),
                       tuple(layer.drain_cycles for layer in layers))


def plot_layer_cycles(data: LayerCycles, title: str | None = None) -> Figure:
    """Stacked bars, one per layer: compute, stall, drain (the axes' containers, in that order)."""
    figure = new_figure(min(MAX_WIDTH, max(6.0, 0.32 * len(data.names) + 2.0)), 5.0)
    axes = figure.subplots()
    positions = range(len(data.names))
    bottom = [0] * len(data.names)
    for (label, color), values in zip(PARTS, (data.compute, data.stall, data.drain)):
        axes.bar(positions, values, bottom=bottom, color=color, label=label, width=0.8)
        bottom = [b + v for b, v in zip(bottom, values)]
    every = -(-len(data.names) // MAX_LABELS)  # label every k-th layer when there are many
    axes.set_xticks(list(positions)[::every], data.names[::every], rotation=60, ha="right", fontsize=8)
    axes.set_xlim(-0.6, len(data.names) - 0.4)
    axes.yaxis.set_major_formatter(thousands)
    axes.set_ylabel("cycles")
    axes.set_xlabel("layer (execution order)" + (f", one in {every} named" if every > 1 else ""))
    axes.grid(True, axis="y", alpha=0.3)
    axes.legend(fontsize=8)
    axes.set_title(title or f"Cycles per layer: {data.network} ({sum(bottom):,} cycles in all)")
    return figure
