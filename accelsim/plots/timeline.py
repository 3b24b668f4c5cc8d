"""The utilization timeline of one inference, from the event trace.

Upper panel: every load, compute and store as a bar on its engine's track (input DMA, weight
DMA, PE array, the datapath's vector mode, store DMA). Lower panel: the fraction of each time bin
during which the datapath was computing (convolutions, and pooling / adds in vector mode). Each engine does one thing at a time, so its
busy cycles in a bin are exact: the sum over its events of their overlap with the bin.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import ConfigError, brief
from ..sim import EventKind, SimulationResult
from .figure import new_figure

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: Tracks top to bottom: event kind, label, color.
TRACKS = (
    (EventKind.LOAD_INPUT, "input DMA", "#1f78b4"),
    (EventKind.LOAD_WEIGHT, "weight DMA", "#a6cee3"),
    (EventKind.COMPUTE, "PE array", "#1b9e77"),
    (EventKind.VECTOR, "vector mode", "#66a61e"),
    (EventKind.STORE_OUTPUT, "store DMA", "#d95f02"),
)
#: Engines whose busy fraction the lower panel shows.
UTILIZATION = (EventKind.COMPUTE, EventKind.VECTOR)
DEFAULT_BINS = 200
#: Most time bins of a timeline (a figure is a few thousand pixels wide).
MAX_BINS = 10_000


@dataclass(frozen=True)
class Timeline:
    """Busy fraction of each engine per time bin.

    Attributes:
        network: network name.
        clock_mhz: clock, to convert cycles to microseconds.
        edges: bin edges in cycles (``bins + 1`` integers from 0 to the total cycles).
        busy: per event kind, the fraction of each bin its engine was busy.
        layer_starts: start cycle of each layer that takes cycles, by name.
    """

    network: str
    clock_mhz: float
    edges: tuple[int, ...]
    busy: dict[EventKind, tuple[float, ...]]
    layer_starts: dict[str, int]

    def to_dict(self) -> dict[str, Any]:
        """JSON-able timeline."""
        return {"network": self.network, "clock_mhz": self.clock_mhz, "edges_cycles": list(self.edges),
                "busy": {kind.value: list(values) for kind, values in self.busy.items()},
                "layer_starts": self.layer_starts}


def busy_cycles(spans: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Cycles of the non-overlapping ``[start, end)`` ``spans`` (n x 2) inside each bin of ``edges``."""
    if not len(spans):
        return np.zeros(len(edges) - 1)
    starts, ends = spans[:, 0], spans[:, 1]
    # busy cycles before each edge: sum over spans of clip(edge - start, 0, length)
    before = np.clip(edges[:, None] - starts[None, :], 0, (ends - starts)[None, :]).sum(axis=1)
    return np.diff(before).astype(float)


def check_bins(bins: object) -> int:
    """``bins`` if it is an integer from 1 to :data:`MAX_BINS`, else ConfigError."""
    if isinstance(bins, bool) or not isinstance(bins, int) or not 1 <= bins <= MAX_BINS:
        raise ConfigError(f"bins must be an integer from 1 to {MAX_BINS:,}, not {brief(bins)}")
    return bins


def utilization_timeline(result: SimulationResult, bins: int = DEFAULT_BINS) -> Timeline:
    """Per-bin busy fractions of every engine of ``result`` (which must keep its trace).

    Raises:
        ConfigError: a result without a trace, or ``bins`` out of range (:func:`check_bins`).
    """
    if not result.trace:
        raise ConfigError("the simulation must keep its trace for a timeline (keep_trace=True), not drop it")
    check_bins(bins)
    edges = np.unique(np.linspace(0, result.total_cycles, bins + 1).round().astype(np.int64))
    widths = np.diff(edges).astype(float)
    busy = {}
    for kind, _, _ in TRACKS:
        spans = np.array([(e.start, e.end) for e in result.trace if e.event is kind], dtype=np.int64).reshape(-1, 2)
        busy[kind] = tuple(busy_cycles(spans, edges) / widths)
    starts = {layer.name: layer.start_cycle for layer in result.layers if layer.cycles}
    return Timeline(result.network, result.config.clock_mhz, tuple(int(edge) for edge in edges), busy, starts)


def plot_timeline(result: SimulationResult, data: Timeline, title: str | None = None) -> Figure:
    """The engine tracks (upper axes, one ``broken_barh`` per track) and busy fractions (lower axes,
    one line per engine of :data:`UTILIZATION`, x at bin centres in µs)."""
    figure = new_figure(10.0, 5.5)
    upper, lower = figure.subplots(2, 1, sharex=True, height_ratios=(2, 1.4))
    us = 1.0 / data.clock_mhz
    for row, (kind, label, color) in enumerate(TRACKS):
        spans = [(e.start * us, (e.end - e.start) * us) for e in result.trace if e.event is kind]
        upper.broken_barh(spans, (row - 0.4, 0.8), facecolors=color, label=label)
    upper.set_yticks(range(len(TRACKS)), [label for _, label, _ in TRACKS])
    upper.invert_yaxis()
    for start in data.layer_starts.values():
        for axes in (upper, lower):
            axes.axvline(start * us, color="gray", linewidth=0.5, alpha=0.5)
    edges = np.asarray(data.edges, dtype=float)
    centres = (edges[:-1] + edges[1:]) / 2 * us
    for kind, label, color in TRACKS:
        if kind in UTILIZATION:
            lower.plot(centres, np.asarray(data.busy[kind]) * 100, color=color, label=f"{label} busy")
    lower.set_ylim(0, 105)
    lower.set_ylabel("busy (% of time)")
    lower.set_xlabel("time (µs)")
    lower.legend(fontsize=8, loc="lower right")
    lower.grid(True, alpha=0.3)
    upper.set_title(title or f"Timeline: {data.network} ({result.total_cycles:,} cycles = "
                               f"{result.total_cycles * us:,.1f} µs; gray lines: layer starts)")
    return figure
