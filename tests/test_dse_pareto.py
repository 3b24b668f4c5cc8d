"""Pareto fronts against a brute-force dominance check."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accelsim.dse import METRICS, Sense, pareto_front
from accelsim.errors import ConfigError

METRIC_NAMES = ("latency_ms", "lut", "throughput_fps")  # two minimized, one maximized


def dominates(a, b, metrics):
    """a is no worse on every metric and better on one (brute force, by the definition)."""
    better = worse = False
    for name in metrics:
        x, y = a[name], b[name]
        if METRICS[name].sense is Sense.MAX:
            x, y = -x, -y
        better |= x < y
        worse |= x > y
    return better and not worse


def brute_force(rows, metrics):
    usable = [i for i, row in enumerate(rows) if all(row[name] is not None for name in metrics)]
    return [i for i in usable if not any(dominates(rows[j], rows[i], metrics) for j in usable if j != i)]


values = st.one_of(st.none(), st.integers(0, 6).map(float))  # few distinct values: many ties
rows_strategy = st.lists(st.fixed_dictionaries({name: values for name in METRIC_NAMES}), max_size=60)


@settings(max_examples=300, deadline=None)
@given(rows_strategy, st.sampled_from([METRIC_NAMES[:2], METRIC_NAMES[1:], METRIC_NAMES]))
def test_front_equals_brute_force(rows, metrics):
    assert pareto_front(rows, list(metrics)) == brute_force(rows, metrics)


def test_maximized_metrics_prefer_larger_values():
    rows = [{"latency_ms": 1.0, "throughput_fps": 10.0}, {"latency_ms": 1.0, "throughput_fps": 20.0}]
    assert pareto_front(rows, ["latency_ms", "throughput_fps"]) == [1]
    assert pareto_front([], ["latency_ms", "lut"]) == []


def test_bad_metric_lists():
    with pytest.raises(ConfigError, match=r"^metrics must be two or more distinct metric names, not \['lut'\]$"):
        pareto_front([], ["lut"])
    with pytest.raises(ConfigError, match=r"^metric must be one of total_cycles, .* not 'luts'$"):
        pareto_front([{"lut": 1, "luts": 2}], ["lut", "luts"])
