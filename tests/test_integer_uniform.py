"""Uniform-quantized layers through lowering and the Numba datapath, bit for bit against the reference."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from int_reference import conv_acc, fake_quant_forward, reference_run
from torch import nn

import workloads
from accelsim.compression import (
    CompressedModel,
    CompressionConfig,
    MaskedModel,
    RetrainConfig,
    TrainingData,
    UniformLevels,
    compress,
    krp_prune,
    load_network,
    save_network,
    train,
    uniform_quantize,
)
from accelsim.errors import UnsupportedLayerError
from accelsim.integer import (
    ConvLayer,
    IntegerNetwork,
    LinearLayer,
    WeightFormat,
    lower,
    quantize_input,
    run,
)
from accelsim.integer.execute import power_of_two_terms
from accelsim.integer.graph import Requant, TensorSpec
from accelsim.integer.quant import dot_range, signed_width

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def assert_bit_exact(network: IntegerNetwork, x: np.ndarray) -> None:
    """Every layer's activations equal the torch reference's."""
    result = run(network, x, activations=True)
    expected = reference_run(network, x)
    assert result.activations is not None
    for layer in network.layers:
        np.testing.assert_array_equal(
            result.activations[layer.name].astype(np.int64), expected[layer.name].numpy(), err_msg=layer.name
        )


def check_uniform_layers(network: IntegerNetwork, compressed: CompressedModel | MaskedModel) -> None:
    """Every conv / linear layer holds its record's codes (times the step: the float weights), bits and format."""
    for record in compressed.records:
        layer = network.layer(record.name)
        assert isinstance(layer, (ConvLayer, LinearLayer)) and isinstance(record.levels, UniformLevels)
        assert layer.weight_format is WeightFormat.UNIFORM and layer.weight_bits == record.levels.bits
        assert np.abs(layer.weights).max() <= 2 ** (record.levels.bits - 1) - 1
        weight = compressed.model.get_submodule(record.name).weight.detach().double().numpy()
        np.testing.assert_array_equal(layer.weights * record.levels.step, weight)


@pytest.mark.parametrize(
    "values",
    [np.array([7, -7, 1, -1, 2, 6, -5, 127, -128]), np.array([1 << 62, -(1 << 40), 8]), np.zeros(0, np.int64)],
)
def test_power_of_two_terms_sum_to_the_weights(values: np.ndarray) -> None:
    owner, terms = power_of_two_terms(values.astype(np.int64))
    assert np.all(np.diff(owner) >= 0)
    np.testing.assert_array_equal(np.bincount(owner, terms, minlength=values.size).astype(np.int64), values)
    magnitude = np.abs(terms)
    assert np.all(magnitude & (magnitude - 1) == 0) and np.all(np.sign(terms) == np.sign(values[owner]))
    counts = np.bincount(owner, minlength=values.size)
    np.testing.assert_array_equal(counts, [abs(int(v)).bit_count() for v in values])


@pytest.fixture(scope="module")
def digits_uniform() -> tuple[CompressedModel, TrainingData]:
    """The digits CNN trained with its recipe, then KRP + 4-bit uniform compressed with retraining."""
    torch.manual_seed(0)
    data = TrainingData.load("digits")
    model = train(workloads.build("digits", seed=0), data, workloads.info("digits").recipe)
    config = CompressionConfig(bits=4, weights="uniform", retrain=RetrainConfig(epochs=2))
    return compress(model, config, workload="digits", data=data), data


def test_digits_uniform_bit_exact_accurate_and_file_round_trip(
    digits_uniform: tuple[CompressedModel, TrainingData], tmp_path: object
) -> None:
    compressed, data = digits_uniform
    network = lower(compressed, data.x_train.numpy())
    check_uniform_layers(network, compressed)
    assert all(layer.is_krp for layer in network.layers if isinstance(layer, ConvLayer))
    x_test, y_test = data.x_test.numpy(), data.y_test.numpy()
    x = quantize_input(network, x_test)
    assert_bit_exact(network, x[:16])
    integer = run(network, x).outputs.argmax(axis=1)
    fake = fake_quant_forward(compressed.model, network, x_test).argmax(dim=1).numpy()
    integer_acc, fake_acc = float(np.mean(integer == y_test)), float(np.mean(fake == y_test))
    print(f"digits KRP + uniform 4-bit top-1: integer {100 * integer_acc:.2f}%, fake-quantized {100 * fake_acc:.2f}%")
    assert abs(integer_acc - fake_acc) <= 0.005 and integer_acc > 0.9
    path = f"{tmp_path}/digits-uniform.krp"
    save_network(compressed, path)
    reloaded = lower(load_network(path), data.x_train.numpy())
    np.testing.assert_array_equal(run(reloaded, x).outputs, run(network, x).outputs)


def test_step_is_folded_into_the_requantization() -> None:
    torch.manual_seed(1)
    model = nn.Sequential(nn.Conv2d(3, 4, 3, bias=False), nn.Flatten(), nn.Linear(4 * 4 * 4, 3, bias=False))
    state = uniform_quantize(krp_prune(model), 5)
    calibration = np.random.default_rng(1).normal(0.0, 1.0, (6, 3, 6, 6)).astype(np.float32)
    network = lower(state, calibration, multiplier_bits=24)
    f_in = network.input.frac_bits
    for record in state.records:
        layer = network.layer(record.name)
        assert isinstance(layer, (ConvLayer, LinearLayer))
        source = network.tensor(layer.input).frac_bits
        scale = record.levels.step * 2.0 ** (layer.output.frac_bits - source)
        real = layer.requant.multiplier.astype(np.float64) / 2.0**layer.requant.shift
        np.testing.assert_allclose(real, scale, rtol=2.0**-22)
    assert network.layer("0").input == "input" and f_in == network.tensor("input").frac_bits


def seed_batchnorm(model: nn.Module, seed: int) -> None:
    """Non-trivial BatchNorm statistics and affine parameters, so the folding is exercised."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.BatchNorm2d):
                c = module.num_features
                module.running_mean.copy_(0.1 * torch.randn(c, generator=generator))
                module.running_var.copy_(0.5 + torch.rand(c, generator=generator))
                module.weight.copy_(0.5 + torch.rand(c, generator=generator))
                module.bias.copy_(0.1 * torch.randn(c, generator=generator))


@settings(max_examples=20, deadline=None)
@given(
    shape=st.tuples(st.integers(1, 12), st.integers(1, 12), st.sampled_from([1, 3, 5]), st.integers(5, 14)),
    options=st.tuples(st.sampled_from([1, 2]), st.sampled_from([1, 2]), st.booleans()),
    bits=st.integers(2, 8),
    act_bits=st.sampled_from([4, 8, 16]),
    seed=st.integers(0, 2**16),
)
def test_random_uniform_layers_bit_exact(
    shape: tuple[int, int, int, int], options: tuple[int, int, bool], bits: int, act_bits: int, seed: int
) -> None:
    """Random shapes (channels in, out, kernel, size), stride, kept rows, BatchNorm, widths."""
    (c_in, c_out, k, size), (stride, rows, bn) = shape, options
    torch.manual_seed(seed)
    model = nn.Sequential(
        nn.Conv2d(c_in, c_out, k, stride=stride, padding=k // 2),
        nn.BatchNorm2d(c_out) if bn else nn.Identity(),
        nn.ReLU(),
        nn.Flatten(),
        nn.LazyLinear(5),
    )
    rng = np.random.default_rng(seed)
    calibration = rng.normal(0.0, 1.0, (3, c_in, size, size)).astype(np.float32)
    model(torch.from_numpy(calibration))  # materialize the lazy linear layer
    seed_batchnorm(model, seed)
    state = uniform_quantize(krp_prune(model.eval(), min(rows, k - 1) if k > 1 else 1), bits)
    network = lower(state, calibration, act_bits=act_bits)
    check_uniform_layers(network, state)
    x = rng.integers(network.input.lo, network.input.hi + 1, (2, c_in, size, size))
    assert_bit_exact(network, x)


@pytest.mark.parametrize(("act_bits", "in_channels"), [(8, 37), (16, 120)])
def test_worst_case_accumulator_with_codes(act_bits: int, in_channels: int) -> None:
    """Inputs at lo/hi matching the code signs reach the computed range, in int32 and int64 accumulators."""
    rng = np.random.default_rng(act_bits)
    shape = (4, in_channels, 3, 3)
    weights = (rng.choice([-1, 1], size=shape) * rng.integers(96, 128, size=shape)).astype(np.int64)
    weights[0, 0, 0, :3] = (0, 127, -127)
    weights[:, :, 1, :] = 0  # a zero row, as KRP leaves
    spec = TensorSpec((in_channels, 3, 3), act_bits, 0)
    low, high = dot_range(weights, spec.lo, spec.hi)
    acc_bits = signed_width(low, high)
    assert (acc_bits > 32) == (act_bits == 16)
    identity = Requant(np.ones(4, np.int64), np.zeros(4, np.int64), 0, -(1 << 62), (1 << 62) - 1, 2)
    layer = ConvLayer(
        "conv", "input", TensorSpec((4, 1, 1), 64, 0), in_channels, 4, 3, 3, 3, 1, 0, weights, None, 8, acc_bits,
        identity, WeightFormat.UNIFORM,
    )
    network = IntegerNetwork(spec, (layer,), "conv")
    extremes = []
    for o in range(4):
        for sign in (1, -1):
            x = np.where(weights[o] * sign > 0, spec.hi, spec.lo)[None].astype(np.int16 if act_bits > 8 else np.int8)
            acc = run(network, x).outputs.astype(np.int64)
            np.testing.assert_array_equal(acc, conv_acc(torch.from_numpy(x.astype(np.int64)), weights, 1, 0).numpy())
            extremes.append(int(acc[0, o, 0, 0]))
    assert max(extremes) == high and min(extremes) == low


def test_weights_off_the_grid_of_a_uniform_record_are_refused() -> None:
    torch.manual_seed(2)
    state = uniform_quantize(krp_prune(nn.Sequential(nn.Conv2d(2, 3, 3), nn.Flatten(), nn.Linear(12, 2))), 4)
    with torch.no_grad():
        state.weight("2").mul_(1.001)
    with pytest.raises(UnsupportedLayerError, match=r"layer '2' weights must be uniform-quantized \(q \* .* with "
                       r"integer \|q\| <= 7 for 4 bits\)"):
        lower(state, np.zeros((1, 2, 4, 4), np.float32))
    with pytest.raises(UnsupportedLayerError, match="layer '0' weights must be GSNQ-quantized"):
        lower(MaskedModel(state.model, ()), np.zeros((1, 2, 4, 4), np.float32))  # no record: not a GSNQ weight
    assert isinstance(state.records[0].levels, UniformLevels)
