"""Lowering of issue 14's operators from torch: grouped and depthwise convolutions, clamps (ReLU6,
Hardtanh, clamp) folded into the requantization, channel concatenation with one common scale, and
unsupported operations named by their own node.

Every lowered network is checked bit for bit against the independent torch reference
(``int_reference.reference_run``) and against the float model with fake-quantized activations
(``int_reference.fake_quant_forward``)."""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from int_reference import fake_quant_forward, make_power_of_two, reference_run
from pre_activation import DenseBlock, PreActivation
from torch import nn

import workloads
from accelsim.compression import CompressionConfig, compress, load_network, save_network
from accelsim.errors import UnsupportedLayerError
from accelsim.integer import (
    AddLayer,
    ConcatLayer,
    ConvLayer,
    IntegerNetwork,
    LinearLayer,
    PoolKind,
    PoolLayer,
    WeightFormat,
    dequantize,
    lower,
    quantize_input,
    run,
)
from accelsim.integer.quant import frac_bits_for


def images(shape: tuple[int, ...], n: int = 8, seed: int = 0) -> np.ndarray:
    """Seeded uniform float inputs in [0, 1)."""
    return np.random.default_rng(seed).uniform(0.0, 1.0, (n, *shape)).astype(np.float32)


def assert_bit_exact(network: IntegerNetwork, data: np.ndarray) -> dict[str, np.ndarray]:
    """The Numba datapath equals the torch reference on every layer; returns the activations."""
    x = quantize_input(network, data)
    result = run(network, x, activations=True)
    expected = reference_run(network, x)
    assert result.activations is not None
    for name, value in result.activations.items():
        np.testing.assert_array_equal(value.astype(np.int64), expected[name].numpy(), err_msg=name)
    return result.activations


def assert_tracks_fake_quant(model: nn.Module, network: IntegerNetwork, data: np.ndarray) -> None:
    """The integer outputs are within a few output steps of the fake-quantized float model's."""
    spec = network.tensor(network.output)
    integer = dequantize(spec, run(network, quantize_input(network, data)).outputs)
    fake = fake_quant_forward(model, network, data).numpy()
    assert np.abs(integer - fake).max() <= 4 * 2.0**-spec.frac_bits
    assert np.mean(integer.reshape(len(data), -1).argmax(1) == fake.reshape(len(data), -1).argmax(1)) >= 0.75


def layer_of(network: IntegerNetwork, kind: type) -> list:
    return [layer for layer in network.layers if isinstance(layer, kind)]


# ---------------------------------------------------------------- grouped and depthwise


class Separable(nn.Module):
    """A MobileNet-like block: depthwise 3x3 + BN + ReLU6, grouped 3x3, grouped 1x1, linear head."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1, bias=False)
        self.bn0 = nn.BatchNorm2d(8)
        self.depthwise = nn.Conv2d(8, 8, 3, stride=2, padding=1, groups=8, bias=False)
        self.bn1 = nn.BatchNorm2d(8)
        self.act1 = nn.ReLU6(inplace=True)
        self.grouped = nn.Conv2d(8, 16, 3, padding=1, groups=4)
        self.pointwise = nn.Conv2d(16, 12, 1, groups=2)
        self.fc = nn.Linear(12, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.bn0(self.stem(x)))
        x = self.act1(self.bn1(self.depthwise(x)))
        x = self.pointwise(F.relu(self.grouped(x)))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def test_grouped_and_depthwise_convolutions_lower_bit_exact() -> None:
    model = make_power_of_two(Separable())
    data = images((3, 10, 9), n=16)
    network = lower(model, data)
    convs = {layer.name: layer for layer in layer_of(network, ConvLayer)}
    assert {name: conv.groups for name, conv in convs.items()} == {
        "stem": 1, "depthwise": 8, "grouped": 4, "pointwise": 2
    }
    depthwise = convs["depthwise"]
    assert depthwise.weights.shape == (8, 1, 3, 3) and depthwise.kept_rows.shape == (8, 1, 1)
    assert convs["grouped"].weights.shape == (16, 2, 3, 3) and convs["grouped"].kept_rows.shape == (16, 2, 1)
    assert convs["pointwise"].kept_rows is None and convs["pointwise"].weights.shape == (12, 8, 1, 1)
    assert_bit_exact(network, data)
    assert_tracks_fake_quant(model, network, data)


def test_grouped_accumulator_range_is_per_group() -> None:
    """A grouped layer's worst-case accumulator sums only its group's inputs."""
    conv = nn.Conv2d(4, 4, 1, groups=4, bias=False)
    with torch.no_grad():
        conv.weight.fill_(1.0)
    network = lower(nn.Sequential(conv, nn.Flatten()), images((4, 3, 3)))
    layer = network.layers[0]
    assert isinstance(layer, ConvLayer) and layer.groups == 4
    assert layer.acc_bits == 8  # one 8-bit input per output, not four: [-128, 127]


def test_compressed_depthwise_network_round_trips_through_the_file(tmp_path) -> None:
    """KRP keeps one row of every depthwise kernel (records (C_out, C_in/groups, r)), and the
    .krp file of a network with depthwise convolutions loads back bit for bit and lowers."""
    compressed = compress(workloads.build("mobilenet_v1_025"), CompressionConfig(bits=4), workload="mobilenet_v1_025")
    records = {record.name: record for record in compressed.records}
    depthwise = records["features.1.0"]
    assert depthwise.shape == (8, 1, 3, 3) and tuple(depthwise.kept_rows.shape) == (8, 1, 1)
    assert depthwise.method.value == "krp" and records["features.1.3"].method.value == "dense"  # 1x1
    assert int(depthwise.mask.sum()) == 8 * 3
    path = tmp_path / "vww.krp"
    save_network(compressed, path)
    back = load_network(path)
    state, loaded = compressed.model.state_dict(), back.model.state_dict()
    assert state.keys() == loaded.keys() and all(torch.equal(state[k], loaded[k]) for k in state)
    for a, b in zip(compressed.records, back.records):
        assert a.name == b.name and torch.equal(a.mask, b.mask)
        assert (a.kept_rows is None) == (b.kept_rows is None)
        assert a.kept_rows is None or torch.equal(a.kept_rows, b.kept_rows)
    data = images((3, 96, 96), n=2)
    direct, reloaded = lower(compressed, data), lower(back, data)
    layer = reloaded.layer("features.1.0")
    assert isinstance(layer, ConvLayer) and layer.groups == 8 and layer.kept_rows.shape == (8, 1, 1)
    x = quantize_input(direct, data)
    np.testing.assert_array_equal(run(direct, x).outputs, run(reloaded, x).outputs)


# ---------------------------------------------------------------- clamps


class Clamped(nn.Module):
    """conv -> BN (large gain: the clamp is reached on both sides) -> activation -> flatten."""

    def __init__(self, activation: Callable[[torch.Tensor], torch.Tensor]) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 6, 3, padding=1)
        self.bn = nn.BatchNorm2d(6)
        self.activation = activation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.flatten(self.activation(self.bn(self.conv(x))), 1)


ACTIVATIONS: dict[str, tuple[Callable[[torch.Tensor], torch.Tensor], tuple[float, float]]] = {
    "ReLU6": (nn.ReLU6(), (0.0, 6.0)),
    "ReLU6 in place": (nn.ReLU6(inplace=True), (0.0, 6.0)),
    "Hardtanh": (nn.Hardtanh(-0.5, 0.75), (-0.5, 0.75)),
    "F.relu6": (lambda x: F.relu6(x), (0.0, 6.0)),
    "F.hardtanh": (lambda x: F.hardtanh(x, min_val=-2.0, max_val=1.5), (-2.0, 1.5)),
    "torch.clamp": (lambda x: torch.clamp(x, min=-1.0, max=3.0), (-1.0, 3.0)),
    "torch.clip": (lambda x: torch.clip(x, 0.25, 2.5), (0.25, 2.5)),
    "clamp method": (lambda x: x.clamp(-0.3, 0.7), (-0.3, 0.7)),
    "clamp_ method": (lambda x: x.clamp_(max=0.9), (-np.inf, 0.9)),
    "clamp_min": (lambda x: x.clamp_min(0.1), (0.1, np.inf)),
    "torch.clamp_max": (lambda x: torch.clamp_max(x, 2.0), (-np.inf, 2.0)),
    "ReLU then Hardtanh": (lambda x: F.hardtanh(F.relu(x), -1.0, 0.5), (0.0, 0.5)),
    "clamp then ReLU6": (lambda x: F.relu6(x.clamp(-4.0, 3.0)), (0.0, 3.0)),
    "min above max": (lambda x: torch.clamp(x, min=1.0, max=0.5), (0.5, 0.5)),
}


@pytest.mark.parametrize("form", list(ACTIVATIONS))
def test_clamps_fold_into_the_requantization_bounds(form: str) -> None:
    activation, (lo, hi) = ACTIVATIONS[form]
    model = make_power_of_two(Clamped(activation))
    with torch.no_grad():
        model.bn.weight.fill_(20.0)  # pre-activations far beyond the bounds on both sides
        model.bn.bias.copy_(torch.linspace(-3, 3, 6))
    data = images((3, 6, 5), n=8)
    network = lower(model, data)
    assert [type(layer).__name__ for layer in network.layers] == ["ConvLayer", "FlattenLayer"]
    conv = network.layers[0]
    spec = conv.output
    # the scale is the clamped tensor's: ReLU6 outputs in [0, 6] give 4 fraction bits at 8 bits
    with torch.no_grad():
        clamped = activation(model.bn(model.conv(torch.from_numpy(data))))
    assert spec.frac_bits == frac_bits_for(float(clamped.abs().max()), 8)
    if form.startswith("ReLU6"):
        assert spec.frac_bits == 4 and (conv.requant.lo, conv.requant.hi) == (0, 96)
    expected_lo = spec.lo if lo == -np.inf else int(np.clip(np.rint(lo * 2.0**spec.frac_bits), spec.lo, spec.hi))
    expected_hi = spec.hi if hi == np.inf else int(np.clip(np.rint(hi * 2.0**spec.frac_bits), spec.lo, spec.hi))
    assert (conv.requant.lo, conv.requant.hi) == (expected_lo, expected_hi)
    values = assert_bit_exact(network, data)[conv.name]
    # every finite bound is reached (the BN's gain takes the pre-activations far beyond them)
    assert lo == -np.inf or values.min() == expected_lo
    assert hi == np.inf or values.max() == expected_hi
    assert_tracks_fake_quant(model, network, data)
    real = dequantize(spec, values)
    step = 2.0**-spec.frac_bits
    assert lo - step / 2 <= real.min() and real.max() <= hi + step / 2  # torch's bounds, on the grid


class AfterEach(nn.Module):
    """ReLU6 / clamps after a residual add, an average pooling and a linear layer."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 4, 3, padding=1)
        self.conv2 = nn.Conv2d(4, 4, 3, padding=1)
        self.pool = nn.AvgPool2d(2)
        self.fc = nn.Linear(4 * 3 * 3, 6)
        self.act = nn.ReLU6()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.conv1(x))
        y = self.act(self.conv2(y) + y)
        y = self.pool(y).clamp(max=0.25)
        return F.hardtanh(self.fc(torch.flatten(y, 1)), -0.5, 0.5)


def test_clamps_after_add_average_pooling_and_linear() -> None:
    model = make_power_of_two(AfterEach())
    data = images((3, 6, 6), n=8)
    network = lower(model, data)
    add = layer_of(network, AddLayer)[0]
    pool = layer_of(network, PoolLayer)[0]
    fc = layer_of(network, LinearLayer)[0]
    assert add.requant.lo == 0 and add.requant.hi == min(add.output.hi, round(6 * 2.0**add.output.frac_bits))
    assert pool.requant.hi == min(round(0.25 * 2.0**pool.output.frac_bits), 127) and pool.requant.lo == -128
    assert (fc.requant.lo, fc.requant.hi) == tuple(
        int(np.clip(round(v * 2.0**fc.output.frac_bits), -128, 127)) for v in (-0.5, 0.5)
    )
    assert network.metadata["fx_nodes"] == {
        "conv1": "relu", "conv2": "conv2", "add": "act", "pool": "clamp", "flatten": "flatten", "fc": "hardtanh"
    }
    assert_bit_exact(network, data)
    assert_tracks_fake_quant(model, network, data)


class ClampAfterMaxPool(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.pool = nn.MaxPool2d(2)
        self.act = nn.ReLU6()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.flatten(self.act(self.pool(self.conv(x))), 1)


class ClampAfterSharedPool(nn.Module):
    """A clamp after a max pooling whose convolution output is read by a second branch too."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.other = nn.Conv2d(4, 4, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        return torch.cat([F.hardtanh(F.max_pool2d(y, 2)), F.max_pool2d(self.other(y), 2)], 1)


def test_a_clamp_after_max_pooling_narrows_the_convolution_before_it() -> None:
    model = make_power_of_two(ClampAfterMaxPool())
    data = images((3, 8, 8), n=8)
    network = lower(model, data)
    conv = layer_of(network, ConvLayer)[0]
    assert (conv.requant.lo, conv.requant.hi) == (0, min(round(6 * 2.0**conv.output.frac_bits), 127))
    assert_bit_exact(network, data)
    assert_tracks_fake_quant(model, network, data)


def test_a_clamp_that_cannot_be_folded_is_named() -> None:
    on_input = nn.Sequential(nn.MaxPool2d(2), nn.ReLU6(), nn.Conv2d(3, 4, 3), nn.Flatten())
    with pytest.raises(UnsupportedLayerError, match=r"layer '1' \(ReLU6\) is an activation .* cannot be folded"):
        lower(make_power_of_two(on_input), images((3, 8, 8)))
    with pytest.raises(UnsupportedLayerError, match=r"layer 'hardtanh' \(hardtanh\) is an activation .* read nowhere else"):
        lower(make_power_of_two(ClampAfterSharedPool()), images((3, 8, 8)))
    shared = make_power_of_two(nn.Sequential(nn.Conv2d(3, 4, 3), nn.Flatten()))

    class TensorBound(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.body = shared

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.body(x)
            return torch.clamp(y, min=y.mean())

    with pytest.raises(UnsupportedLayerError, match=r"layer 'mean' \(call_method mean\)"):
        lower(TensorBound(), images((3, 8, 8)))


# ---------------------------------------------------------------- concatenation


class FireLike(nn.Module):
    """SqueezeNet's Fire module with unequal branch ranges, then a convolution of the result."""

    def __init__(self) -> None:
        super().__init__()
        self.squeeze = nn.Conv2d(4, 3, 1)
        self.expand1x1 = nn.Conv2d(3, 8, 1)
        self.expand3x3 = nn.Conv2d(3, 5, 3, padding=1)
        self.after = nn.Conv2d(13, 4, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = F.relu(self.squeeze(x))
        y = torch.cat([F.relu(self.expand1x1(s)), F.relu(self.expand3x3(s))], 1)
        return torch.flatten(self.after(y), 1)


def _peaks(model: nn.Module, data: np.ndarray, names: tuple[str, ...]) -> dict[str, float]:
    """Largest magnitude of each named module's output after its ReLU."""
    peaks: dict[str, float] = {}
    hooks = [
        getattr(model, name).register_forward_hook(
            lambda module, args, out, name=name: peaks.__setitem__(name, float(out.clamp_min(0).max()))
        )
        for name in names
    ]
    with torch.no_grad():
        model(torch.from_numpy(data))
    for hook in hooks:
        hook.remove()
    return peaks


def test_concat_inputs_take_the_coarsest_scale() -> None:
    model = make_power_of_two(FireLike())
    with torch.no_grad():
        model.expand3x3.weight.mul_(16.0)  # a branch with a much larger range
    data = images((4, 7, 6), n=8)
    network = lower(model, data)
    concat = layer_of(network, ConcatLayer)[0]
    assert concat.inputs == ("expand1x1", "expand3x3") and concat.output.shape == (13, 7, 6)
    peaks = _peaks(model, data, ("expand1x1", "expand3x3"))
    needed = {name: frac_bits_for(peak, 8) for name, peak in peaks.items()}
    assert needed["expand1x1"] > needed["expand3x3"]  # the test makes them differ
    common = min(needed.values())
    assert concat.output.frac_bits == common
    assert {name: network.tensor(name).frac_bits for name in concat.inputs} == dict.fromkeys(concat.inputs, common)
    values = assert_bit_exact(network, data)
    assert values["expand3x3"].max() <= network.tensor("expand3x3").hi  # nothing saturates...
    assert values["expand3x3"].max() >= 64  # ...and the large branch uses the range
    assert_tracks_fake_quant(model, network, data)


class SharedProducers(nn.Module):
    """A tensor read by a concatenation and a convolution, tensors in two concatenations, and a
    concatenation inside a concatenation: all of them end up at one scale."""

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Conv2d(3, 4, 3, padding=1)
        self.b = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU())
        self.c = nn.Conv2d(3, 4, 1)
        self.d = nn.Conv2d(4, 4, 3, padding=1)
        self.left = nn.Conv2d(8, 2, 1)
        self.right = nn.Conv2d(12, 2, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, b = F.relu(self.a(x)), self.b(x)
        c = self.c(x) + F.relu(self.d(a))  # 'a' is also read by 'd'
        u = torch.cat([a, b], dim=1)
        v = torch.concat([torch.cat([b, c], 1), a], dim=-3)  # 'a' and 'b' in two, one nested
        return torch.flatten(self.left(u), 1) + torch.flatten(self.right(v), 1)


def test_shared_and_nested_concatenations_share_one_scale() -> None:
    model = make_power_of_two(SharedProducers())
    with torch.no_grad():
        model.c.weight.mul_(8.0)
    data = images((3, 6, 6), n=8)
    network = lower(model, data)
    concats = layer_of(network, ConcatLayer)
    assert len(concats) == 3
    members = {name for concat in concats for name in (concat.name, *concat.inputs)}
    assert members == {"a", "b.0", "add", "cat", "cat_1", "concat"}
    assert len({network.tensor(name).frac_bits for name in members}) == 1
    d = network.layer("d")
    assert isinstance(d, ConvLayer) and d.input == "a"  # reads 'a' at the common scale
    assert_bit_exact(network, data)
    assert_tracks_fake_quant(model, network, data)


class CatOf(nn.Module):
    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.pool = nn.MaxPool2d(3, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.conv(x))
        if self.kind == "max pooling":
            z = torch.cat([self.pool(y), y], 1)
        elif self.kind == "max pooling of the input":
            z = torch.cat([self.pool(x), x], 1)
        elif self.kind == "input":
            z = torch.cat([x, y], 1)
        else:
            z = torch.cat([y, y], 2)
        return torch.flatten(z, 1)


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("max pooling of the input", (r"layer 'cat' \(concatenation\) input 'pool' must be produced by a "
                                      r"layer with a requantization .* or by max pooling of one's output, not "
                                      r"the network input \('input'\)")),
        ("input", r"layer 'cat' \(concatenation\) input 'x' must be produced .* not the network input"),
        ("height", (r"layer 'cat' \(cat\) is a concatenation of shapes \[\(1, 4, 5, 5\), \(1, 4, 5, 5\)\] on dim 2 "
                    r"\(only feature maps .* dim=1\)")),
    ],
)
def test_concatenations_that_cannot_be_lowered_are_named(kind: str, message: str) -> None:
    model = make_power_of_two(CatOf(kind))
    with pytest.raises(UnsupportedLayerError, match=message):
        lower(model, images((3, 5, 5), n=1))


def test_a_max_pooling_of_a_convolution_is_concatenated_at_the_common_scale() -> None:
    """A max pooling keeps its input's scale, so the convolution before it requantizes to the
    concatenation's (DenseNet's stem pooling joins the first block's features)."""
    model = make_power_of_two(CatOf("max pooling"))
    data = images((3, 5, 5))
    network = lower(model, data)
    (concat,) = layer_of(network, ConcatLayer)
    assert concat.inputs == ("pool", "conv")
    assert network.tensor("pool").frac_bits == network.tensor("conv").frac_bits == concat.output.frac_bits
    assert_bit_exact(network, data)
    assert_tracks_fake_quant(model, network, data)


class ConcatOfClamps(nn.Module):
    """cat(relu(cat(a, b)), relu(maxpool(c))), with c's values 64 times a's and b's: each clamp
    keeps the scale of the value it clamps, which must be the outer concatenation's (lowering
    failed an assertion on the first)."""

    def __init__(self) -> None:
        super().__init__()
        self.a, self.b, self.c = (nn.Conv2d(3, 4, 3, padding=1) for _ in range(3))
        self.pool = nn.MaxPool2d(3, 1, 1)
        self.d = nn.Conv2d(12, 4, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        inner = F.relu(torch.cat([self.a(x), self.b(x)], 1))
        return torch.flatten(self.d(torch.cat([inner, F.relu(self.pool(self.c(x)))], 1)), 1)


def test_clamps_of_concatenations_and_max_poolings_keep_the_common_scale() -> None:
    model = make_power_of_two(ConcatOfClamps())
    with torch.no_grad():
        model.c.weight.mul_(64.0)
    data = images((3, 6, 6))
    network = lower(model, data)
    outer = network.layer("cat_1")
    assert isinstance(outer, ConcatLayer) and outer.inputs == ("cat", "pool")
    scales = {network.tensor(name).frac_bits for name in ("a", "b", "c", "cat", "pool", "cat_1")}
    assert scales == {outer.output.frac_bits}
    assert_bit_exact(network, data)
    assert_tracks_fake_quant(model, network, data)


def test_densenet_concatenations_nest_and_batchnorms_stand_alone() -> None:
    """Each concatenation of all the features so far is the previous one plus the new features
    (every tensor in one concatenation); each BatchNorm before a convolution is a depthwise 1x1
    layer of weights 1 with the normalization in its requantization."""
    model = make_power_of_two(DenseBlock())
    data = images((3, 8, 8), n=16)
    network = lower(model, data)
    concats = {layer.name: layer.inputs for layer in layer_of(network, ConcatLayer)}
    assert concats == {"cat_1": ("pool0", "convs.0"), "cat_2": ("cat_1", "convs.1"),
                       "cat_3": ("cat_2", "convs.2")}
    for name, source, channels in (("norms.0", "pool0", 8), ("norms.1", "cat_1", 12), ("norms.2", "cat_2", 16),
                                   ("transition.0", "cat_3", 20), ("norm5", "transition.3", 8)):
        norm = network.layer(name)
        assert isinstance(norm, ConvLayer) and norm.input == source
        assert (norm.kernel, norm.groups, norm.in_channels, norm.out_channels) == (1, channels, channels, channels)
        assert norm.weights.shape == (channels, 1, 1, 1) and np.all(norm.weights == 1)
        assert norm.weight_format is WeightFormat.GSNQ and norm.kept_rows is None
        assert norm.requant.lo == 0  # the ReLU after it is folded
    assert network.tensor("conv0").frac_bits == network.tensor("cat_3").frac_bits
    assert_bit_exact(network, data)
    assert_tracks_fake_quant(model, network, data)


def test_pre_activation_batchnorms_are_layers_of_their_own() -> None:
    model = make_power_of_two(PreActivation())
    data = images((3, 6, 6), n=16)
    network = lower(model, data)
    assert [layer.name for layer in network.layers] == [
        "conv0", "bn1", "conv1", "conv2", "add", "bn", "adaptive_avg_pool2d", "flatten", "fc"]
    assert network.layer("bn1").input == "conv0" and network.layer("add").inputs == ("conv0", "conv2")
    assert network.layer("bn").input == "add"
    assert_bit_exact(network, data)
    assert_tracks_fake_quant(model, network, data)


def test_a_standalone_batchnorm_takes_the_uniform_format_of_a_uniform_network() -> None:
    compressed = compress(PreActivation(), CompressionConfig(bits=4, weights="uniform"), workload="preact")
    network = lower(compressed, images((3, 6, 6), n=4))
    for name in ("bn1", "bn"):
        norm = network.layer(name)
        assert norm.weight_format is WeightFormat.UNIFORM and norm.weight_bits == 2 and np.all(norm.weights == 1)
    assert network.layer("conv1").weight_format is WeightFormat.UNIFORM


class VectorNorm(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(12, 6)
        self.norm = nn.BatchNorm1d(12)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.norm(torch.flatten(x, 1)))


def test_a_batchnorm1d_that_follows_no_linear_is_named() -> None:
    with pytest.raises(UnsupportedLayerError, match=r"layer 'norm' \(BatchNorm1d\) is a BatchNorm1d that does "
                                                     r"not directly follow a Linear"):
        lower(make_power_of_two(VectorNorm()), images((3, 2, 2), n=4))


# ---------------------------------------------------------------- unsupported operations


class ConvLstm(nn.Module):
    """A convolution whose rows are read as a sequence by an LSTM (a reshape, not a flatten,
    comes first in graph order)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.lstm = nn.LSTM(24, 8, batch_first=True)
        self.fc = nn.Linear(8, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        y = y.view(y.size(0), 6, -1)
        out, _ = self.lstm(y)
        return self.fc(out[:, -1])


class Functional(nn.Module):
    def __init__(self, operation: Callable[[torch.Tensor], torch.Tensor]) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.operation = operation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        return self.operation(y.reshape(y.size(0), 4, -1))


@pytest.mark.parametrize(
    ("model", "label"),
    [
        (ConvLstm(), r"layer 'lstm' \(LSTM\)"),
        (Functional(torch.sigmoid), r"layer 'sigmoid' \(sigmoid\)"),
        (Functional(lambda y: y.permute(0, 2, 1)), r"layer 'permute' \(call_method permute\)"),
        (Functional(lambda y: y[:, :2]), r"layer 'getitem' \(getitem\)"),
        (Functional(lambda y: y.mean(-1)), r"layer 'mean' \(call_method mean\)"),
    ],
)
def test_unsupported_operations_are_named_themselves(model: nn.Module, label: str) -> None:
    model = make_power_of_two(model)
    with pytest.raises(UnsupportedLayerError) as error:
        lower(model, images((3, 8, 8), n=2))
    message = str(error.value)
    assert re.match(label + " is an operation the integer datapath does not implement; supported: ", message)
    for operation in ("Conv2d (any groups", "Linear", "ReLU6", "Hardtanh", "clamp", "MaxPool2d", "AvgPool2d",
                      "AdaptiveAvgPool2d", "AdaptiveMaxPool2d", "add", "torch.cat", "flatten", "Dropout"):
        assert operation in message, operation


@pytest.mark.parametrize(("padding", "kernel", "equal"), [("same", 3, 1), ("same", 5, 2), ("valid", 3, 0)])
def test_named_paddings_lower_as_their_integer_padding(padding: str, kernel: int, equal: int) -> None:
    named = make_power_of_two(nn.Sequential(nn.Conv2d(3, 4, kernel, padding=padding), nn.Flatten()))
    numbered = nn.Sequential(nn.Conv2d(3, 4, kernel, padding=equal), nn.Flatten())
    numbered.load_state_dict(named.state_dict())
    data = images((3, 7, 7))
    network = lower(named, data)
    assert network.layer("0").padding == equal
    x = quantize_input(network, data)
    np.testing.assert_array_equal(run(network, x).outputs, run(lower(numbered, data), x).outputs)
    assert_tracks_fake_quant(named, network, data)


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel lengths")  # torch's, at calibration
@pytest.mark.parametrize(("padding", "kernel", "message"), [
    ("same", 4, r"must have equal padding on every side, not 'same' \(an even kernel pads 'same' unequally\)"),
    ((1, 2), 3, r"must have equal padding on every side, not \(1, 2\)$"),
])
def test_unequal_paddings_are_named(padding, kernel: int, message: str) -> None:
    model = make_power_of_two(nn.Sequential(nn.Conv2d(3, 4, kernel, padding=padding), nn.Flatten()))
    with pytest.raises(UnsupportedLayerError, match=r"layer '0' \(Conv2d\) " + message):
        lower(model, images((3, 7, 7), n=2))


class MeanHead(nn.Module):
    """A global average pooling written as a mean over (2, 3), as torchvision's ShuffleNetV2 head."""

    def __init__(self, form: str) -> None:
        super().__init__()
        self.form = form
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.fc = nn.Linear(8, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.conv(x))
        if self.form == "method":
            z = y.mean((2, 3))
        elif self.form == "function":
            z = torch.mean(y, dim=[-2, -1])
        elif self.form == "keepdim":
            z = torch.flatten(F.relu6(y.mean((2, 3), keepdim=True)), 1)
        else:
            z = y.mean((1, 2))
        return self.fc(z)


@pytest.mark.parametrize(("form", "flatten"), [("method", "mean.flatten"), ("function", "mean.flatten"),
                                               ("keepdim", "flatten")])
def test_a_mean_over_height_and_width_is_a_global_average_pooling(form: str, flatten: str) -> None:
    model = make_power_of_two(MeanHead(form))
    data = images((3, 6, 5), n=16)
    network = lower(model, data)
    assert [(layer.name, type(layer).__name__) for layer in network.layers] == [
        ("conv", "ConvLayer"), ("mean", "PoolLayer"), (flatten, "FlattenLayer"), ("fc", "LinearLayer")]
    pool = network.layer("mean")
    assert pool.kind is PoolKind.AVG and pool.output.shape == (8, 1, 1) and pool.areas == (30,)
    assert_bit_exact(network, data)
    assert_tracks_fake_quant(model, network, data)


def test_a_mean_over_other_dims_is_named() -> None:
    with pytest.raises(UnsupportedLayerError, match=r"layer 'mean' \(call_method mean\) is an operation the integer "
                                                    r"datapath does not implement; supported: .* mean over \(2, 3\)"):
        lower(make_power_of_two(MeanHead("channels")), images((3, 6, 8), n=2))  # (N, 8) to the fc


class SqueezeHead(nn.Module):
    def __init__(self, squeeze: Callable[[torch.Tensor], torch.Tensor]) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)
        self.squeeze = squeeze
        self.fc = nn.Linear(8, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.squeeze(F.adaptive_avg_pool2d(F.relu(self.conv(x)), 1)))


@pytest.mark.parametrize("squeeze", [lambda y: y.squeeze(-1).squeeze(-1), lambda y: torch.squeeze(y, (2, 3)),
                                     lambda y: y.squeeze()])
def test_a_squeeze_of_the_pooled_map_is_a_flatten(squeeze: Callable[[torch.Tensor], torch.Tensor]) -> None:
    model = make_power_of_two(SqueezeHead(squeeze))
    data = images((3, 6, 6), n=16)
    network = lower(model, data)
    assert [type(layer).__name__ for layer in network.layers] == [
        "ConvLayer", "PoolLayer", "FlattenLayer", "LinearLayer"]
    assert_bit_exact(network, data)
    assert_tracks_fake_quant(model, network, data)


class AddNorm(nn.Module):
    """A BatchNorm after an add: a layer of its own, which needs running statistics too."""

    def __init__(self, **norm: bool) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.bn = nn.BatchNorm2d(4, **norm)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        return torch.flatten(F.relu(self.bn(y + y)), 1)


def test_a_standalone_batchnorm_without_affine_lowers_and_one_without_statistics_is_named() -> None:
    model = make_power_of_two(AddNorm(affine=False))
    data = images((3, 6, 6))
    network = lower(model, data)
    assert [layer.name for layer in network.layers] == ["conv", "add", "bn", "flatten"]
    assert_bit_exact(network, data)
    assert_tracks_fake_quant(model, network, data)
    with pytest.raises(UnsupportedLayerError, match=r"^layer 'bn' \(BatchNorm2d\) must track running statistics "
                                                    r"\(track_running_stats=True\): its normalization is folded"):
        lower(make_power_of_two(AddNorm(track_running_stats=False)), data)


class InPlaceStatement(nn.Module):
    """An in-place activation written as a statement (its result not assigned): the tensor the
    later layers read is the activated one, though torch.fx points them at the raw node."""

    def __init__(self, form: str) -> None:
        super().__init__()
        self.form = form
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.act = nn.ReLU(inplace=True)
        self.fc = nn.Linear(8, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        saved = y  # an alias read after the statement sees the activated values too
        if self.form == "relu_":
            y.relu_()
        elif self.form == "torch.clamp_":
            torch.clamp_(y, 0.0, 0.5)
        elif self.form == "F.relu inplace":
            F.relu(y, inplace=True)
        else:
            self.act(y)
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(y + saved, 1), 1))


@pytest.mark.parametrize("form", ["relu_", "torch.clamp_", "F.relu inplace", "nn.ReLU(inplace=True)"])
def test_an_in_place_activation_statement_is_folded_where_its_tensor_is_read(form: str) -> None:
    model = make_power_of_two(InPlaceStatement(form))
    data = images((3, 6, 6), n=16)
    network = lower(model, data)
    conv = network.layer("conv")
    assert conv.requant.lo == 0  # the activation is folded into the convolution's requantization
    add = layer_of(network, AddLayer)[0]
    assert add.inputs == ("conv", "conv")
    assert_bit_exact(network, data)
    with torch.no_grad():
        real = model(torch.from_numpy(data)).numpy()
    integer = dequantize(network.tensor(network.output), run(network, quantize_input(network, data)).outputs)
    assert np.linalg.norm(integer - real) <= 0.05 * np.linalg.norm(real)
