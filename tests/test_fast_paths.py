"""The whole-layer fast paths of compression and lowering against simple references on random layers.

Each reference is the straightforward formulation the fast path replaced (a stable sort, tensor
expressions over the gathered weights, Python integers per weight or per row); results must be
identical, bit for bit, including ties, zeros of either sign, subnormals and float64 weights.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from accelsim.compression.gsnq import errors_by_count, layer_levels, quantize
from accelsim.compression.gsnq_kernels import sign_histograms
from accelsim.compression.levels import GsnqLevels, SignLevels
from accelsim.compression.magnitude import magnitude_mask, pruned_count
from accelsim.compression.selection import smallest
from accelsim.errors import UnsupportedLayerError
from accelsim.integer.quant import dot_range, integer_weights

SPECIAL = [0.0, -0.0, 1.0, -1.0, 0.75, -1.5, 2.0**-126, 2.0**-127, 3 * 2.0**-128, 1e-45, np.inf, -np.inf]


def random_values(seed: int, size: int, dtype: type, special: list[float] = SPECIAL) -> np.ndarray:
    """Normal values with about a third drawn from ``special`` (ties, signed zeros, edges)."""
    rng = np.random.default_rng(seed)
    values = (rng.standard_normal(size) * 0.1).astype(dtype)
    picks = rng.random(size) < 0.35
    values[picks] = rng.choice(np.array(special, dtype=dtype), int(picks.sum()))
    return values


def stable_smallest(keys: torch.Tensor, count: int) -> torch.Tensor:
    """Reference: the first ``count`` entries of a stable ascending sort."""
    chosen = torch.zeros(keys.numel(), dtype=torch.bool)
    chosen[torch.sort(keys.reshape(-1), stable=True).indices[:count]] = True
    return chosen.reshape(keys.shape)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("seed", range(6))
def test_selection_is_a_stable_sort(dtype: type, seed: int) -> None:
    keys = torch.from_numpy(random_values(seed, 1 + 97 * seed, dtype))
    for count in (0, 1, keys.numel() // 3, keys.numel() // 2, keys.numel() - 1, keys.numel()):
        assert torch.equal(smallest(keys, count), stable_smallest(keys, count))


@pytest.mark.parametrize("rate", [0.3, 0.5, 0.9])
def test_magnitude_mask_matches_the_sorted_reference(rate: float) -> None:
    weight = torch.from_numpy(random_values(int(rate * 10), 4000, np.float32, [0.0, -0.0, 0.5, -0.5])).reshape(40, 100)
    expected = ~stable_smallest(weight.abs(), pruned_count(rate, weight.numel()))
    assert torch.equal(magnitude_mask(weight, rate), expected)


def reference_quantize(weight: torch.Tensor, levels: GsnqLevels) -> torch.Tensor:
    """The former tensor formulation: per sign, frexp in float64, clamp, half the smallest level to 0."""
    w = weight.to(torch.float64)

    def one_sign(magnitudes: torch.Tensor, side: SignLevels | None) -> torch.Tensor:
        if side is None:
            return torch.zeros_like(magnitudes)
        mantissa, exponent = torch.frexp(magnitudes)
        exponent = (exponent.to(torch.int64) - 1 + (mantissa >= 0.75).to(torch.int64)).clamp(max=side.top)
        below = exponent < side.bottom
        exponent = torch.where(below, torch.full_like(exponent, side.bottom), exponent)
        value = torch.ldexp(torch.ones_like(magnitudes), exponent)
        keep = (magnitudes > 0) & (~below | (magnitudes >= value / 2))
        return torch.where(keep, value, torch.zeros_like(magnitudes))

    return (one_sign(w.clamp(min=0), levels.positive) - one_sign((-w).clamp(min=0), levels.negative)).float()


LEVELS = [
    GsnqLevels(4, SignLevels(-1, 8), SignLevels(-2, 7)),
    GsnqLevels(3, SignLevels(0, 7), None),
    GsnqLevels(2, None, SignLevels(-3, 3)),
    GsnqLevels(8, SignLevels(-100, 27), SignLevels(-3, 124)),  # down to 2**-126
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("levels", LEVELS)
def test_quantize_matches_the_tensor_reference(dtype: type, levels: GsnqLevels) -> None:
    finite = [value for value in SPECIAL if np.isfinite(value)] + [0.375, -0.375, 0.0625 * 1.5, 2.0**-129]
    weight = torch.from_numpy(random_values(7, 5000, dtype, finite)).reshape(50, 100)
    result, expected = quantize(weight, levels), reference_quantize(weight, levels)
    assert result.dtype == torch.float32 and torch.equal(result, expected)
    assert not torch.signbit(result[result == 0]).any()  # zeros are +0.0


def reference_errors(magnitudes: torch.Tensor, top: int, max_count: int) -> torch.Tensor:
    """The former split errors: per-bin sums with ``torch.bincount`` over the gathered magnitudes."""
    mantissa, exponent = torch.frexp(magnitudes)
    exponent = (exponent.to(torch.int64) - 1 + (mantissa >= 0.75).to(torch.int64)).clamp(max=top)
    level = torch.ldexp(torch.ones_like(magnitudes), exponent)
    bins = max_count + 2
    index = (top - exponent).clamp(max=bins - 1)
    squared = magnitudes**2
    kept = torch.bincount(index, (magnitudes - level) ** 2, minlength=bins)
    zeroed = torch.bincount(index, squared, minlength=bins)
    edge = torch.bincount(index, torch.where(magnitudes >= level, (magnitudes - 2 * level) ** 2, squared), minlength=bins)
    kept_below = torch.cat([torch.zeros(1, dtype=torch.float64), torch.cumsum(kept, 0)])
    zeroed_from = torch.flip(torch.cumsum(torch.flip(zeroed, [0]), 0), [0])
    counts = torch.arange(max_count + 1)
    errors = kept_below[counts] + edge[counts] + zeroed_from[counts + 1]
    errors[0] = zeroed_from[0]
    return errors


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("seed", range(4))
def test_error_histograms_sum_as_bincount_does(dtype: type, seed: int) -> None:
    finite = [value for value in SPECIAL if np.isfinite(value)]
    flat = random_values(seed, 20_000, dtype, finite)
    mask = np.random.default_rng(seed).random(flat.size) < 0.6
    unsigned = np.uint32 if dtype == np.float32 else np.uint64
    tops, counts = np.array([-1, -2]), np.array([9, 130])
    histograms = sign_histograms(flat, flat.view(unsigned), mask, 23 if dtype == np.float32 else 52, tops, counts + 2)
    kept = torch.from_numpy(flat[mask]).to(torch.float64)
    for sign, magnitudes in enumerate((kept[kept > 0], -kept[kept < 0])):
        fast = errors_by_count(histograms[sign, :, : counts[sign] + 2], int(counts[sign]))
        assert torch.equal(fast, reference_errors(magnitudes, int(tops[sign]), int(counts[sign])))


def test_levels_of_masked_weights_equal_those_of_the_gathered_ones() -> None:
    weight = torch.from_numpy(random_values(3, 3000, np.float32, [0.0, 0.25, -0.25]))
    mask = torch.from_numpy(np.random.default_rng(3).random(3000) < 0.5)
    for bits in (2, 4, 8):
        assert layer_levels(weight, mask, bits) == layer_levels(weight[mask], torch.ones(int(mask.sum()), dtype=torch.bool), bits)


def reference_integer_weights(weights: np.ndarray) -> tuple[np.ndarray, int, tuple[int, ...], tuple[int, ...]]:
    """The former per-weight formulation (float64 frexp, Python sets of exponents)."""
    w = np.asarray(weights, dtype=np.float64)
    mantissa, exp = np.frexp(np.abs(w))
    nonzero = w != 0
    assert np.all(mantissa[nonzero] == 0.5)
    k = exp.astype(np.int64) - 1
    e_min = int(k[nonzero].min())
    ints = np.where(nonzero, np.sign(w).astype(np.int64) << np.where(nonzero, k - e_min, 0), 0)
    return ints, e_min, tuple(sorted({int(v) for v in k[w > 0]})), tuple(sorted({int(v) for v in k[w < 0]}))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("span", [3, 12, 40])
def test_integer_weights_match_the_per_weight_reference(dtype: type, span: int) -> None:
    rng = np.random.default_rng(span)
    low = -140 if dtype == np.float32 else -1060  # subnormals included
    exponents = rng.integers(low, low + span, size=(30, 40))
    weights = (rng.choice([-1.0, 0.0, 1.0], size=exponents.shape) * np.ldexp(1.0, exponents)).astype(dtype)
    result = integer_weights("layer", weights)
    ints, e_min, positive, negative = reference_integer_weights(weights)
    assert np.array_equal(result.ints, ints) and result.ints.dtype.itemsize * 8 >= span + 1
    assert (result.exponent, result.levels_pos, result.levels_neg) == (e_min, positive, negative)


@pytest.mark.parametrize("bad", [0.3, np.inf, np.nan, 3 * 2.0**-140])
def test_integer_weights_refuse_what_is_not_a_power_of_two(bad: float) -> None:
    with pytest.raises(UnsupportedLayerError, match="GSNQ-quantized"):
        integer_weights("layer", np.array([0.5, bad, 0.25], dtype=np.float32))


def reference_dot_range(ints: np.ndarray, lo: int, hi: int) -> tuple[int, int]:
    """Python integers weight by weight."""
    tops, bottoms = [0], [0]
    for row in ints.reshape(ints.shape[0], -1).tolist():
        pos, neg = sum(v for v in row if v > 0), sum(-v for v in row if v < 0)
        tops.append(hi * pos - lo * neg)
        bottoms.append(lo * pos - hi * neg)
    return min(bottoms), max(tops)


@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.int64])
def test_dot_range_matches_python_integers(dtype: type) -> None:
    info = np.iinfo(dtype)
    rng = np.random.default_rng(info.bits)
    ints = rng.integers(info.min, info.max, size=(7, 3, 5), dtype=dtype, endpoint=True)
    ints[0, 0, :2] = info.min, info.max  # the extremes (for int64 the sums exceed 64 bits)
    for lo, hi in ((-128, 127), (0, 255), (-(2**15), 2**15 - 1)):
        assert dot_range(ints, lo, hi) == reference_dot_range(ints, lo, hi)
