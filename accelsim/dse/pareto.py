"""Pareto fronts: the designs no other design beats on every chosen metric.

Design ``a`` dominates ``b`` when ``a`` is at least as good on every metric and strictly better on
one (better = smaller for :attr:`Sense.MIN` metrics such as latency or LUTs, larger for
:attr:`Sense.MAX` ones such as throughput). Equal designs do not dominate each other, so both stay
on the front.

Algorithm: sort the points lexicographically (every dominator of a point comes before it), then
keep each point that no kept point dominates: ``O(n log n + n * front * metrics)``.

>>> rows = [{"latency_ms": 1.0, "lut": 9}, {"latency_ms": 2.0, "lut": 5}, {"latency_ms": 2.0, "lut": 9}]
>>> pareto_front(rows, ["latency_ms", "lut"])
[0, 1]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..errors import ConfigError, brief
from .metrics import Sense, metric


def non_dominated(costs: np.ndarray) -> np.ndarray:
    """Boolean mask of the rows of ``costs`` (n x d, smaller is better) no other row dominates."""
    order = np.lexsort(costs.T[::-1])
    front: list[int] = []
    for index in order:
        point = costs[index]
        if front:
            kept = costs[front]
            if np.any(np.all(kept <= point, axis=1) & np.any(kept < point, axis=1)):
                continue
        front.append(int(index))
    mask = np.zeros(len(costs), dtype=bool)
    mask[front] = True
    return mask


def pareto_front(rows: Sequence[Mapping[str, Any]], metrics: Sequence[str]) -> list[int]:
    """Indices (ascending) of the rows on the Pareto front over ``metrics`` (two or more names).

    Rows missing a metric (``None``, e.g. failed points) are never on the front.

    Raises:
        ConfigError: rows that are not a list of mappings; metrics not a list of two or more names,
            a repeated or unknown metric name.
    """
    if isinstance(rows, (str, bytes)) or not isinstance(rows, Sequence) or \
            not all(isinstance(row, Mapping) for row in rows):
        raise ConfigError(f"rows must be a list of result rows (e.g. accelsim.read_results(folder).to_pylist()), "
                          f"not {brief(rows)}")
    if isinstance(metrics, (str, bytes)) or not isinstance(metrics, Sequence):
        raise ConfigError(f"metrics must be a list of two or more distinct metric names, not {brief(metrics)}")
    if len(metrics) < 2 or len(set(metrics)) != len(metrics):
        raise ConfigError(f"metrics must be two or more distinct metric names, not {brief(list(metrics))}")
    signs = np.array([1.0 if metric(name).sense is Sense.MIN else -1.0 for name in metrics])
    usable = [index for index, row in enumerate(rows) if all(row.get(name) is not None for name in metrics)]
    if not usable:
        return []
    costs = np.array([[float(rows[index][name]) for name in metrics] for index in usable]) * signs
    mask = non_dominated(costs)
    return [usable[position] for position in np.flatnonzero(mask)]
