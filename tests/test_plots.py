"""Plots: the drawn data equals the computed data, the data equals independent computations."""

from __future__ import annotations

import numpy as np
import pytest

from accelsim.dse import pareto_front
from accelsim.errors import ConfigError
from accelsim.hw import PeKind, load_config
from accelsim.plots import (
    bandwidth_curves,
    layer_cycles,
    pareto_groups,
    plot_bandwidth,
    plot_layer_cycles,
    plot_pareto,
    plot_roofline,
    plot_timeline,
    roofline,
    save_figure,
    utilization_timeline,
)
from accelsim.sim import EventKind, LayerKind, simulate
from accelsim.sim.synthetic import NetworkBuilder, resnet_shapes


@pytest.fixture(scope="module")
def small():
    builder = NetworkBuilder((8, 16, 16), name="small")
    builder.conv(32)
    builder.conv(64, rows_kept=None)
    builder.pool(2)
    builder.conv(128)
    builder.pool(4)
    builder.flatten()
    builder.linear(10)
    return builder.build()


@pytest.fixture(scope="module")
def result(small):
    return simulate(small, load_config())


def test_bandwidth_curves_and_knees(small, tmp_path):
    config = load_config()
    widths = (1, 2, 4, 8, 16, 64)
    curves = bandwidth_curves([small], config, (PeKind.KRP_GSNQ, PeKind.GSNQ_SHIFT), widths)
    for curve in curves:
        direct = [simulate(small, config.replace(**{"pe.kind": curve.kind.value, "ddr.bytes_per_cycle": w}))
                  for w in widths]
        assert curve.total_cycles == tuple(r.total_cycles for r in direct)
        assert curve.gbps == tuple(w * 0.2 for w in widths)
        bound = [{l.name for l in r.layers if l.kind is LayerKind.CONV and l.memory_cycles > l.compute_cycles}
                 for r in direct]
        assert [set(names) for names in curve.memory_bound] == bound
        knee = curve.knee_index
        assert knee is not None  # some convolution is memory-bound at 1 B/cycle, none at 64
        assert bound[0] and all(not names for names in bound[knee:]) and (knee == 0 or bound[knee - 1])
        for name, gbps in curve.layer_knees.items():
            at = curve.gbps.index(gbps)
            assert name in bound[at - 1] and all(name not in names for names in bound[at:])
    figure = plot_bandwidth(curves)
    top, bottom = figure.axes[:2]
    for line, curve in zip(top.lines, curves):
        assert list(line.get_xdata()) == list(curve.gbps) and list(line.get_ydata()) == list(curve.latency_ms)
    for line, curve in zip(bottom.lines, curves):
        assert list(line.get_ydata()) == [len(names) for names in curve.memory_bound]
    stars = top.lines[len(curves):len(curves) + 2]
    assert [(s.get_xdata()[0], s.get_ydata()[0]) for s in stars] == [
        (c.gbps[c.knee_index], c.latency_ms[c.knee_index]) for c in curves]
    for suffix, magic in ((".png", b"\x89PNG"), (".svg", b"<?xml"), (".pdf", b"%PDF")):
        path = save_figure(figure, tmp_path / f"bw{suffix}")
        assert path.read_bytes().startswith(magic)
    with pytest.raises(ConfigError, match=r"^plot file must end in .png, .svg or .pdf, not '.*bw.jpg'$"):
        save_figure(figure, tmp_path / "bw.jpg")
    assert not (tmp_path / "bw.jpg").exists()
    with pytest.raises(ConfigError, match=r"^ddr.bytes_per_cycle must be a power of two .* not 3"):
        bandwidth_curves([small], config, (PeKind.KRP_GSNQ,), (1, 3))
    with pytest.raises(ConfigError, match=r"^bandwidths must be distinct and ascending"):
        bandwidth_curves([small], config, (PeKind.KRP_GSNQ,), (4, 2))


def test_roofline_points_are_under_both_roofs(result):
    data = roofline(result)
    pe_layers = [l for l in result.layers if l.macs]
    assert [p.layer for p in data.points] == [l.name for l in pe_layers]
    assert data.peak_gops == pytest.approx(2 * 32 * 3 * 200 / 1e3)
    assert data.bandwidth_gbps == pytest.approx(8 * 0.2)
    for point, layer in zip(data.points, pe_layers):
        seconds = layer.cycles / 200e6
        assert point.gops == pytest.approx(2 * layer.macs / seconds / 1e9)
        assert point.intensity == pytest.approx(2 * layer.macs / (layer.ddr_bytes_read + layer.ddr_bytes_written))
        assert point.gops <= data.attainable(point.intensity) * (1 + 1e-12)
    axes = plot_roofline(data).axes[0]
    assert np.allclose(axes.collections[0].get_offsets(), [(p.intensity, p.gops) for p in data.points])
    roof = axes.lines[0]
    assert np.allclose(roof.get_ydata(), np.minimum(data.peak_gops, roof.get_xdata() * data.bandwidth_gbps))


def test_layer_cycles_stack_to_each_layer(result):
    data = layer_cycles(result)
    timed = [l for l in result.layers if l.cycles]
    assert data.names == tuple(l.name for l in timed)
    assert [c + s + d for c, s, d in zip(data.compute, data.stall, data.drain)] == [l.cycles for l in timed]
    axes = plot_layer_cycles(data).axes[0]
    compute, stall, drain = axes.containers
    assert [bar.get_height() for bar in compute] == list(data.compute)
    assert [bar.get_height() for bar in stall] == list(data.stall)
    assert [bar.get_y() for bar in drain] == [c + s for c, s in zip(data.compute, data.stall)]


def test_timeline_fractions_equal_a_cycle_by_cycle_count(result):
    data = utilization_timeline(result, bins=37)
    assert data.edges[0] == 0 and data.edges[-1] == result.total_cycles
    for kind in EventKind:
        busy = np.zeros(result.total_cycles, dtype=bool)
        for event in result.trace:
            if event.event is kind:
                assert not busy[event.start:event.end].any()  # one engine, one thing at a time
                busy[event.start:event.end] = True
        expected = [busy[a:b].mean() for a, b in zip(data.edges[:-1], data.edges[1:])]
        assert np.allclose(data.busy[kind], expected)
    axes = plot_timeline(result, data).axes[1]
    pe, vector = axes.lines[-2:]
    assert np.allclose(pe.get_ydata(), np.asarray(data.busy[EventKind.COMPUTE]) * 100)
    assert np.allclose(vector.get_ydata(), np.asarray(data.busy[EventKind.VECTOR]) * 100)
    with pytest.raises(ConfigError, match="must keep its trace"):
        utilization_timeline(simulate(resnet_shapes(1), load_config(), keep_trace=False))


def test_pareto_scatter_highlights_the_front():
    rng = np.random.default_rng(0)
    rows = [{"workload": w, "status": "ok", "latency_ms": float(rng.integers(1, 20)), "lut": int(rng.integers(1, 20)),
             "dsp": int(rng.integers(0, 5))} for w in ("a", "b") for _ in range(40)]
    rows.append({"workload": "a", "status": "error", "latency_ms": None, "lut": None, "dsp": None})
    groups = pareto_groups(rows, ["latency_ms", "lut"])
    assert [g.name for g in groups] == ["a", "b"] and [len(g.rows) for g in groups] == [40, 40]
    axes = plot_pareto(groups, "latency_ms", "lut").axes[0]
    for index, group in enumerate(groups):
        front = pareto_front(list(group.rows), ["latency_ms", "lut"])
        assert list(group.front) == front
        drawn = axes.collections[2 * index + 1].get_offsets()
        assert sorted(map(tuple, drawn)) == sorted((group.rows[i]["latency_ms"], group.rows[i]["lut"]) for i in front)
    three = pareto_groups(rows, ["latency_ms", "lut", "dsp"])
    assert all(set(g2.front) >= set(g.front) for g, g2 in zip(groups, three))  # more metrics, larger front
    plot_pareto(three, "latency_ms", "lut", "dsp")
    with pytest.raises(ConfigError, match=r"^results must hold finished points"):
        pareto_groups(rows[-1:], ["latency_ms", "lut"])
