"""Plots architects use: bandwidth curves, rooflines, per-layer cycles, timelines, Pareto scatters.

Each kind has a data function (the computed numbers, a frozen dataclass with ``to_dict``) and a
plot function that draws exactly those numbers on a new :class:`matplotlib.figure.Figure`; write it
with :func:`save_figure` (PNG, SVG or PDF by suffix). Nothing here uses ``pyplot``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy import lazy_exports

if TYPE_CHECKING:
    from .bandwidth import BandwidthCurve, bandwidth_curve, bandwidth_curves, plot_bandwidth
    from .figure import save_figure
    from .layers import LayerCycles, layer_cycles, plot_layer_cycles
    from .pareto import ParetoGroup, pareto_groups, plot_pareto
    from .roofline import Roofline, RooflinePoint, plot_roofline, roofline
    from .timeline import Timeline, plot_timeline, utilization_timeline

__getattr__, __dir__ = lazy_exports(__name__, globals())

__all__ = [
    "BandwidthCurve",
    "LayerCycles",
    "ParetoGroup",
    "Roofline",
    "RooflinePoint",
    "Timeline",
    "bandwidth_curve",
    "bandwidth_curves",
    "layer_cycles",
    "pareto_groups",
    "plot_bandwidth",
    "plot_layer_cycles",
    "plot_pareto",
    "plot_roofline",
    "plot_timeline",
    "roofline",
    "save_figure",
    "utilization_timeline",
]
