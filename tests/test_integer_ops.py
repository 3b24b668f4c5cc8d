"""Grouped and depthwise convolutions, general pooling windows and channel concatenation in the
integer datapath, checked bit for bit against the independent torch reference
(``tests/int_reference.py``); pooling lowered from torch modules, checked against torch's float
pooling of the same integers."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from int_reference import make_power_of_two, reference_run
from torch import nn

from accelsim.integer import PoolAxis, PoolKind, PoolLayer, lower, quantize_input, run
from accelsim.integer.graph import IntegerNetwork, Requant
from accelsim.sim import NetworkBuilder


def spread(network: IntegerNetwork, seed: int = 0) -> IntegerNetwork:
    """The network with non-trivial requantization (the builder's is an identity clamp)."""
    import dataclasses

    rng = np.random.default_rng(seed)
    layers = []
    for layer in network.layers:
        q = getattr(layer, "requant", None)
        if q is not None:
            count = len(q.multiplier)
            q = Requant(rng.integers(1, 3000, count), rng.integers(-(1 << 14), 1 << 14, count), 12, -128, 127, 16)
            layer = dataclasses.replace(layer, requant=q)
        layers.append(layer)
    return dataclasses.replace(network, layers=tuple(layers))


def assert_matches_reference(network: IntegerNetwork, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    x = rng.integers(-128, 128, (2, *network.input.shape)).astype(np.int8)
    result = run(network, x, activations=True)
    expected = reference_run(network, x)
    assert result.activations is not None
    for name, value in result.activations.items():
        np.testing.assert_array_equal(value.astype(np.int64), expected[name].numpy(), err_msg=name)


@pytest.mark.parametrize("rows_kept", [None, 1, 2])
def test_grouped_and_depthwise_convolutions(rows_kept: int | None) -> None:
    builder = NetworkBuilder((8, 9, 7), seed=3)
    depthwise = builder.conv(8, kernel=3, groups=8, rows_kept=rows_kept, name="depthwise")
    builder.conv(16, kernel=3, stride=2, groups=4, rows_kept=rows_kept, name="grouped", source=depthwise)
    builder.conv(32, kernel=5, padding=2, groups=16, rows_kept=rows_kept, name="multiplier")  # 2 outputs per input
    builder.conv(8, kernel=1, padding=0, groups=2, rows_kept=None, name="pointwise_groups")
    assert_matches_reference(spread(builder.build()))


@pytest.mark.parametrize("kind", [PoolKind.MAX, PoolKind.AVG])
def test_pooling_windows_of_every_form(kind: PoolKind) -> None:
    builder = NetworkBuilder((3, 11, 9), seed=1)
    start = builder.conv(4, kernel=3, rows_kept=None, name="conv")
    builder.pool(3, stride=2, kind=kind, ceil_mode=True, name="ceil", source=start)
    builder.pool(3, stride=2, padding=1, kind=kind, ceil_mode=True, name="ceil_padded", source=start)
    builder.adaptive_pool((7, 7), kind=kind, name="up_2_to_7", source=builder.adaptive_pool((2, 2), kind=kind, source=start))
    builder.adaptive_pool((1, 1), kind=kind, name="global_non_square", source=start)
    builder.adaptive_pool((4, 3), kind=kind, name="uneven", source=start)
    builder.adaptive_pool((5, 13), kind=kind, name="one_to_many", source=builder.adaptive_pool((1, 1), kind=kind, source=start))
    network = spread(builder.build())
    uneven = next(layer for layer in network.layers if layer.name == "uneven")
    assert isinstance(uneven, PoolLayer)
    if kind is PoolKind.AVG:  # 11 rows in 4 windows of 3 or 4, 9 columns in 3 of 3: two areas
        assert uneven.areas == (9, 12)
    assert_matches_reference(network)


def test_concatenation_keeps_every_input_in_order() -> None:
    builder = NetworkBuilder((4, 6, 6), seed=2)
    squeeze = builder.conv(3, kernel=1, padding=0, rows_kept=None, name="squeeze")
    left = builder.conv(5, kernel=1, padding=0, rows_kept=None, source=squeeze, name="expand1x1")
    right = builder.conv(6, kernel=3, rows_kept=1, source=squeeze, name="expand3x3")
    builder.concat([left, right, squeeze], name="cat")
    builder.conv(4, kernel=3, rows_kept=1, name="after")
    network = spread(builder.build())
    assert network.layer("cat").output.shape == (14, 6, 6)
    assert_matches_reference(network)


class Pools(nn.Module):
    """Every pooling form torch has, on one map."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 6, 3, padding=1)
        self.ceil = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.avg = nn.AvgPool2d(3, 2, padding=1, ceil_mode=True, count_include_pad=False)
        self.avg_pad = nn.AvgPool2d((3, 2), (2, 1), padding=(1, 0))
        self.adaptive = nn.AdaptiveAvgPool2d((7, 7))
        self.adaptive_max = nn.AdaptiveMaxPool2d((3, 2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.conv(x))
        parts = [self.ceil(y), self.avg(y), self.avg_pad(y), self.adaptive(self.adaptive_max(y))]
        return torch.cat([part.flatten(1) for part in parts], dim=1)


def test_every_torch_pooling_lowers_to_its_windows() -> None:
    model = make_power_of_two(Pools())
    x = np.random.default_rng(0).uniform(0, 1, (4, 3, 10, 9)).astype(np.float32)
    pools = {}
    with torch.no_grad():
        y = F.relu(model.conv(torch.from_numpy(x)))
    for name in ("ceil", "avg", "avg_pad", "adaptive_max"):
        module = getattr(model, name)
        single = nn.Sequential(nn.Identity(), module, nn.Flatten())
        network = lower(single, y.numpy())  # calibrated on every image: no saturation
        pool = next(layer for layer in network.layers if isinstance(layer, PoolLayer))
        pools[name] = pool
        xq = quantize_input(network, y.numpy())
        got = run(network, xq).outputs
        real = np.ldexp(xq.astype(np.float64), -network.input.frac_bits)
        with torch.no_grad():
            expected = module(torch.from_numpy(real)).flatten(1).numpy()
        scale = 2.0 ** -network.tensor(network.output).frac_bits
        # max pooling is exact; an average is rounded once to the output's scale (half a step),
        # plus the multiplier's rounding
        tolerance = 0 if pool.kind is PoolKind.MAX else 0.5 * scale + 1e-3 * np.abs(expected).max()
        np.testing.assert_allclose(np.ldexp(got.astype(np.float64), -network.tensor(network.output).frac_bits),
                                   expected, atol=tolerance + 1e-12, err_msg=name)
    assert pools["ceil"].rows == PoolAxis.regular(3, 2, 0, count_include_pad=False)
    assert pools["avg"].rows.divisor_pad == 0 and pools["avg_pad"].cols == PoolAxis.regular(2, 1, 0)
    assert pools["adaptive_max"].rows == PoolAxis.adaptive(10, 3)


def test_an_average_padded_on_one_axis_only_divides_as_torch_does() -> None:
    # count_include_pad=False with padding on the columns alone: the windows at the sides divide
    # by their 2 x 2 in-map area, the others by 2 x 3 (the reference once took the flag from the rows)
    pool = nn.Sequential(nn.Identity(), nn.AvgPool2d((2, 3), (3, 1), padding=(0, 1), count_include_pad=False),
                         nn.Flatten())
    network = lower(pool, np.random.default_rng(1).uniform(0, 1, (4, 2, 6, 5)).astype(np.float32))
    layer = next(layer for layer in network.layers if isinstance(layer, PoolLayer))
    assert layer.areas == (4, 6)
    assert_matches_reference(spread(network), seed=2)
