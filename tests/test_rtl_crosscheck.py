"""The RTL under Verilator against the simulator (cycles, traces) and the integer datapath (outputs).

Every check runs real builds of the Verilog core (cached per design point for the session) on
small layers with realistic requantization parameters, so wrong arithmetic shows in the outputs.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from collections import Counter

import numpy as np
import pytest

from accelsim.cli import rtl as rtl_cli
from accelsim.errors import UnsupportedLayerError
from accelsim.hw import load_config
from accelsim.integer.graph import (
    AddLayer,
    ConcatLayer,
    ConvLayer,
    FlattenLayer,
    IntegerNetwork,
    LinearLayer,
    PoolKind,
    PoolLayer,
    Requant,
    WeightFormat,
)
from accelsim.rtl import check as check_module
from accelsim.rtl.check import cross_check
from accelsim.rtl.params import RTL_MIN_DDR_LATENCY, RTL_MIN_PIPELINE_DEPTH
from accelsim.rtl.verilator import VerilatorRunner
from accelsim.sim import NetworkBuilder
from accelsim.sim.sources import workload_network

pytestmark = pytest.mark.verilator

SMALL = {
    "pe.tn": 2,
    "pe.tm": 2,
    "ddr.latency_cycles": 2,
    "ddr.bytes_per_cycle": 4,
    "ddr.burst_bytes": 16,
    "buffers.output_depth": 64,
}


@pytest.fixture(scope="session")
def runner(tmp_path_factory) -> VerilatorRunner:
    return VerilatorRunner(tmp_path_factory.mktemp("verilator-cache"), jobs=2)


def requantized(network: IntegerNetwork, seed: int = 0, uniform_bits: int | None = None) -> IntegerNetwork:
    """The network with spread-out requantization (NetworkBuilder's is an identity clamp) and
    operand shifts on its adds; with ``uniform_bits``, its weights replaced by random uniform codes
    of that width (the multiplier kinds' weights) where they are non-zero."""
    rng = np.random.default_rng(seed)
    layers = []
    for layer in network.layers:
        if uniform_bits is not None and isinstance(layer, (ConvLayer, LinearLayer)):
            top = (1 << (uniform_bits - 1)) - 1
            codes = rng.integers(-top, top + 1, layer.weights.shape)
            layer = dataclasses.replace(layer, weights=np.where(layer.weights != 0, codes, 0),
                                        weight_bits=uniform_bits, weight_format=WeightFormat.UNIFORM)
        requant = getattr(layer, "requant", None)
        if requant is not None:
            channels = requant.multiplier.size
            bias = rng.integers(-(1 << 20), 1 << 20, channels)
            if isinstance(layer, PoolLayer):  # an average's entries are per window area: one bias
                bias = np.full(channels, bias[0])
            requant = Requant(
                rng.integers(-3000, 3000, channels),
                bias,
                13,
                -128,
                127,
                16,
            )
            layer = dataclasses.replace(layer, requant=requant)
        if isinstance(layer, AddLayer):
            layer = dataclasses.replace(layer, shift_a=int(rng.integers(0, 3)), shift_b=int(rng.integers(0, 3)))
        layers.append(layer)
    return dataclasses.replace(network, layers=tuple(layers))


def mixed_network() -> IntegerNetwork:
    """KRP 3x3, KRP 3x3 stride 2, dense 1x1 (as in ResNet shortcuts), a linear layer."""
    builder = NetworkBuilder((3, 14, 9), seed=1)
    builder.conv(5, kernel=3, rows_kept=1, name="krp3x3")
    builder.conv(3, kernel=3, stride=2, rows_kept=1, name="krp3x3_s2")
    builder.conv(4, kernel=1, padding=0, rows_kept=None, name="dense1x1")
    builder.flatten(name="flatten")
    builder.linear(7, name="fc")
    return requantized(builder.build())


def vector_network() -> IntegerNetwork:
    """Two KRP convolutions, their residual add, a 2x2 max pool and a 4x4 average pool (two
    window blocks per side with kernel_max 3)."""
    builder = NetworkBuilder((5, 9, 8), seed=1)
    first = builder.conv(6, kernel=3, rows_kept=1, name="conv1")
    second = builder.conv(6, kernel=3, rows_kept=1, name="conv2")
    builder.add(second, first, name="add")
    builder.pool(2, name="maxpool")
    builder.pool(4, kind=PoolKind.AVG, name="avgpool")
    return requantized(builder.build(), seed=5)


def assert_all_equal(result) -> None:
    for layer in result.layers:
        assert layer.sim_cycles == layer.rtl_cycles, layer.to_dict()
        assert layer.outputs_match, layer.to_dict()
        assert layer.traces_match, layer.to_dict()
    assert result.passed


def test_krp_layers_stride_two_1x1_and_linear_match_exactly(runner):
    result = cross_check(mixed_network(), load_config("default").replace(**SMALL), runner=runner)
    assert [layer.name for layer in result.layers] == ["krp3x3", "krp3x3_s2", "dense1x1", "fc"]
    assert_all_equal(result)
    # 2 row groups x 3 channel groups: 2 input loads, 6 weight loads, 6 tiles, 6 stores
    assert result.layers[0].events == 20


def test_tight_ddr_bandwidth_with_stalls_and_one_byte_beats(runner):
    config = load_config("default").replace(
        **{
            **SMALL,
            "ddr.bytes_per_cycle": 1,
            "ddr.latency_cycles": 1,
            "ddr.burst_bytes": 3,
            "pe.tn": 4,
        }
    )
    result = cross_check(mixed_network(), config, runner=runner, seed=4)
    assert_all_equal(result)


@pytest.mark.parametrize(("tn", "tm"), [(4, 2), (2, 4), (2, 6)])
def test_pooling_and_residual_adds_run_in_vector_mode(tn, tm, runner):
    # tm < tn: a tile reads several input groups of its block (G_n = 2); tm > tn: a step reads
    # tm / tn channel blocks (2 or 3 copies per window row), and a tile's channels are one slice
    config = load_config("default").replace(**{**SMALL, "pe.tn": tn, "pe.tm": tm})
    result = cross_check(vector_network(), config, runner=runner)
    assert [layer.name for layer in result.layers] == ["conv1", "conv2", "add", "maxpool", "avgpool"]
    assert_all_equal(result)


def test_a_linear_layer_reads_the_unpadded_vector_of_the_linear_layer_before_it(runner):
    # a vector of F features lies in ceil(F / tn) blocks of tn, the padding after it; the next
    # linear layer reads F (C_in = F, as the simulator binds it): fc3 reads fc2's 5 features in
    # ceil(5 / tm) = 3 input groups, not the 8 bytes of its two blocks (4 groups)
    builder = NetworkBuilder((5, 3, 3), seed=2)
    builder.flatten(name="flatten")
    builder.linear(7, name="fc1")
    builder.linear(5, name="fc2")
    builder.linear(3, name="fc3")
    config = load_config("default").replace(**{**SMALL, "pe.tn": 4, "pe.tm": 2})
    result = cross_check(requantized(builder.build(), seed=3), config, runner=runner)
    assert [layer.name for layer in result.layers] == ["fc1", "fc2", "fc3"]
    assert_all_equal(result)


def test_vector_mode_under_one_byte_beats_and_the_shortest_latency(runner):
    config = load_config("default").replace(
        **{**SMALL, "ddr.bytes_per_cycle": 1, "ddr.latency_cycles": 1, "ddr.burst_bytes": 5, "pe.tm": 1}
    )
    assert_all_equal(cross_check(vector_network(), config, runner=runner, seed=7))


@pytest.mark.parametrize("kind", ["gsnq_shift", "mult_dsp", "mult_lut", "krp_gsnq"])
def test_every_kind_runs_krp_and_dense_layers(kind, runner):
    # dense kinds compute a KRP layer's zeros; KRP units run a dense layer one row per pass and a
    # KRP layer with 2 kept rows in 2 passes; the multiplier kinds run uniform codes
    builder = NetworkBuilder((5, 5, 4), seed=2)
    builder.conv(3, kernel=3, rows_kept=1, name="krp_as_dense")
    builder.conv(4, kernel=3, rows_kept=None, density=0.6, name="dense3x3")
    builder.conv(2, kernel=2, stride=2, padding=0, rows_kept=None, name="dense2x2_s2")
    builder.conv(3, kernel=3, rows_kept=2, name="two_rows")
    config = load_config("default").replace(
        **{
            **SMALL,
            "pe.kind": kind,
            "pe.tn": 4,
            "pe.tm": 2,
            "weight_bits": 5,
            "pe.pipeline_depth": RTL_MIN_PIPELINE_DEPTH,
        }
    )
    network = requantized(builder.build(), seed=3, uniform_bits=5 if kind.startswith("mult") else None)
    result = cross_check(network, config, runner=runner)
    assert_all_equal(result)


@pytest.mark.parametrize("kind", ["gsnq_shift", "mult_dsp", "mult_lut", "krp_gsnq"])
def test_kernels_larger_than_kernel_max_run_in_window_blocks(kind, runner):
    # 5x5, 7x7 stride 2 and 4x4 kernels on 3x3 units: ceil(K/3)^2 window blocks per pixel, each
    # with its passes (a KRP row outside a block row gives zero taps; a dense layer's rows on KRP
    # units go block row by block row, the last one shorter)
    builder = NetworkBuilder((3, 11, 10), seed=5)
    builder.conv(3, kernel=5, padding=2, rows_kept=1, name="k5_krp")
    builder.conv(4, kernel=7, stride=2, padding=3, rows_kept=None, density=0.7, name="k7_s2_dense")
    builder.conv(3, kernel=4, padding=1, rows_kept=2, name="k4_two_rows")
    builder.conv(2, kernel=5, padding=4, rows_kept=None, name="k5_pad4")
    config = load_config("default").replace(
        **{**SMALL, "pe.kind": kind, "pe.tn": 2, "pe.tm": 2, "weight_bits": 5, "pe.pipeline_depth": RTL_MIN_PIPELINE_DEPTH}
    )
    network = requantized(builder.build(), seed=4, uniform_bits=5 if kind.startswith("mult") else None)
    assert_all_equal(cross_check(network, config, runner=runner))


@pytest.mark.parametrize("kind", ["krp_gsnq", "mult_lut"])
def test_grouped_and_depthwise_convolutions(kind, runner):
    # depthwise (one input per output: a diagonal of units), grouped with a group per channel
    # block and with two groups per block, a channel multiplier, on 4 x 2 and 4 x 8 arrays
    builder = NetworkBuilder((8, 7, 6), seed=6)
    depthwise = builder.conv(8, kernel=3, groups=8, rows_kept=1, name="depthwise")
    builder.conv(8, kernel=3, stride=2, groups=2, rows_kept=None, name="grouped_block", source=depthwise)
    builder.conv(16, kernel=1, padding=0, groups=4, rows_kept=None, name="grouped_half_block")
    builder.conv(32, kernel=5, padding=2, groups=16, rows_kept=1, name="multiplier")
    for tm in (2, 8):
        config = load_config("default").replace(
            **{**SMALL, "pe.kind": kind, "pe.tn": 4, "pe.tm": tm, "weight_bits": 5, "pe.pipeline_depth": RTL_MIN_PIPELINE_DEPTH}
        )
        network = requantized(builder.build(), seed=5, uniform_bits=5 if kind.startswith("mult") else None)
        assert_all_equal(cross_check(network, config, runner=runner))


def test_every_pooling_window_form(runner):
    # ceil mode, padding counted or not (two divisors per axis), adaptive up- and down-sampling,
    # global pooling of a non-square map, adaptive max; windows larger than kernel_max
    builder = NetworkBuilder((3, 9, 7), seed=8)
    start = builder.conv(6, kernel=3, rows_kept=None, name="conv")
    builder.pool(3, stride=2, ceil_mode=True, name="max_ceil", source=start)
    builder.pool(3, stride=2, padding=1, kind=PoolKind.AVG, ceil_mode=True, name="avg_ceil_pad", source=start)
    builder.adaptive_pool((4, 3), name="avg_adaptive", source=start)
    builder.adaptive_pool((7, 7), name="avg_up", source=builder.adaptive_pool((2, 2), name="avg_down", source=start))
    builder.adaptive_pool((1, 1), name="avg_global", source=start)
    builder.adaptive_pool((2, 3), kind=PoolKind.MAX, name="max_adaptive", source=start)
    network = builder.build()
    layers = []
    for layer in network.layers:  # one bias for every area (the RTL's), spread multipliers
        if isinstance(layer, PoolLayer) and layer.requant is not None:
            count = len(layer.areas)
            layer = dataclasses.replace(layer, requant=Requant(np.arange(count) * 500 + 900, np.full(count, -3000),
                                                               11, -128, 127, 16))
        layers.append(layer)
    network = dataclasses.replace(network, layers=tuple(layers))
    config = load_config("default").replace(**{**SMALL, "pe.tn": 2, "pe.tm": 2, "pe.kernel_max": 2})
    assert_all_equal(cross_check(network, config, runner=runner, seed=3))


def test_windows_wider_than_fifteen_positions(runner):
    # a global average over an 18 x 17 map (an ONNX model's GlobalAveragePool), a 16 x 16 max pool,
    # a 17 x 17 convolution: up to 6 x 6 window blocks of the 3 x 3 units, 8-bit window fields
    builder = NetworkBuilder((3, 18, 17), seed=10)
    start = builder.conv(4, kernel=1, padding=0, rows_kept=None, name="conv")
    builder.adaptive_pool((1, 1), name="avg_global", source=start)
    builder.pool(16, stride=2, padding=3, name="max16", source=start)
    builder.conv(2, kernel=17, padding=8, rows_kept=1, name="k17", source=start)
    network = requantized(builder.build(), seed=6)
    config = load_config("default").replace(**{**SMALL, "pe.tn": 4, "pe.tm": 2})
    result = cross_check(network, config, runner=runner, seed=4)
    assert [layer.name for layer in result.layers] == ["conv", "avg_global", "max16", "k17"]
    assert_all_equal(result)


def test_concatenated_outputs_are_stored_into_their_concatenation(runner):
    builder = NetworkBuilder((4, 6, 5), seed=9)
    squeeze = builder.conv(4, kernel=1, padding=0, rows_kept=None, name="squeeze")
    left = builder.conv(4, kernel=1, padding=0, rows_kept=None, source=squeeze, name="expand1x1")
    right = builder.conv(6, kernel=3, rows_kept=1, source=squeeze, name="expand3x3")
    builder.pool(2, source=builder.concat([left, right], name="fire"), name="after")
    config = load_config("default").replace(**{**SMALL, "pe.tn": 4, "pe.tm": 2})
    network = requantized(builder.build(), seed=2)
    result = cross_check(network, config, runner=runner)
    assert [layer.name for layer in result.layers] == ["squeeze", "expand1x1", "expand3x3", "after"]
    assert_all_equal(result)


def random_case(seed: int) -> tuple[IntegerNetwork, object]:
    """A random configuration (kind, array, kernel_max, pipeline, DDR, buffers) and 1-3 layers."""
    rng = np.random.default_rng(seed)
    kind = str(rng.choice(["mult_dsp", "mult_lut", "gsnq_shift", "krp_gsnq"]))
    beat = int(rng.choice([1, 2, 4, 8, 32]))
    kernel_max = int(rng.choice([1, 2, 3]))
    tn = int(rng.choice([1, 2, 4]))
    weight_bits = int(rng.choice([4, 5]))
    config = load_config("default").replace(
        **{
            "pe.kind": kind,
            "pe.tn": tn,
            "pe.tm": int(rng.choice([d for d in (1, 2, 4) if tn % d == 0] + [2 * tn, 3 * tn])),
            "pe.kernel_max": kernel_max,
            "pe.pipeline_depth": int(rng.integers(RTL_MIN_PIPELINE_DEPTH, 20)),
            "ddr.bytes_per_cycle": beat,
            "ddr.latency_cycles": int(rng.integers(RTL_MIN_DDR_LATENCY, 10)),
            "ddr.burst_bytes": beat * int(rng.choice([1, 2, 3, 16])),
            "weight_bits": weight_bits,
            "buffers.input_bytes": int(rng.integers(200, 1200)),
            "buffers.weight_depth": 64,
            "buffers.output_depth": int(rng.integers(16, 64)),
        }
    )
    builder = NetworkBuilder(
        (int(rng.integers(1, 7)), int(rng.integers(3, 9)), int(rng.integers(3, 9))), seed=seed
    )
    for _ in range(int(rng.integers(1, 4))):
        kernel = int(rng.integers(1, kernel_max + 3))   # up to two past kernel_max: window blocks
        krp_unit = kind == "krp_gsnq"
        rows = 1 if (krp_unit and kernel > 1) else (None if rng.random() < 0.5 else 1)
        channels = builder.build().layers[-1].output.shape[0] if builder.build().layers else builder.build().input.shape[0]
        depthwise = rng.random() < 0.25
        builder.conv(
            channels if depthwise else int(rng.integers(1, 8)),
            groups=channels if depthwise else 1,
            kernel=kernel,
            stride=int(rng.integers(1, 3)),
            padding=int(rng.integers(kernel // 2, kernel)),
            rows_kept=rows,
            density=float(rng.choice([1.0, 0.5])),
        )
    # a vector layer: a residual add onto the last output, or a max / average pooling
    last = builder.build().layers[-1]
    channels, height, width = last.output.shape
    tail = str(rng.choice(["add", "max", "avg"]))
    if tail == "add":
        other = builder.conv(channels, kernel=1, padding=0, rows_kept=1 if kind == "krp_gsnq" else None,
                             source=last.name)
        builder.add(last.name, other)
    elif rng.random() < 0.3:
        builder.adaptive_pool((int(rng.integers(max(1, height // 2), 2 * height)),
                               int(rng.integers(max(1, width // 2), 2 * width))),
                              kind=PoolKind.MAX if tail == "max" else PoolKind.AVG, source=last.name)
    elif min(height, width) >= 2:
        kernel = int(rng.integers(2, min(height, width, 5) + 1))
        builder.pool(kernel, stride=int(rng.integers(1, kernel + 1)), padding=int(rng.integers(0, kernel // 2 + 1)),
                     kind=PoolKind.MAX if tail == "max" else PoolKind.AVG, source=last.name)
    return requantized(builder.build(), seed, uniform_bits=weight_bits if kind.startswith("mult") else None), config


@pytest.mark.slow
@pytest.mark.parametrize("seed", [9, 24, 32, 41, 57, 62, 66, 72, 75, 80])
def test_random_shapes_and_configurations(seed, runner):
    network, config = random_case(seed)
    assert_all_equal(cross_check(network, config, runner=runner, seed=seed))


def test_a_wrong_output_is_reported_with_its_first_mismatch(runner, monkeypatch):
    network = mixed_network()
    real_run = check_module.run

    def corrupted(net, image, activations):
        result = real_run(net, image, activations=activations)
        result.activations["dense1x1"][0, 2, 1, 0] += 1
        return result

    monkeypatch.setattr(check_module, "run", corrupted)
    result = cross_check(
        network, load_config("default").replace(**SMALL), runner=runner, layers=["dense1x1"]
    )
    (layer,) = result.layers
    assert not layer.outputs_match and not result.passed
    assert layer.first_mismatch["index"] == [2, 1, 0]
    assert layer.first_mismatch["expected"] == layer.first_mismatch["rtl"] + 1
    assert layer.traces_match and layer.sim_cycles == layer.rtl_cycles


def cli(argv: list[str]) -> dict:
    parser = argparse.ArgumentParser(prog="accelsim")
    commands = parser.add_subparsers(dest="command", required=True)
    rtl_cli.register(commands).add_argument("--json")
    args = parser.parse_args(argv)
    return args.handler(args)


def test_cli_checks_the_digits_workload(runner, tmp_path, capsys):
    settings = [f"--set={field}={value}" for field, value in SMALL.items()]
    report = cli(
        [
            "rtl",
            "check",
            "--workload",
            "digits",
            *settings,
            "--cache",
            str(runner.cache_dir),
            "--jobs",
            "2",
            "--keep",
            str(tmp_path / "run"),
        ]
    )
    printed = capsys.readouterr().out
    assert report["exit_status"] == 0 and report["passed"]
    names = [layer["name"] for layer in report["layers"]]
    assert names == ["features.0", "features.3", "features.6", "features.7", "features.10",
                     "classifier.0", "classifier.2"]
    for layer in report["layers"]:
        assert {"name", "sim_cycles", "rtl_cycles", "outputs_match", "traces_match"} <= set(layer)
        assert layer["sim_cycles"] == layer["rtl_cycles"] > 0
    assert "7 of 7 layers equal" in printed
    assert (tmp_path / "run" / "trace.txt").is_file()
    json.dumps(report)


def test_cli_rejects_a_flatten_before_building(runner, tmp_path):
    with pytest.raises(
        UnsupportedLayerError,
        match="'flatten' must be a convolution, linear, pooling or add layer to run on the RTL",
    ):
        cli(
            [
                "rtl",
                "check",
                "--workload",
                "digits",
                "--layers",
                "flatten",
                "--cache",
                str(tmp_path / "empty"),
            ]
        )
    assert not (tmp_path / "empty").exists()


@pytest.mark.slow
@pytest.mark.parametrize("workload", ["vgg16", "resnet56"])
def test_every_layer_of_the_cifar_workloads_matches_at_the_default_configuration(workload, runner):
    # The CI bar: every layer (convolutions, linear, pooling, residual adds) of VGG-16 and
    # ResNet-56 at CIFAR size on the default design point, run back to back on one build: zero
    # cycle difference, outputs bit for bit, traces event for event.
    network = workload_network(workload)
    result = cross_check(network, load_config("default"), runner=runner)
    runnable = [layer.name for layer in network.layers if not isinstance(layer, FlattenLayer)]
    assert [layer.name for layer in result.layers] == runnable
    vector = [layer for layer in network.layers if isinstance(layer, (PoolLayer, AddLayer))]
    assert len(vector) == {"vgg16": 5, "resnet56": 28}[workload]
    assert_all_equal(result)


@pytest.mark.slow
@pytest.mark.parametrize(("workload", "kinds"), [
    ("resnet8", {"ConvLayer": 9, "AddLayer": 3, "PoolLayer": 1, "LinearLayer": 1}),
    ("mobilenet_v1_025", {"ConvLayer": 27, "PoolLayer": 1, "LinearLayer": 1}),
    ("squeezenet1_1", {"ConvLayer": 26, "PoolLayer": 4}),
    ("resnet18", {"ConvLayer": 20, "AddLayer": 8, "PoolLayer": 2, "LinearLayer": 1}),
    ("mobilenet_v2", {"ConvLayer": 52, "AddLayer": 10, "PoolLayer": 1, "LinearLayer": 1}),
])
def test_every_layer_of_the_new_networks_matches_at_the_default_configuration(workload, kinds, runner):
    # Issue 14's networks on the default design point: depthwise and grouped convolutions,
    # ReLU6 folded into requantizations, Fire concatenations stored in place, ceil-mode and
    # adaptive pooling; every layer the RTL runs (all but flattens and concatenations).
    network = workload_network(workload)
    result = cross_check(network, load_config("default"), runner=runner)
    runnable = [layer for layer in network.layers if not isinstance(layer, (FlattenLayer, ConcatLayer))]
    assert [layer.name for layer in result.layers] == [layer.name for layer in runnable]
    assert dict(Counter(type(layer).__name__ for layer in runnable)) == kinds
    assert_all_equal(result)


def test_standalone_batchnorms_and_densenet_concatenations_lowered_from_torch(runner):
    """Pre-activation networks lowered from torch at the default design point: the BatchNorm
    layers (depthwise 1x1, weights 1), a max pooling and convolutions stored into nested
    concatenations; a layer reading a concatenated tensor on its own is refused by name."""
    from int_reference import make_power_of_two
    from pre_activation import DenseBlock, PreActivation

    from accelsim.integer import lower
    from accelsim.sim.plan import concat_slices

    config = load_config("default")
    data = np.random.default_rng(0).uniform(0.0, 1.0, (4, 3, 12, 12)).astype(np.float32)
    dense = lower(make_power_of_two(DenseBlock(growth=8)), data)
    places = concat_slices(dense, config)
    slices = [layer.name for layer in dense.layers if getattr(layer, "input", None) in places]
    assert slices == ["norms.0", "norms.1", "norms.2"]
    with pytest.raises(UnsupportedLayerError, match=r"layer 'norms.0' must read whole tensors for the RTL, not "
                                                    r"'pool0', a slice of concatenation 'cat_3'"):
        cross_check(dense, config, runner=runner, layers=["norms.0"])
    runnable = [layer.name for layer in dense.layers if not isinstance(layer, (FlattenLayer, ConcatLayer))
                and layer.name not in slices]
    assert {"pool0", "convs.0", "transition.0", "norm5"} <= set(runnable)
    assert_all_equal(cross_check(dense, config, runner=runner, layers=runnable))
    pre = lower(make_power_of_two(PreActivation()), data)
    result = cross_check(pre, config, runner=runner)
    assert [layer.name for layer in result.layers] == ["conv0", "bn1", "conv1", "conv2", "add", "bn",
                                                       "adaptive_avg_pool2d", "fc"]
    assert_all_equal(result)
