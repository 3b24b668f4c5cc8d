"""The fast engine equals the SimPy reference field by field; a sweep catches any disagreement."""

from __future__ import annotations

import dataclasses
import re

import pytest
from hypothesis import assume, event, given, settings
from hypothesis import strategies as st

from accelsim.dse import Engine, design_points, evaluate, spec_from_dict
from accelsim.dse import rows as rows_module
from accelsim.dse import workload as workload_module
from accelsim.dse.fastsim import fast_simulate
from accelsim.errors import AccelsimError, ConfigError
from accelsim.hw import load_config
from accelsim.integer.graph import PoolKind, WeightFormat
from accelsim.sim import simulate
from accelsim.sim.plan import (
    LayerPlan,
    _weight_transfer,
    concat_slices,
    ddr_shape,
    layer_view,
    reads_slice,
    tile_datapath_layer,
)
from accelsim.sim.synthetic import NetworkBuilder, resnet_shapes, vgg16_shapes


def assert_same(network, config):
    """The fast engine's result equals the reference's, or it raises the same error; says which."""
    try:
        reference = simulate(network, config, keep_trace=False)
    except AccelsimError as error:  # the binding is shared: the same error, word for word
        with pytest.raises(type(error), match=f"^{re.escape(str(error))}$"):
            fast_simulate(network, config)
        subject = re.sub(r"'[^']*'", "...", str(error).split(" must ")[0])  # names left out, so events group
        return f"both refuse: {type(error).__name__}: {subject}"
    assert fast_simulate(network, config) == dataclasses.replace(reference, sim_events=0)
    return "equal results"


@pytest.mark.parametrize("changes", [
    {}, {"ddr.bytes_per_cycle": 1}, {"ddr.bytes_per_cycle": 64, "ddr.latency_cycles": 0},
    {"pe.kind": "gsnq_shift", "pe.tn": 16, "pe.tm": 2}, {"ddr.burst_bytes": 64, "ddr.bytes_per_cycle": 4},
    {"pe.kind": "mult_dsp", "buffers.output_depth": 64, "pe.pipeline_depth": 1},
])
def test_whole_networks(changes):
    config = load_config().replace(**changes)
    weights = config.pe.kind.weight_format  # the networks in the format the kind applies
    for network in (vgg16_shapes(weights=weights), resnet_shapes(3, weights=weights),
                    resnet_shapes(1, rows_kept=None, weights=weights)):
        assert assert_same(network, config) == "equal results"


@st.composite
def networks(draw, weights=WeightFormat.GSNQ):
    """Random stacks of every operator the accelerator runs: convolutions (KRP, dense, grouped),
    max, average and adaptive pooling, residual adds, concatenations and layers reading a slice of
    one (its rows a concatenated row apart), a flatten and a linear layer; ``weights`` their format."""
    channels = draw(st.integers(1, 12))
    size = draw(st.integers(3, 12))
    builder = NetworkBuilder((channels, size, size), seed=draw(st.integers(0, 99)), weights=weights)
    current = "input"
    for _ in range(draw(st.integers(1, 4))):
        step = draw(st.sampled_from(["conv", "conv", "pool", "add", "avgpool", "adaptive", "grouped", "concat"]))
        depth, height, width = builder._shapes[current]
        if step == "pool" and min(height, width) >= 2:
            current = builder.pool(2, source=current)
        elif step == "avgpool" and min(height, width) >= 2:
            current = builder.pool(3, stride=2, kind=PoolKind.AVG, padding=1, ceil_mode=draw(st.booleans()),
                                   source=current)
        elif step == "adaptive":
            current = builder.adaptive_pool((draw(st.integers(1, 4)), draw(st.integers(1, 4))),
                                            kind=draw(st.sampled_from(list(PoolKind))), source=current)
        elif step == "add":
            other = builder.conv(depth, kernel=1, source=current)
            current = builder.add(current, other)
        elif step == "grouped":
            groups = draw(st.sampled_from([g for g in range(1, depth + 1) if depth % g == 0]))
            current = builder.conv(groups * draw(st.integers(1, 3)), groups=groups, rows_kept=None, source=current)
        elif step == "concat":  # pe.tn must divide the first input's channels, else both engines refuse it
            first = builder.conv(draw(st.sampled_from([2, 4, 8, 3])), kernel=1, source=current)
            second = builder.conv(builder._shapes[first][0] if draw(st.booleans()) else draw(st.integers(1, 8)),
                                  kernel=1, source=current)
            joined = builder.concat([first, second])
            reader = draw(st.sampled_from(["whole", "slice", "slices"]))
            if reader == "slice":
                current = builder.conv(draw(st.integers(1, 8)), kernel=draw(st.sampled_from([1, 3])), source=first)
            elif reader == "slices" and builder._shapes[first] == builder._shapes[second]:
                current = builder.add(first, second)
            else:
                current = joined
        else:
            kernel = draw(st.sampled_from([1, 3, 5]))
            if kernel > height + 2 * (kernel // 2):
                kernel = 1
            current = builder.conv(draw(st.integers(1, 24)), kernel=kernel, stride=draw(st.integers(1, 2)),
                                   rows_kept=draw(st.sampled_from([None, 1, 2])) if kernel > 1 else None,
                                   source=current)
    if draw(st.booleans()):
        builder.flatten(source=current)
        builder.linear(draw(st.integers(1, 16)))
    return builder.build()


@st.composite
def configs(draw):
    width = draw(st.sampled_from([1, 2, 4, 8, 16]))
    tn = draw(st.sampled_from([1, 2, 4, 8]))
    changes = {
        "pe.kind": draw(st.sampled_from(["krp_gsnq", "gsnq_shift", "mult_lut", "mult_dsp"])),
        "pe.tn": tn, "pe.tm": draw(st.sampled_from([d for d in (1, 2, 4, 8) if tn % d == 0] + [2 * tn])),
        "pe.pipeline_depth": draw(st.integers(1, 20)),
        "buffers.input_bytes": draw(st.integers(64, 8192)), "buffers.weight_depth": draw(st.integers(4, 512)),
        "buffers.output_depth": draw(st.integers(4, 256)),
        "ddr.bytes_per_cycle": width, "ddr.latency_cycles": draw(st.integers(0, 40)),
        "ddr.burst_bytes": width * draw(st.integers(1, 64)),
    }
    try:
        return load_config().replace(**changes)
    except ConfigError as error:  # an array the device cannot hold (resource model): no design to time
        assume("must fit device" not in str(error))
        raise


@settings(max_examples=300, deadline=None)
@given(configs(), st.data())
def test_random_layers_and_configurations(config, data):
    event(assert_same(data.draw(networks(config.pe.kind.weight_format)), config))


def test_evaluate_with_the_fast_engine():
    network, config = resnet_shapes(1), load_config()
    fast = evaluate(network, config, engine=Engine.FAST)
    assert fast.engine is Engine.FAST and fast.metrics() == evaluate(network, config).metrics()
    with pytest.raises(ConfigError, match=r"^engine must be 'simpy' to keep the trace, not 'fast'$"):
        evaluate(network, config, keep_trace=True, engine=Engine.FAST)


def test_a_checked_point_that_disagrees_is_an_error_row(monkeypatch):
    spec = spec_from_dict({"workloads": ["digits"], "parameters": {"pe.tn": [4]}, "check_every": 1})
    (point,) = design_points(spec)
    # any network will do (both engines run the same one); monkeypatch restores the cache after the test
    monkeypatch.setitem(workload_module._INSTALLED, point.network_key, resnet_shapes(1))
    assert rows_module.point_row(point, Engine.FAST, 1)["checked"] is True

    def off_by_one(network, config, **options):
        result = fast_simulate(network, config, **options)
        layer = dataclasses.replace(result.layers[0], end_cycle=result.layers[0].end_cycle + 1)
        return dataclasses.replace(result, layers=(layer, *result.layers[1:]))

    monkeypatch.setattr("accelsim.dse.rows.fast_simulate", off_by_one)
    row = rows_module.point_row(point, Engine.FAST, 1)
    assert row["status"] == "error" and row["engine"] == "fast" and row["checked"] is True
    assert row["error"].startswith("the fast engine disagrees with the simpy reference: layer 'conv0' end_cycle = ")
    assert rows_module.point_row(point, Engine.FAST, 0)["status"] == "ok"  # unchecked: not caught


def test_one_prepared_network_serves_many_configurations():
    """The fast engine caches a network's tiling per (pe, buffers, act_bits) and its weight transfers
    per (weight_bits, DDR width): configurations sharing either, in any order, still equal the reference."""
    network = resnet_shapes(1)
    base = load_config()
    changes = [{}, {"ddr.latency_cycles": 0}, {"ddr.burst_bytes": 256}, {"ddr.bytes_per_cycle": 2},
               {"ddr.bytes_per_cycle": 2, "ddr.latency_cycles": 90}, {"weight_bits": 8}, {"acc_bits": 40},
               {"clock_mhz": 123.0}, {"pe.tm": 8}, {"pe.tm": 8, "ddr.bytes_per_cycle": 32},
               {"buffers.input_bytes": 4096}, {"buffers.input_bytes": 4096, "ddr.latency_cycles": 3},
               {"pe.tn": 4, "pe.tm": 2}, {"pe.kind": "gsnq_shift"}, {"buffers.weight_depth": 8}, {}]
    for change in changes + changes[::-1]:
        assert assert_same(network, base.replace(**change)) in ("equal results", "both refuse: ConfigError: buffers.weight_depth")
    # a PE kind that cannot apply the network's weights: both engines refuse it first, with the same words
    assert assert_same(network, base.replace(**{"pe.kind": "mult_lut"})) == "both refuse: ConfigError: pe.kind"


@settings(max_examples=100, deadline=None)
@given(networks(), configs(), configs())
def test_the_tiling_reads_only_the_array_the_buffers_and_act_bits(network, config, other):
    """What the fast engine's caches assume: a layer's tiling depends on ``pe``, ``buffers`` and
    ``act_bits`` only, its weight transfers on ``pe``, ``weight_bits`` and the DDR width only."""
    mixed = dataclasses.replace(other, pe=config.pe, buffers=config.buffers, act_bits=config.act_bits)
    weights = dataclasses.replace(mixed, weight_bits=config.weight_bits,
                                  ddr=dataclasses.replace(config.ddr, latency_cycles=other.ddr.latency_cycles))
    places = outcome(concat_slices, network, config)
    assume(not isinstance(places, str))
    shapes = {"input": network.input.shape}
    for layer in network.layers:
        view = layer_view(layer, shapes, reads_slice(layer, places))
        shapes[layer.name] = ddr_shape(layer, shapes, config)
        if isinstance(view, LayerPlan):
            continue
        tiling = outcome(tile_datapath_layer, view, config)
        assert outcome(tile_datapath_layer, view, mixed) == tiling
        if not isinstance(tiling, str) and view.params:
            for steps in set(tiling.steps):
                assert _weight_transfer(view, weights, steps) == _weight_transfer(view, config, steps)


def outcome(function, *args):
    """``function(*args)``, or the message of the AccelsimError it raises."""
    try:
        return function(*args)
    except AccelsimError as error:
        return f"{type(error).__name__}: {error}"


@pytest.mark.parametrize("changes", [{}, {"pe.kind": "gsnq_shift", "ddr.bytes_per_cycle": 1}])
def test_lowered_pre_activation_networks(changes):
    """DenseNet's nested concatenations (a max pooling stored into one, layers reading them) and
    standalone BatchNorm layers, lowered from torch: the same result from both engines, every
    layer planned."""
    import numpy as np
    from int_reference import make_power_of_two
    from pre_activation import DenseBlock, PreActivation

    from accelsim.integer import lower

    config = load_config().replace(**changes)
    data = np.random.default_rng(0).uniform(0.0, 1.0, (4, 3, 12, 12)).astype(np.float32)
    for model in (DenseBlock(growth=8), PreActivation()):
        network = lower(make_power_of_two(model), data)
        assert assert_same(network, config) == "equal results"
        result = simulate(network, config, keep_trace=False)
        assert [layer.name for layer in result.layers] == [layer.name for layer in network.layers]
