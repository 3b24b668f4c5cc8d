"""The Numba datapath equals the torch reference of the integer semantics bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from int_reference import conv_acc, make_power_of_two, reference_run
from torch import nn

import workloads
from accelsim.errors import ConfigError
from accelsim.integer import ConvLayer, lower, quantize_input, run
from accelsim.integer.execute import WIDE_MIN, accumulator_dtype, conv_taps
from accelsim.integer.graph import IntegerNetwork, Requant, TensorSpec
from accelsim.integer.quant import dot_range, signed_width


def assert_bit_exact(network: IntegerNetwork, x: np.ndarray) -> None:
    """Every layer's activations equal the reference's."""
    result = run(network, x, activations=True)
    expected = reference_run(network, x)
    assert result.activations is not None
    for layer in network.layers:
        got = result.activations[layer.name]
        assert got.shape == (x.shape[0], *layer.output.shape), layer.name
        np.testing.assert_array_equal(
            got.astype(np.int64), expected[layer.name].numpy(), err_msg=layer.name
        )
    np.testing.assert_array_equal(result.outputs, result.activations[network.output])


def lowered_workload(name: str, rows_kept: int = 1) -> tuple[IntegerNetwork, np.ndarray]:
    """A seeded workload made power-of-two and KRP-pruned, lowered; and a 2-image input."""
    model = make_power_of_two(workloads.build(name, seed=0), rows_kept=rows_kept)
    shape = workloads.info(name).input_shape
    calibration = np.random.default_rng(1).uniform(0.0, 1.0, (8, *shape)).astype(np.float32)
    network = lower(model, calibration)
    return network, quantize_input(network, calibration[:2])


@pytest.mark.parametrize("name", ["digits", "alexnet"])
def test_small_workloads_bit_exact(name: str) -> None:
    network, x = lowered_workload(name)
    convs = [layer for layer in network.layers if isinstance(layer, ConvLayer)]
    assert convs and all(layer.is_krp == (layer.kernel >= 2) for layer in convs)
    assert_bit_exact(network, x)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["vgg16", "resnet56", "resnet110"])
def test_cifar_workloads_bit_exact(name: str) -> None:
    network, x = lowered_workload(name)
    assert_bit_exact(network, x)


def test_dense_and_two_row_krp_bit_exact() -> None:
    for rows in (2, 3):
        network, x = lowered_workload("digits", rows_kept=rows)
        convs = [layer for layer in network.layers if isinstance(layer, ConvLayer)]
        assert all(layer.rows_kept == rows and layer.is_krp == (rows < 3) for layer in convs)
        assert_bit_exact(network, x)


class _Block(nn.Module):
    """conv [bn] [relu] [pool] -> flatten -> linear, with the shapes hypothesis draws."""

    def __init__(
        self,
        c_in: int,
        c_out: int,
        k: int,
        stride: int,
        padding: int,
        bn: bool,
        relu: bool,
        pool: str,
        bias: bool,
    ) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, k, stride=stride, padding=padding, bias=bias)
        self.bn = nn.BatchNorm2d(c_out) if bn else nn.Identity()
        self.relu = nn.ReLU() if relu else nn.Identity()
        self.pool = {
            "max": nn.MaxPool2d(2),
            "avg": nn.AvgPool2d(2),
            "none": nn.Identity(),
            "maxpad": nn.MaxPool2d(3, stride=2, padding=1),
        }[pool]
        self.fc = nn.LazyLinear(5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(self.pool(self.relu(self.bn(self.conv(x)))), 1))


@settings(max_examples=30, deadline=None)
@given(
    c_in=st.integers(1, 19),
    c_out=st.integers(1, 21),
    k=st.sampled_from([1, 3, 5]),
    stride=st.sampled_from([1, 2]),
    pad=st.booleans(),
    size=st.integers(5, 21),
    rows=st.sampled_from([1, 2, 5]),
    bn=st.booleans(),
    relu=st.booleans(),
    pool=st.sampled_from(["max", "avg", "none", "maxpad"]),
    bias=st.booleans(),
    batch=st.integers(1, 3),
    act_bits=st.sampled_from([4, 8, 12, 16]),
    seed=st.integers(0, 2**16),
)
def test_random_layer_shapes_bit_exact(
    c_in: int,
    c_out: int,
    k: int,
    stride: int,
    pad: bool,
    size: int,
    rows: int,
    bn: bool,
    relu: bool,
    pool: str,
    bias: bool,
    batch: int,
    act_bits: int,
    seed: int,
) -> None:
    torch.manual_seed(seed)
    padding = k // 2 if pad else 0
    out_size = (size + 2 * padding - k) // stride + 1
    if pool != "none" and out_size < 3:
        pool = "none"
    model = _Block(c_in, c_out, k, stride, padding, bn, relu, pool, bias)
    rng = np.random.default_rng(seed)
    calibration = rng.normal(0.0, 1.0, (4, c_in, size, size)).astype(np.float32)
    model(torch.from_numpy(calibration))  # materialize the lazy linear layer
    make_power_of_two(model, rows_kept=rows, seed=seed)
    network = lower(model, calibration, act_bits=act_bits)
    conv = network.layer("conv")
    assert isinstance(conv, ConvLayer)
    assert conv.is_krp == (k >= 2 and rows < k)
    x = rng.integers(network.input.lo, network.input.hi + 1, (batch, c_in, size, size))
    assert_bit_exact(network, x)


@pytest.mark.parametrize(
    ("k", "padding", "shape"),
    [(3, 1, (32, 35)), (5, 2, (33, 32)), (1, 0, (32, 32)), (3, 0, (34, 36))],
)
def test_wide_layout_bit_exact(k: int, padding: int, shape: tuple[int, int]) -> None:
    """Stride-1 convolutions on maps of WIDE_MIN or more read the padded input directly."""
    torch.manual_seed(k)
    model = make_power_of_two(
        nn.Sequential(
            nn.Conv2d(5, 7, k, padding=padding),
            nn.BatchNorm2d(7),
            nn.ReLU(),
            nn.Conv2d(7, 3, k, padding=padding),
        ),
        rows_kept=1,
    )
    calibration = np.random.default_rng(k).normal(0.0, 1.0, (3, 5, *shape)).astype(np.float32)
    network = lower(model, calibration)
    convs = [layer for layer in network.layers if isinstance(layer, ConvLayer)]
    assert all(
        conv_taps(layer).wide == (min(layer.out_h, layer.out_w) >= WIDE_MIN) for layer in convs
    )
    assert conv_taps(convs[0]).wide
    assert_bit_exact(network, quantize_input(network, calibration))


def _single_conv(weights: np.ndarray, acc_bits: int) -> ConvLayer:
    """A conv layer with an identity requantization, so the accumulator is its output."""
    oc, ic, k, _ = weights.shape
    identity = Requant(
        np.ones(oc, np.int64), np.zeros(oc, np.int64), 0, -(1 << 62), (1 << 62) - 1, 2
    )
    output = TensorSpec((oc, 1, 1), 64, 0)
    return ConvLayer(
        "conv", "input", output, ic, oc, k, k, k, 1, 0, weights, None, 4, acc_bits, identity
    )


@pytest.mark.parametrize("max_shift", [3, 20])
def test_worst_case_accumulator(max_shift: int) -> None:
    """Inputs at lo/hi matching the weight signs reach the computed worst case without wrapping."""
    rng = np.random.default_rng(max_shift)
    signs = rng.choice([-1, 1], size=(6, 37, 3, 3))
    weights = (signs * (1 << rng.integers(0, max_shift + 1, size=signs.shape))).astype(np.int64)
    weights[:, :, 0, :] = 0  # a zero row, as KRP leaves
    spec = TensorSpec((37, 3, 3), 8, 0)
    low, high = dot_range(weights, spec.lo, spec.hi)
    acc_bits = signed_width(low, high)
    assert (max_shift > 9) == (acc_bits > 32)  # both datapath accumulator widths are exercised
    layer = _single_conv(weights, acc_bits)
    assert accumulator_dtype(layer.acc_bits) == (np.int64 if acc_bits > 32 else np.int32)
    network = IntegerNetwork(spec, (layer,), "conv")
    extremes = []
    for o in range(6):
        for sign in (1, -1):
            x = np.where(weights[o] * sign > 0, spec.hi, spec.lo)[None].astype(np.int8)
            acc = run(network, x).outputs.astype(np.int64)
            reference = conv_acc(torch.from_numpy(x.astype(np.int64)), weights, 1, 0).numpy()
            np.testing.assert_array_equal(acc, reference)
            assert acc[0, o, 0, 0] == int((weights[o] * x[0].astype(np.int64)).sum())
            extremes.append(int(acc[0, o, 0, 0]))
    # The computed range is reached (exact), and acc_bits is the tightest width holding it.
    assert max(extremes) == high and min(extremes) == low
    assert -(1 << (acc_bits - 1)) <= low and high <= (1 << (acc_bits - 1)) - 1
    assert low < -(1 << (acc_bits - 2)) or high > (1 << (acc_bits - 2)) - 1


def test_worst_case_inputs_through_a_lowered_layer() -> None:
    """A lowered conv + BN layer fed its own worst cases matches the reference after requant."""
    torch.manual_seed(3)
    model = make_power_of_two(nn.Sequential(nn.Conv2d(9, 5, 3), nn.BatchNorm2d(5), nn.Flatten()))
    data = np.random.default_rng(3).normal(0.0, 1.0, (8, 9, 3, 3)).astype(np.float32)
    network = lower(model, data)
    conv = network.layer("0")
    assert isinstance(conv, ConvLayer)
    spec = network.input
    low, high = dot_range(conv.weights, spec.lo, spec.hi)
    assert conv.acc_bits == signed_width(low, high)
    x = np.concatenate(
        [
            np.where(conv.weights[o] * s > 0, spec.hi, spec.lo)[None]
            for o in range(5)
            for s in (1, -1)
        ]
    )
    assert_bit_exact(network, x.astype(np.int8))


def test_conv_taps_cover_only_kept_rows() -> None:
    network, _ = lowered_workload("digits")
    conv = next(
        layer for layer in network.layers if isinstance(layer, ConvLayer) and layer.in_channels > 1
    )
    taps = conv_taps(conv)
    k = conv.kernel
    assert not taps.wide  # 8x8 digits maps use the patch layout
    real = taps.row != conv.in_channels * k * k
    assert real.sum() == np.count_nonzero(conv.weights)
    oc = np.repeat(np.arange(conv.out_channels), np.diff(taps.ptr))
    ic, ky, kx = taps.row // (k * k), (taps.row // k) % k, taps.row % k
    kept = np.zeros(conv.weights.shape[:3], bool)
    np.put_along_axis(kept, conv.kept_rows, True, axis=2)
    assert np.all(kept[oc[real], ic[real], ky[real]])  # only kept rows are computed
    weights = conv.weights[oc[real], ic[real], ky[real], kx[real]]
    np.testing.assert_array_equal(np.abs(weights), 1 << taps.shift[real])
    negative = np.arange(len(taps.row)) >= taps.mid[oc]  # positive taps first, then negative
    assert np.all((weights < 0) == negative[real])
    assert np.all(np.diff(taps.ptr) % 3 == 0) and np.all((taps.mid - taps.ptr[:-1]) % 3 == 0)


def test_input_validation() -> None:
    network, x = lowered_workload("digits")
    with pytest.raises(
        ConfigError, match=r"input must have shape \(N, 1, 8, 8\), not \(2, 1, 7, 8\)"
    ):
        run(network, np.zeros((2, 1, 7, 8), np.int8))
    with pytest.raises(ConfigError, match="must be an integer array"):
        run(network, x.astype(np.float32))
    with pytest.raises(ConfigError, match=r"input values must be in \[-128, 127\]"):
        run(network, x.astype(np.int16) + 300)
    with pytest.raises(ConfigError, match="input must be a numpy array"):
        run(network, [[1]])  # type: ignore[arg-type]
    np.testing.assert_array_equal(run(network, x.astype(np.int64)).outputs, run(network, x).outputs)
