"""GSNQ levels, quantization and incremental steps, against brute-force references."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from accelsim.compression.gsnq import (
    assign_levels,
    choose_levels,
    gsnq_quantize,
    quantize,
    quantize_portion,
    top_exponent,
)
from accelsim.compression.krp import krp_prune
from accelsim.compression.levels import GsnqLevels, SignLevels
from accelsim.compression.magnitude import fc_prune
from accelsim.errors import ConfigError


def level_list(levels: GsnqLevels) -> list[float]:
    """All values of ``levels`` including 0, from the exponent ranges."""
    values = [0.0]
    for sign, side in ((1.0, levels.positive), (-1.0, levels.negative)):
        if side is not None:
            values += [sign * 2.0**k for k in range(side.bottom, side.top + 1)]
    return values


def reference_quantize(weights: np.ndarray, levels: GsnqLevels) -> np.ndarray:
    """Nearest value of ``level_list`` (same sign or 0); on a tie the larger magnitude wins."""
    out = np.zeros_like(weights, dtype=np.float64)
    values = level_list(levels)
    for index, w in enumerate(weights.astype(np.float64)):
        same_sign = [v for v in values if v == 0.0 or (v > 0) == (w > 0)]
        out[index] = min(same_sign, key=lambda v: (abs(w - v), -abs(v)))
    return out


def reference_top(s: float) -> int:
    """INQ's n1 = floor(log2(4 s / 3)) in exact rational arithmetic."""
    from fractions import Fraction

    value = Fraction(4) * Fraction(s) / 3
    n = math.floor(math.log2(float(value)))
    while Fraction(2) ** n > value:
        n -= 1
    while Fraction(2) ** (n + 1) <= value:
        n += 1
    return n


def random_layer(seed: int, size: int = 400, skew: float = 1.0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    w = torch.randn(size, generator=generator) * 0.1
    return torch.where(w > 0, w * skew, w)


@pytest.mark.parametrize("s", [0.75, 0.75 * (1 - 2**-20), 1.5, 0.3, 1e-3, 3 * 2.0**-10, 3 * 2.0**-10 * (1 + 2**-22)])
def test_top_exponent_is_inq_n1(s: float) -> None:
    assert top_exponent(s) == reference_top(s)


@pytest.mark.parametrize("bits", [2, 3, 4])
@pytest.mark.parametrize("skew", [1.0, 3.0, 0.2])
def test_split_minimizes_error_over_all_splits(bits: int, skew: float) -> None:
    w = random_layer(bits * 10 + int(skew * 10), skew=skew)
    chosen = choose_levels(w, bits)
    pos = w[w > 0].max().item()
    neg = -w[w < 0].min().item()
    assert chosen.positive is None or chosen.positive.top == reference_top(pos)
    assert chosen.negative is None or chosen.negative.top == reference_top(neg)

    def error(levels: GsnqLevels) -> float:
        return float(((w.double().numpy() - reference_quantize(w.numpy(), levels)) ** 2).sum())

    def span(levels: GsnqLevels) -> int:
        signs = [sign for sign in (levels.positive, levels.negative) if sign is not None]
        return max(sign.top for sign in signs) - min(sign.bottom for sign in signs) + 1

    # the shifters reach 2**(bits-1) places: both signs within 2**(bits-1) + 1 powers of two
    assert span(chosen) <= 2 ** (bits - 1) + 1
    best = error(chosen)
    for p in range(2**bits):
        for n in range(2**bits - p):
            if p + n == 0:
                continue
            other = GsnqLevels(
                bits,
                SignLevels(reference_top(pos), p) if p else None,
                SignLevels(reference_top(neg), n) if n else None,
            )
            if span(other) <= 2 ** (bits - 1) + 1:
                assert best <= error(other) * (1 + 1e-12)


def test_quantize_matches_nearest_level_reference() -> None:
    w = random_layer(7, size=3000)
    levels = choose_levels(w, 3)
    got = quantize(w, levels).double().numpy()
    assert np.array_equal(got, reference_quantize(w.numpy(), levels))


def test_quantize_boundaries_go_up_and_small_weights_become_zero() -> None:
    levels = GsnqLevels(3, SignLevels(top=-1, count=3), SignLevels(top=-2, count=2))  # +1/2,1/4,1/8; -1/4,-1/8
    w = torch.tensor([0.75 * 0.5, 0.0625, 0.0624, 0.9, -0.0625, -0.06, -1.0, 0.0, -0.1875])
    assert quantize(w, levels).tolist() == [0.5, 0.125, 0.0, 0.5, -0.125, 0.0, -0.25, 0.0, -0.25]


def test_single_sign_layer_gets_the_levels_the_shifters_reach() -> None:
    # 3-bit codes: 7 non-zero codes, but a shift PE reaches 2**2 = 4 places: 5 powers of two
    w = torch.rand(500, generator=torch.Generator().manual_seed(3)) * 0.5 + 1e-3
    levels = choose_levels(w, 3)
    assert levels.negative is None and levels.positive_count == 5
    assert choose_levels(w, 4).positive_count == 9


def test_levels_never_exceed_what_is_useful_at_8_bits() -> None:
    w = torch.tensor([0.5, 0.25, -0.5, -0.125])
    levels = choose_levels(w, 8)
    assert (levels.positive.top, levels.positive.count) == (-1, 2)
    assert (levels.negative.top, levels.negative.count) == (-1, 3)
    assert torch.equal(quantize(w, levels), w)


def test_codes_round_trip_and_reject_non_levels() -> None:
    levels = GsnqLevels(4, SignLevels(-2, 8), SignLevels(-3, 7))
    values = levels.code_values()
    assert len(values) == 16 and values[0] == 0 and values[1] == 0.25 and values[9] == -0.125
    codes = levels.encode(values[torch.tensor([3, 0, 15, 9])])
    assert codes.tolist() == [3, 0, 15, 9]
    assert torch.equal(levels.decode(codes), values[torch.tensor([3, 0, 15, 9])])
    with pytest.raises(ValueError, match="not a level"):
        levels.encode(torch.tensor([0.3]))


def pruned_model() -> nn.Module:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(2, 8, 3), nn.ReLU(), nn.Conv2d(8, 8, 3), nn.Flatten(), nn.Linear(8 * 4 * 4, 10))
    return fc_prune(krp_prune(model), 0.5)


@pytest.mark.parametrize("bits", [2, 3, 4, 8])
def test_every_final_weight_is_zero_or_a_power_of_two_in_range(bits: int) -> None:
    before = pruned_model()
    state = gsnq_quantize(before, bits)
    for record in state.records:
        weight = state.weight(record.name).detach().double().flatten()
        levels = record.levels
        assert levels.bits == bits
        assert levels.positive_count + levels.negative_count <= 2**bits - 1
        assert not weight[~record.mask.flatten()].any()  # pruned weights stay 0
        mantissa, exponent = torch.frexp(weight[weight != 0])
        assert torch.all(mantissa.abs() == 0.5)  # exact powers of two
        k = exponent - 1
        pos, neg = k[weight[weight != 0] > 0], k[weight[weight != 0] < 0]
        if len(pos):
            assert levels.positive.bottom <= pos.min() and pos.max() <= levels.positive.top
        if len(neg):
            assert levels.negative.bottom <= neg.min() and neg.max() <= levels.negative.top
        assert torch.equal(record.quantized, record.mask)
        assert torch.equal(levels.decode(levels.encode(weight.float())), weight.float())


def test_incremental_steps_quantize_largest_first_and_freeze() -> None:
    state = assign_levels(pruned_model(), 4)
    original = {r.name: state.weight(r.name).detach().clone() for r in state.records}
    half = quantize_portion(state, 0.5)
    for record in half.records:
        kept = int(record.mask.sum())
        assert int(record.quantized.sum()) == math.floor(0.5 * kept + 0.5)
        magnitude = original[record.name].abs()
        smallest_quantized = magnitude[record.quantized].min()
        largest_other = magnitude[record.mask & ~record.quantized].max()
        assert smallest_quantized >= largest_other
        weight = half.weight(record.name).detach()
        assert torch.equal(weight[~record.quantized], original[record.name][~record.quantized])
        assert torch.equal(weight[record.quantized], quantize(original[record.name], record.levels)[record.quantized])
    # a later step does not touch the frozen ones even if the free weights changed meanwhile
    with torch.no_grad():
        for record in half.records:
            half.weight(record.name).add_(torch.where(record.frozen, 0.0, 0.01))
    full = quantize_portion(half, 1.0)
    for record in full.records:
        old = half.record(record.name).quantized
        assert torch.equal(full.weight(record.name).detach()[old], half.weight(record.name).detach()[old])
        assert torch.equal(record.quantized, record.mask)


def test_retrain_callback_runs_between_steps_only() -> None:
    calls: list[int] = []

    def retrain(state):  # type: ignore[no-untyped-def]
        calls.append(sum(int(r.quantized.sum()) for r in state.records))
        return state

    gsnq_quantize(pruned_model(), 3, portions=(0.5, 0.75, 0.875, 1.0), retrain=retrain)
    assert len(calls) == 3 and calls == sorted(calls)


@pytest.mark.parametrize("bits", [1, 9, 4.0, True, "4"])
def test_bits_out_of_range(bits: object) -> None:
    with pytest.raises(ConfigError, match=f"bits must be an integer from 2 to 8, not {bits!r}"):
        gsnq_quantize(pruned_model(), bits)  # type: ignore[arg-type]


@pytest.mark.parametrize("portions", [(0.5, 0.9), (0.5, 0.5, 1.0), (), (0.0, 1.0), (0.75, 0.5, 1.0)])
def test_bad_portions(portions: tuple[float, ...]) -> None:
    with pytest.raises(ConfigError, match="portions must be strictly increasing numbers in"):
        gsnq_quantize(pruned_model(), 4, portions=portions)


@pytest.mark.parametrize("bits", [2, 3, 4])
def test_balanced_split_gives_the_larger_sign_one_more_level(bits: int) -> None:
    w = random_layer(11, skew=0.5)  # negative weights have the larger magnitude
    levels = choose_levels(w, bits, "balanced")
    assert (levels.negative_count, levels.positive_count) == (2 ** (bits - 1), 2 ** (bits - 1) - 1)
    minimal = choose_levels(w, bits)

    def error(chosen: GsnqLevels) -> float:
        return float(((w - quantize(w, chosen)) ** 2).sum())

    assert error(minimal) <= error(levels)
    with pytest.raises(ConfigError, match="gsnq_split must be one of 'min-error', 'balanced', not 'even'"):
        choose_levels(w, bits, "even")
