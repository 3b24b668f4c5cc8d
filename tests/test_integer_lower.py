"""Lowering torch models to the integer network: patterns, scales, KRP rows, widths, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from int_reference import fake_quant_forward, make_power_of_two, reference_run
from torch import nn

import workloads
from accelsim.errors import AccelsimError, ConfigError, UnsupportedLayerError
from accelsim.integer import (
    AddLayer,
    ConvLayer,
    FlattenLayer,
    LinearLayer,
    PoolAxis,
    PoolKind,
    PoolLayer,
    dequantize,
    lower,
    quantize_input,
    run,
)
from accelsim.integer.lower import kept_rows
from accelsim.integer.quant import frac_bits_for, gsnq_bits, integer_weights, signed_width


def calibration(shape: tuple[int, ...], n: int = 6, seed: int = 0) -> np.ndarray:
    """Seeded uniform float inputs in [0, 1)."""
    return np.random.default_rng(seed).uniform(0.0, 1.0, (n, *shape)).astype(np.float32)


class Functional(nn.Module):
    """A residual CNN written with functional calls and a view-flatten."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(8)
        self.conv2 = nn.Conv2d(8, 8, 3, padding=1, bias=False)
        self.drop = nn.Dropout(0.5)
        self.fc = nn.Linear(8, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.bn1(self.conv1(x)))
        z = torch.add(self.conv2(y), y).relu()
        z = F.max_pool2d(z, 2)
        z = F.adaptive_avg_pool2d(z, 1)
        return self.fc(self.drop(z.view(z.size(0), -1)))


def test_functional_patterns_lower_and_match_reference() -> None:
    model = make_power_of_two(Functional())
    network = lower(model, calibration((3, 10, 10)))
    kinds = [type(layer).__name__ for layer in network.layers]
    assert kinds == [
        "ConvLayer",
        "ConvLayer",
        "AddLayer",
        "PoolLayer",
        "PoolLayer",
        "FlattenLayer",
        "LinearLayer",
    ]
    conv1, conv2, add = network.layers[:3]
    assert isinstance(conv1, ConvLayer) and conv1.requant.lo == 0  # BN + ReLU folded
    assert isinstance(conv2, ConvLayer) and conv2.requant.lo == conv2.output.lo  # no ReLU
    assert (
        isinstance(add, AddLayer) and add.inputs == (conv2.name, conv1.name) and add.requant.lo == 0
    )
    pools = [layer for layer in network.layers if isinstance(layer, PoolLayer)]
    assert [p.kind for p in pools] == [PoolKind.MAX, PoolKind.AVG] and pools[1].rows == pools[1].cols == PoolAxis.adaptive(5, 1)
    assert pools[0].output.frac_bits == add.output.frac_bits  # max pooling keeps the scale
    x = quantize_input(network, calibration((3, 10, 10), n=3, seed=1))
    result = run(network, x, activations=True)
    expected = reference_run(network, x)
    for name, value in result.activations.items():
        np.testing.assert_array_equal(value.astype(np.int64), expected[name].numpy(), err_msg=name)


def test_add_aligns_scales_with_left_shifts() -> None:
    model = make_power_of_two(Functional())
    network = lower(model, calibration((3, 10, 10)))
    add = next(layer for layer in network.layers if isinstance(layer, AddLayer))
    frac = [network.tensor(name).frac_bits for name in add.inputs]
    fine = max(frac)
    assert (add.shift_a, add.shift_b) == (fine - frac[0], fine - frac[1])
    assert np.all(
        np.ldexp(add.requant.multiplier.astype(float), -add.requant.shift)
        == 2.0 ** (add.output.frac_bits - fine)
    )


@pytest.mark.parametrize(
    ("module", "kind"),
    [
        (nn.Conv2d(4, 4, 3, dilation=2), "Conv2d"),
        (nn.Conv2d(4, 4, (3, 1)), "Conv2d"),
        (nn.Sigmoid(), "Sigmoid"),
        (nn.GELU(), "GELU"),
        (nn.Upsample(scale_factor=2), "Upsample"),
    ],
)
def test_unsupported_layers_are_named(module: nn.Module, kind: str) -> None:
    model = nn.Sequential(nn.Conv2d(4, 4, 1), module, nn.Flatten(), nn.LazyLinear(2))
    model(torch.zeros(1, 4, 8, 8))
    make_power_of_two(model)
    with pytest.raises(UnsupportedLayerError, match=rf"layer '1' \({kind}\)"):
        lower(model, calibration((4, 8, 8)))


def test_dilated_and_non_square_messages() -> None:
    for conv, words in (
        (nn.Conv2d(4, 4, 3, dilation=2), r"layer '0' \(Conv2d\) must have dilation 1, not \(2, 2\) \(dilated"),
        (nn.Conv2d(4, 4, (3, 1)), r"layer '0' \(Conv2d\) must have a square kernel, not \(3, 1\) \(non-square"),
        (nn.Conv2d(4, 4, 3, groups=2, dilation=2), "dilation 1"),
    ):
        model = make_power_of_two(nn.Sequential(conv, nn.Flatten()))
        with pytest.raises(UnsupportedLayerError, match=words):
            lower(model, calibration((4, 8, 8)))


class WithLstm(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lstm = nn.LSTM(8, 4, batch_first=True)
        self.fc = nn.Linear(4, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y, _ = self.lstm(x)
        return self.fc(y)


def test_lstm_is_unsupported() -> None:
    model = make_power_of_two(WithLstm())
    with pytest.raises(UnsupportedLayerError, match=r"layer 'lstm' \(LSTM\)"):
        lower(model, calibration((5, 8)))


def test_weights_must_be_powers_of_two() -> None:
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Flatten())
    with pytest.raises(
        UnsupportedLayerError,
        match=r"layer '0' weights must be GSNQ-quantized \(0 or \+-2\^k\); compress the model first",
    ):
        lower(model, calibration((3, 6, 6)))


def test_bad_arguments() -> None:
    model = make_power_of_two(nn.Sequential(nn.Conv2d(3, 4, 3), nn.Flatten()))
    with pytest.raises(ConfigError, match="act_bits must be an integer in 4..16, not 3"):
        lower(model, calibration((3, 6, 6)), act_bits=3)
    with pytest.raises(ConfigError, match="multiplier_bits must be an integer in 2..32, not 40"):
        lower(model, calibration((3, 6, 6)), multiplier_bits=40)
    with pytest.raises(ConfigError, match="calibration must be a float numpy array"):
        lower(model, np.zeros((2, 3, 6, 6), np.int8))
    with pytest.raises(ConfigError, match="calibration must fit the model's input"):
        lower(model, calibration((5, 6, 6)))
    with pytest.raises(ConfigError, match="model must be a torch.nn.Module"):
        lower("vgg16", calibration((3, 6, 6)))


def test_frac_bits_rule() -> None:
    assert frac_bits_for(1.0, 8) == 6  # 1.0 * 2**6 = 64 <= 127 < 128
    assert frac_bits_for(0.99, 8) == 7  # 126.72 <= 127
    assert frac_bits_for(127.0, 8) == 0
    assert frac_bits_for(127.5, 8) == -1
    assert frac_bits_for(3.0, 4) == 1  # hi = 7
    assert frac_bits_for(0.0, 8) == 7
    for value in np.random.default_rng(0).uniform(1e-3, 1e3, 50):
        f = frac_bits_for(float(value), 8)
        assert value * 2.0**f <= 127 < value * 2.0 ** (f + 1)


def test_scales_come_from_calibration() -> None:
    model = make_power_of_two(nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten()))
    data = calibration((1, 6, 6))
    data[0, 0, 0, 0] = 1.0
    network = lower(model, data)
    assert network.input.frac_bits == 6
    with torch.no_grad():
        peak = float(model(torch.from_numpy(data)).abs().max())
    assert network.layers[0].output.frac_bits == frac_bits_for(peak, 8)


def test_integer_weights_and_gsnq_bits() -> None:
    w = np.array([[0.5, -0.125, 0.0, 2.0**-4]])
    weights = integer_weights("fc", w)
    assert weights.exponent == -4
    np.testing.assert_array_equal(weights.ints, [[8, -2, 0, 1]])
    assert weights.levels_pos == (-4, -1) and weights.levels_neg == (-3,)
    assert gsnq_bits(weights) == 3  # 1 + 4 + 1 = 6 codes <= 8
    assert gsnq_bits(integer_weights("fc", np.array([1.0, 0.5]))) == 2


def test_kept_rows_rule() -> None:
    ints = np.zeros((2, 2, 3, 3), np.int64)
    ints[0, 0, 2] = [1, 0, -2]
    ints[0, 1, 1, 0] = 4
    ints[1, 0, 0, 1] = 1
    ints[1, 0, 2, 2] = -1  # two non-zero rows: R = 2
    rows = kept_rows("c", ints, None)
    assert rows is not None and rows.shape == (2, 2, 2)
    np.testing.assert_array_equal(rows[0, 0], [0, 2])  # row 2 plus the lowest zero row
    np.testing.assert_array_equal(rows[0, 1], [0, 1])
    np.testing.assert_array_equal(rows[1, 0], [0, 2])
    np.testing.assert_array_equal(rows[1, 1], [0, 1])  # all-zero kernel: rows 0..R-1
    assert kept_rows("c", np.ones((1, 1, 3, 3), np.int64), None) is None  # dense
    assert kept_rows("c", np.ones((1, 1, 1, 1), np.int64), None) is None  # 1x1
    assert kept_rows("c", np.zeros((1, 1, 3, 3), np.int64), None).shape == (1, 1, 1)
    with pytest.raises(UnsupportedLayerError, match="outside the kept rows"):
        kept_rows("c", ints, np.zeros((2, 2, 1), np.int64))


def test_acc_bits_and_requant_widths() -> None:
    network = lower(
        make_power_of_two(workloads.build("digits", seed=0)),
        calibration((1, 8, 8)),
        multiplier_bits=12,
    )
    for layer in network.layers:
        if isinstance(layer, (ConvLayer, LinearLayer)):
            flat = layer.weights.reshape(layer.weights.shape[0], -1)
            source = network.tensor(layer.input)
            lo = (
                0 if layer.input != "input" else source.lo
            )  # digits: every inner tensor follows a ReLU
            top = max(
                int(source.hi * flat[o][flat[o] > 0].sum() - lo * flat[o][flat[o] < 0].sum())
                for o in range(len(flat))
            )
            bottom = min(
                int(lo * flat[o][flat[o] > 0].sum() - source.hi * flat[o][flat[o] < 0].sum())
                for o in range(len(flat))
            )
            assert layer.acc_bits == signed_width(min(bottom, 0), max(top, 0)), layer.name
            m = np.abs(layer.requant.multiplier)
            assert m.max() <= 2**11 - 1 and m.max() > 2**10 - 1, layer.name  # uses the 12-bit width


@pytest.mark.parametrize("name", ["digits", "vgg16", "alexnet"])
def test_integer_outputs_track_the_float_model(name: str) -> None:
    model = make_power_of_two(workloads.build(name, seed=0))
    shape = workloads.info(name).input_shape
    data = calibration(shape, n=16, seed=3)
    network = lower(model, data)
    x = data[:4]
    spec = network.tensor(network.output)
    integer = dequantize(spec, run(network, quantize_input(network, x)).outputs)
    fake = fake_quant_forward(model, network, x).numpy()
    with torch.no_grad():
        real = model(torch.from_numpy(x)).numpy()
    lsb = 2.0**-spec.frac_bits
    assert np.abs(integer - fake).max() <= 4 * lsb  # a few requantization rounding steps
    assert np.abs(integer - real).max() <= 0.05 * np.abs(real).max() + 4 * lsb


def test_errors_are_accelsim_errors() -> None:
    assert issubclass(UnsupportedLayerError, AccelsimError)
    network = lower(
        make_power_of_two(nn.Sequential(nn.Conv2d(1, 1, 1), nn.Flatten())), calibration((1, 2, 2))
    )
    assert isinstance(network.layers[-1], FlattenLayer)


class MlpHead(nn.Module):
    """Conv, then Linear -> BatchNorm1d -> ReLU -> functional dropout -> Linear."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(2, 3, 3, stride=2)
        self.fc1 = nn.Linear(27, 6)
        self.bn = nn.BatchNorm1d(6)
        self.fc2 = nn.Linear(6, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.bn(self.fc1(torch.flatten(self.conv(x), 1))).relu()
        return self.fc2(F.dropout(y, 0.3, self.training))


def test_linear_batchnorm1d_folds_and_matches_reference() -> None:
    model = make_power_of_two(MlpHead())
    data = calibration((2, 7, 7), n=16, seed=5)
    network = lower(model, data)
    assert [type(layer).__name__ for layer in network.layers] == [
        "ConvLayer",
        "FlattenLayer",
        "LinearLayer",
        "LinearLayer",
    ]
    fc1 = network.layer("fc1")
    assert isinstance(fc1, LinearLayer) and fc1.requant.lo == 0  # BN1d and ReLU folded
    x = quantize_input(network, data)
    result = run(network, x, activations=True)
    expected = reference_run(network, x)
    for name, value in result.activations.items():
        np.testing.assert_array_equal(value.astype(np.int64), expected[name].numpy(), err_msg=name)
    spec = network.tensor(network.output)
    fake = fake_quant_forward(model, network, data).numpy()
    assert np.abs(dequantize(spec, result.outputs) - fake).max() <= 4 * 2.0**-spec.frac_bits


@pytest.mark.parametrize("offset", [3.0, -200.0, 1e6])
def test_requantization_bias_fits_the_hardware_and_stays_accurate(offset: float) -> None:
    """A tiny scale asks for a shift of ~60 bits; the bias, scaled by the same shift, must still fit
    the requantization lanes' 48 signed bits, and y = acc * scale + offset stays within an output step."""
    from accelsim.hw.resources import REQUANT_BIAS_BITS
    from accelsim.integer.graph import TensorSpec
    from accelsim.integer.quant import make_requant

    scale = np.array([3.1e-15, 1.7e-14])
    output = TensorSpec(shape=(2,), bits=8, frac_bits=0)
    requant = make_requant("fc", scale, np.full(2, offset), (-(1 << 30), 1 << 30), output,
                           relu=False, multiplier_bits=16)
    assert int(np.max(np.abs(requant.bias))) < 1 << (REQUANT_BIAS_BITS - 1)
    for acc in (-(1 << 30), -12345, 0, 777, 1 << 30):
        exact = acc * scale + offset
        value = (acc * requant.multiplier.astype(object) + requant.bias.astype(object)
                 + (1 << (requant.shift - 1))) >> requant.shift
        assert np.all(np.abs(value.astype(float) - exact) <= 0.5 + 1e-9), (acc, value, exact)
