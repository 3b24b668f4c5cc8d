"""The Pareto scatter of a sweep: every finished design point, the non-dominated ones highlighted.

Points are grouped (by default per workload: designs of different networks do not compete); the
front of each group is computed over the two axis metrics, or over three when a colour metric is
given (then the colour shows the third metric and the front is not a staircase).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..dse.metrics import Sense, metric
from ..dse.pareto import pareto_front
from ..dse.rows import counts
from ..errors import ConfigError
from .figure import new_figure, thousands

if TYPE_CHECKING:
    from matplotlib.figure import Figure

_COLORS = ("#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02")
_MARKERS = "osD^vP"


def _axis_label(name: str) -> str:
    chosen = metric(name)
    return f"{chosen.label}, {'lower' if chosen.sense is Sense.MIN else 'higher'} is better"


@dataclass(frozen=True)
class ParetoGroup:
    """The finished points of one group and its front.

    Attributes:
        name: the group's value (e.g. the workload).
        rows: the group's rows with every plotted metric present.
        front: indices into ``rows`` of the non-dominated ones, ascending.
    """

    name: str
    rows: tuple[Mapping[str, Any], ...]
    front: tuple[int, ...]

    def to_dict(self, metrics: Sequence[str]) -> dict[str, Any]:
        """JSON-able: the group's name, its size and the front's rows (key columns and metrics)."""
        keep = ("point_id", "workload", *metrics)
        return {"name": self.name, "points": len(self.rows),
                "front": [{key: self.rows[i].get(key) for key in keep} for i in self.front]}


def pareto_groups(rows: Sequence[Mapping[str, Any]], metrics: Sequence[str], by: str = "workload", *,
                  include_unfit: bool = False) -> tuple[ParetoGroup, ...]:
    """Split finished ``rows`` (``status == "ok"``) of designs that fit their device (all finished
    rows with ``include_unfit``; :func:`accelsim.dse.rows.counts`) by column ``by``; the front of each
    over ``metrics``.

    Raises:
        ConfigError: unknown metrics, a missing ``by`` column, or no such row.
    """
    for name in metrics:
        metric(name)
    finished = [row for row in rows if counts(row, include_unfit) and all(row.get(m) is not None for m in metrics)]
    if not finished:
        which = "finished points" if include_unfit else "finished points that fit their device"
        raise ConfigError(f"results must hold {which} with {', '.join(metrics)}, not none"
                          + ("" if include_unfit else " (--include-unfit plots the others)"))
    if any(by not in row for row in finished):
        raise ConfigError(f"--by must name a results column, not {by!r}")
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for row in finished:
        groups.setdefault(str(row[by]), []).append(row)
    return tuple(ParetoGroup(name, tuple(members), tuple(pareto_front(members, list(metrics))))
                 for name, members in groups.items())


def plot_pareto(groups: Sequence[ParetoGroup], x: str, y: str, color: str | None = None,
                title: str | None = None) -> Figure:
    """Scatter ``y`` against ``x``; per group two collections (all points, then the front) and, in 2-D,
    a staircase line through the front (sorted by ``x``)."""
    metric(x), metric(y)
    figure = new_figure(8.0, 5.5)
    axes = figure.subplots()
    shade = metric(color) if color else None
    values = [float(row[shade.name]) for g in groups for row in g.rows] if shade else []
    limits = (min(values), max(values)) if values else (0.0, 1.0)
    for index, group in enumerate(groups):
        tone, marker = _COLORS[index % len(_COLORS)], _MARKERS[index % len(_MARKERS)]
        xs = [float(row[x]) for row in group.rows]
        ys = [float(row[y]) for row in group.rows]
        front = sorted(group.front, key=lambda i: (xs[i], ys[i]))
        if shade:
            scatter = axes.scatter(xs, ys, c=[float(row[shade.name]) for row in group.rows], cmap="viridis",
                                   vmin=limits[0], vmax=limits[1], s=16, alpha=0.6, marker=marker,
                                   label=f"{group.name} ({len(xs)} designs)")
        else:
            axes.scatter(xs, ys, color=tone, s=16, alpha=0.35, marker=marker, label=f"{group.name} ({len(xs)} designs)")
        axes.scatter([xs[i] for i in front], [ys[i] for i in front], facecolors="none", marker=marker,
                     edgecolors="black" if shade else tone, s=70, linewidths=1.5,
                     label=f"{group.name}: Pareto front ({len(front)})")
        if not shade:
            axes.step([xs[i] for i in front], [ys[i] for i in front], where="post", color=tone, linewidth=1.2)
    if shade:
        figure.colorbar(scatter, ax=axes, label=shade.label)
    axes.set_xlabel(_axis_label(x))
    axes.set_ylabel(_axis_label(y))
    for axis, name in ((axes.xaxis, x), (axes.yaxis, y)):
        if metric(name).integer:
            axis.set_major_formatter(thousands)
    axes.grid(True, alpha=0.3)
    axes.legend(fontsize=8)
    axes.set_title(title or f"Pareto front: {y} vs {x}" + (f" (front also over {shade.name})" if shade else ""))
    return figure
