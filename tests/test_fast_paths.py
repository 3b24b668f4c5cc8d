"""The whole-layer fast paths of compression and lowering against simple references on random layers.

Each reference is the straightforward formulation the fast path replaced (a stable sort, tensor
expressions over the gathered weights, Python integers per weight or per row); results must be
identical, bit for bit, including ties, zeros of either sign, subnormals and float64 weights.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from accelsim.compression.gsnq import (
    MAX_EXPONENT,
    MIN_EXPONENT,
    GsnqSplit,
    errors_by_count,
    layer_levels,
    max_span,
    quantize,
    quantize_portion,
    top_exponent,
)
from accelsim.compression.gsnq_kernels import sign_histograms
from accelsim.compression.levels import GsnqLevels, SignLevels, UniformLevels
from accelsim.compression.magnitude import magnitude_mask, pruned_count
from accelsim.compression.records import LayerKind, LayerRecord, MaskedModel, PruneMethod
from accelsim.compression.selection import smallest
from accelsim.compression.uniform import choose_step, round_to_grid
from accelsim.errors import UnsupportedLayerError
from accelsim.integer.quant import dot_range, integer_weights, uniform_integer_weights

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


LEVELS = [  # each within max_span(bits) powers of two, as choose_levels makes them
    GsnqLevels(4, SignLevels(-1, 8), SignLevels(-2, 7)),
    GsnqLevels(3, SignLevels(0, 5), None),
    GsnqLevels(3, SignLevels(0, 3), SignLevels(-1, 4)),
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


def reference_levels(weights: torch.Tensor, bits: int, split: GsnqSplit) -> GsnqLevels:
    """The former choose_levels: per-sign errors from the gathered magnitudes (``torch.bincount``),
    and for min-error every split within ``max_span(bits)`` powers of two tested one by one."""
    codes, span = 2**bits - 1, max_span(bits)
    w = weights.detach().reshape(-1).to(torch.float64)

    def candidates(magnitudes: torch.Tensor) -> tuple[int, torch.Tensor]:
        if magnitudes.numel() == 0:
            return 0, torch.zeros(1, dtype=torch.float64)
        top = min(top_exponent(magnitudes.max().item()), MAX_EXPONENT)
        return top, reference_errors(magnitudes, top, max(0, min(codes, top - MIN_EXPONENT + 1)))

    def width(pos_top: int, positive: int, neg_top: int, negative: int) -> int:
        ranges = [(top - count + 1, top) for top, count in ((pos_top, positive), (neg_top, negative)) if count]
        return max(top for _, top in ranges) - min(bottom for bottom, _ in ranges) + 1 if ranges else 0

    (pos_top, pos_errors), (neg_top, neg_errors) = candidates(w[w > 0]), candidates(-w[w < 0])
    positive_larger = (w.max().item() if w.numel() else 0.0) >= (-w.min().item() if w.numel() else 0.0)
    if split is GsnqSplit.BALANCED:
        larger, smaller = 2 ** (bits - 1), 2 ** (bits - 1) - 1
        wanted_p = codes if len(neg_errors) == 1 else larger if positive_larger else smaller
        wanted_n = codes if len(pos_errors) == 1 else smaller if positive_larger else larger
        positive, negative = min(wanted_p, len(pos_errors) - 1), min(wanted_n, len(neg_errors) - 1)
        tops = [top for top, count in ((pos_top, positive), (neg_top, negative)) if count]
        floor = max(tops) - span + 1 if tops else 0
        positive, negative = max(0, min(positive, pos_top - floor + 1)), max(0, min(negative, neg_top - floor + 1))
    else:
        errors = pos_errors.unsqueeze(1) + neg_errors.unsqueeze(0)
        for p in range(len(pos_errors)):
            for n in range(len(neg_errors)):
                if p + n > codes or width(pos_top, p, neg_top, n) > span:
                    errors[p, n] = float("inf")
        ties = (errors == errors.min()).nonzero().tolist()

        def preference(pair: list[int]) -> tuple[int, int, int, int]:
            p, n = pair
            return (p + n, abs(p - n), -(p if positive_larger else n), p)

        positive, negative = min(ties, key=preference)
    return GsnqLevels(bits, SignLevels(pos_top, positive) if positive else None,
                      SignLevels(neg_top, negative) if negative else None)


@pytest.mark.parametrize("split", list(GsnqSplit))
@pytest.mark.parametrize("seed", range(5))
def test_levels_match_the_tensor_reference_within_the_shifters_reach(split: GsnqSplit, seed: int) -> None:
    # Signs of very different scales (their tops up to 20 powers of two apart) make the span
    # limit bind; a third of the weights are the special values (zeros, ties, subnormals).
    rng = np.random.default_rng(seed)
    finite = [value for value in SPECIAL if np.isfinite(value)]
    for dtype in (np.float32, np.float64):
        weight = torch.from_numpy(random_values(seed, 4000, dtype, finite))
        negative = weight < 0
        weight[negative] *= float(2.0 ** -int(rng.integers(0, 20)))
        mask = torch.from_numpy(rng.random(weight.numel()) < 0.7)
        for bits in range(2, 9):
            levels = layer_levels(weight, mask, bits, split)
            assert levels == reference_levels(weight[mask], bits, split)
            signs = [side for side in (levels.positive, levels.negative) if side is not None]
            assert max(side.top for side in signs) - min(side.bottom for side in signs) + 1 <= max_span(bits)


def reference_round_to_grid(weight: torch.Tensor, levels: UniformLevels) -> torch.Tensor:
    """The former tensor formulation: float64 codes rounded half away from zero, clamped, times the step."""
    w = weight.detach().to(torch.float64)
    magnitude = torch.floor(w.abs() / levels.step + 0.5).clamp(max=levels.max_code).to(torch.int64)
    return (torch.where(w < 0, -magnitude, magnitude).to(torch.float64) * levels.step).to(torch.float32)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("bits", [2, 3, 4, 8])
def test_round_to_grid_matches_the_tensor_reference(dtype: type, bits: int) -> None:
    finite = [value for value in SPECIAL if np.isfinite(value)]
    weight = torch.from_numpy(random_values(bits, 5000, dtype, finite)).reshape(50, 100)
    step = choose_step(weight, bits)
    levels = UniformLevels(bits, step)
    ties = torch.tensor([0.5 * step, -0.5 * step, 1.5 * step, -2.5 * step, 1e6, -1e6], dtype=weight.dtype)
    weight.view(-1)[: ties.numel()] = ties  # exactly between two levels, and far beyond the grid
    result = round_to_grid(weight, levels)
    assert result.dtype == torch.float32 and torch.equal(result, reference_round_to_grid(weight, levels))
    assert not torch.signbit(result[result == 0]).any()  # zeros are +0.0
    assert torch.equal(round_to_grid(result, levels), result)  # levels round to themselves


def masked(weight: torch.Tensor, levels: GsnqLevels | UniformLevels, mask: torch.Tensor,
           quantized: torch.Tensor) -> MaskedModel:
    """A one-layer model with ``weight`` (pruned where not ``mask``) and the given levels and frozen weights."""
    layer = torch.nn.Linear(weight.shape[1], weight.shape[0], bias=False)
    with torch.no_grad():
        layer.weight.copy_(torch.where(mask, weight, 0.0))
    record = LayerRecord("0", LayerKind.LINEAR, PruneMethod.MAGNITUDE, mask, levels=levels, quantized=quantized)
    return MaskedModel(torch.nn.Sequential(layer), (record,))


@pytest.mark.parametrize("fmt", ["gsnq", "uniform"])
def test_incremental_portions_match_the_sorted_reference(fmt: str) -> None:
    weight = torch.from_numpy(random_values(11, 3000, np.float32, [0.0, 0.25, -0.25, 0.125])).reshape(30, 100)
    mask = torch.from_numpy(np.random.default_rng(11).random((30, 100)) < 0.8)
    levels = layer_levels(weight, mask, 4) if fmt == "gsnq" else UniformLevels(4, choose_step(weight[mask], 4))
    quantizer = quantize if fmt == "gsnq" else round_to_grid
    state = masked(weight, levels, mask, torch.zeros_like(mask))
    for portion in (0.5, 0.75, 1.0):
        before, frozen = state.weight("0").detach().clone(), state.records[0].quantized
        state = quantize_portion(state, portion, quantizer)
        # reference: the largest not yet quantized kept magnitudes (stable sort), rounded, the rest unchanged
        missing = pruned_count(portion, int(mask.sum())) - int(frozen.sum())
        keys = torch.where(mask & ~frozen, -before.abs(), torch.inf)
        chosen = stable_smallest(keys, missing)
        expected = torch.where(chosen, quantizer(before, levels), before)
        after = state.weight("0").detach()
        assert torch.equal(state.records[0].quantized, frozen | chosen)
        assert torch.equal(after, expected)  # values; a pruned -0.0 may become +0.0 on the last step
    assert torch.equal(state.weight("0").detach(), quantizer(state.weight("0").detach(), levels))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_uniform_integer_weights_are_narrow_exact_codes(dtype: type) -> None:
    rng = np.random.default_rng(5)
    for bits, step in ((4, 0.0625), (8, 3 * 2.0**-12), (2, 1.0)):
        top = (1 << (bits - 1)) - 1
        q = rng.integers(-top, top, size=(6, 5, 3, 3), endpoint=True)
        codes = uniform_integer_weights("layer", (q * step).astype(dtype), bits, step)
        assert codes.dtype == np.int8 and np.array_equal(codes, q)
        for bad in (0.5 * step, (top + 1) * step, np.nan, np.inf):
            weights = (q * step).astype(dtype)
            weights.reshape(-1)[7] = bad
            with pytest.raises(UnsupportedLayerError, match="uniform-quantized"):
                uniform_integer_weights("layer", weights, bits, step)


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
