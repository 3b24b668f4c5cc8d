"""GSNQ: sign-based, low-bit power-of-two quantization with INQ-style incremental steps.

Levels (per layer, chosen once from the layer's kept weights when quantization starts, see
:func:`choose_levels`):

* For each sign, ``top = n1 = floor(log2(4 s / 3))`` with ``s`` the largest magnitude of that
  sign's weights (INQ's rule, applied per sign: the "sign-based" ranges). The sign's levels are
  ``2**top, 2**(top-1), ...`` down to its ``count``-th level.
* By default (:attr:`GsnqSplit.MIN_ERROR`) the ``2**bits - 1`` non-zero codes are split between
  the signs to minimize the layer's squared quantization error ``sum((w - Q(w))**2)`` over its
  kept weights (exactly, for every possible split). Among splits of equal error (only when there
  are more codes than useful levels, e.g. at 8 bits) the one with the fewest levels wins, then the
  most balanced one, then the one giving more levels to the sign of larger maximum magnitude. A
  sign with no weights gets no levels, and no level is below 2**-126 (the smallest normal
  float32). :attr:`GsnqSplit.BALANCED` instead gives ``2**(bits-1)`` levels to the sign of larger
  maximum magnitude and one fewer to the other.
* Both signs' levels lie within :func:`max_span` ``= 2**(bits-1) + 1`` consecutive powers of two
  (from the smallest level of either sign to the largest): the shift PEs shift an activation by
  up to ``2**(bits-1)`` places relative to the layer's smallest level (docs/rtl.md). Splits that
  would span more are not considered (a sign whose top lies below the window gets fewer levels,
  or none); with tops close together, as in every built-in network, no split is excluded.

Quantization ``Q`` maps a weight to the nearest level in the linear domain, with 0 a level: with
adjacent levels ``a < b`` of a sign the boundary is ``(a + b) / 2`` (INQ's rule; a weight exactly on
a boundary goes to the larger level), so a magnitude below half the smallest level becomes 0 and
one above the largest level is clamped to it. Pruned weights stay 0.

Incremental quantization (INQ): at accumulated portions ``p1 < p2 < ... = 1``, the
``round(p * kept)`` largest-magnitude kept weights of each layer are quantized and frozen (the
ones not yet quantized are taken largest first); between steps the rest are retrained (by a
callback, see :func:`gsnq_quantize`). One-shot quantization is ``portions=(1.0,)``.
"""

from __future__ import annotations

import enum
import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import torch
from torch import nn

from ..errors import ConfigError, brief
from .checks import enum_option, is_integer, is_real, require
from .gsnq_kernels import quantize_bits, sign_extremes, sign_histograms
from .levels import MAX_BITS, MAX_EXPONENT, MIN_BITS, MIN_EXPONENT, GsnqLevels, SignLevels
from .magnitude import pruned_count
from .records import MaskedModel, count_true, derive, view
from .selection import smallest

#: Rounds a layer's weight tensor (any shape) to the layer's levels: one weight format's rule.
Quantizer = Callable[[torch.Tensor, Any], torch.Tensor]


def check_bits(bits: object) -> int:
    """``bits`` if it is an integer from 2 to 8, else ConfigError."""
    require(
        is_integer(bits) and MIN_BITS <= bits <= MAX_BITS, "bits", f"an integer from {MIN_BITS} to {MAX_BITS}", bits
    )
    return int(bits)  # type: ignore[call-overload]


def check_portions(portions: object) -> tuple[float, ...]:
    """``portions`` as a tuple if strictly increasing numbers in (0, 1] ending at 1.0, else ConfigError."""
    ok = (
        isinstance(portions, (tuple, list))
        and len(portions) >= 1
        and all(is_real(p) and 0 < p <= 1 for p in portions)
        and all(a < b for a, b in itertools.pairwise(portions))
        and portions[-1] == 1
    )
    require(ok, "portions", "strictly increasing numbers in (0, 1] ending at 1.0", portions)
    return tuple(float(p) for p in portions)  # type: ignore[union-attr]


def check_steps(portions: object, retrain: object) -> tuple[float, ...]:
    """The steps of an incremental quantization: ``portions`` as :func:`check_portions` returns them,
    once ``retrain`` is None or a function (ConfigError otherwise)."""
    steps = check_portions(portions)
    if retrain is not None and not callable(retrain):
        raise ConfigError(
            f"retrain must be a function of a MaskedModel or None (e.g. functools.partial(accelsim.retrain, "
            f"data=..., recipe=..., config=...)), not {brief(retrain)}"
        )
    return steps


def top_exponent(largest: float) -> int:
    """INQ's ``n1 = floor(log2(4 s / 3))`` for ``s = largest > 0``, exactly (no rounding slips).

    It is the largest ``n`` with ``3 * 2**(n - 2) <= s``.
    """
    n = math.floor(math.log2(4.0 * largest / 3.0))
    while 3.0 * 2.0 ** (n - 2) > largest:
        n -= 1
    while 3.0 * 2.0 ** (n - 1) <= largest:
        n += 1
    return n


#: Float types the kernels read as they are (others are converted exactly to float64 first):
#: the unsigned type of the same width, and the mantissa bits.
_LAYOUTS = {np.dtype(np.float32): (np.uint32, 23), np.dtype(np.float64): (np.uint64, 52)}


def _flat_array(weight: torch.Tensor) -> np.ndarray:
    """``weight`` as a flat contiguous float32 or float64 numpy array (a view when it can be)."""
    w = weight.detach()
    if w.dtype not in (torch.float32, torch.float64):
        w = w.to(torch.float64)
    return w.reshape(-1).contiguous().numpy()


def _pattern(value: float, dtype: np.dtype) -> int:
    """The bit pattern of the float ``value`` in float type ``dtype``, as an unsigned integer."""
    return int(np.array(value, dtype=dtype).view(_LAYOUTS[dtype][0]))


def _sign_patterns(levels: SignLevels | None, dtype: np.dtype) -> tuple[int, int, int]:
    """``(threshold, low, high)`` patterns of one sign: half the smallest level, smallest, largest."""
    if levels is None:
        return _pattern(math.inf, dtype), 0, 0
    return (
        _pattern(2.0 ** (levels.bottom - 1), dtype),
        _pattern(2.0**levels.bottom, dtype),
        _pattern(2.0**levels.top, dtype),
    )


def quantize(weight: torch.Tensor, levels: GsnqLevels) -> torch.Tensor:
    """``weight`` (any shape, finite floats) with every entry replaced by its nearest GSNQ level (float32).

    Zeros and weights quantized to 0 become +0.0.
    """
    flat = _flat_array(weight)
    unsigned, mantissa_bits = _LAYOUTS[flat.dtype]
    patterns = np.array(
        [_sign_patterns(levels.positive, flat.dtype), _sign_patterns(levels.negative, flat.dtype)], dtype=unsigned
    )
    out = np.empty_like(flat)
    quantize_bits(flat.view(unsigned), out.view(unsigned), mantissa_bits, *patterns.T.copy())
    return torch.from_numpy(out.astype(np.float32, copy=False)).reshape(weight.shape)


def errors_by_count(histogram: np.ndarray, max_count: int) -> torch.Tensor:
    """Squared quantization error of one sign's magnitudes for every level count 0..max_count.

    Args:
        histogram: the sign's (3, max_count + 2) float64 error histograms
            (one sign of :func:`accelsim.compression.gsnq_kernels.sign_histograms`).
        max_count: the largest level count to evaluate.

    Returns:
        float64 tensor ``e`` of length ``max_count + 1``: ``e[n]`` is ``sum((m - Q_n(m))**2)`` where
        ``Q_n`` quantizes to the ``n`` levels ``2**top .. 2**(top-n+1)`` (``Q_0`` is 0).

    Each magnitude falls in the bin ``j = top - e`` of its nearest level ``2**e``; with ``n`` levels
    it is quantized to that level if ``j < n``, to the smallest level ``2 * 2**e`` or 0 if ``j == n``
    (the boundary being ``2**e``), and to 0 if ``j > n``. Per-bin sums give every ``e[n]`` at once.
    """
    kept, zeroed, edge = (torch.from_numpy(np.ascontiguousarray(row)) for row in histogram)
    kept_below = torch.cat([torch.zeros(1, dtype=torch.float64), torch.cumsum(kept, 0)])  # bins < n
    zeroed_from = torch.flip(torch.cumsum(torch.flip(zeroed, [0]), 0), [0])  # bins >= n
    counts = torch.arange(max_count + 1)
    errors = kept_below[counts] + edge[counts] + zeroed_from[counts + 1]
    errors[0] = zeroed_from[0]
    return errors


def _level_range(count: int, largest: float, codes: int) -> tuple[int, int]:
    """``(top, max_count)`` of a sign with ``count`` weights of largest magnitude ``largest``."""
    if count == 0:
        return 0, 0
    top = min(top_exponent(largest), MAX_EXPONENT)
    return top, max(0, min(codes, top - MIN_EXPONENT + 1))


def max_span(bits: int) -> int:
    """Most consecutive powers of two a layer's levels of both signs may cover: ``2**(bits-1) + 1``."""
    return (1 << (bits - 1)) + 1


def _spans(pos_top: int, positive: torch.Tensor, neg_top: int, negative: torch.Tensor) -> torch.Tensor:
    """Powers of two from the smallest to the largest level of both signs (0 without levels), for
    every pair of level counts (``positive`` and ``negative`` broadcast together)."""
    has_p, has_n = positive > 0, negative > 0
    pos_bottom, neg_bottom = pos_top - positive + 1, neg_top - negative + 1
    top = torch.maximum(torch.where(has_p, pos_top, neg_top), torch.where(has_n, neg_top, pos_top))
    bottom = torch.minimum(torch.where(has_p, pos_bottom, neg_bottom), torch.where(has_n, neg_bottom, pos_bottom))
    return torch.where(has_p | has_n, top - bottom + 1, torch.zeros((), dtype=torch.int64))


class GsnqSplit(str, enum.Enum):
    """How the ``2**bits - 1`` non-zero codes of a layer are split between the two signs."""

    MIN_ERROR = "min-error"  #: the split of least squared quantization error (default)
    BALANCED = "balanced"  #: ``2**(bits-1)`` levels to the sign of larger magnitude, one fewer to the other


def choose_levels(weights: torch.Tensor, bits: int, split: GsnqSplit | str = GsnqSplit.MIN_ERROR) -> GsnqLevels:
    """The GSNQ levels of a layer whose kept (unpruned) weights are ``weights`` (any shape).

    See the module docstring for the rule (per-sign n1, then the split of the codes).
    """
    return layer_levels(weights, torch.ones(weights.shape, dtype=torch.bool), bits, split)


def layer_levels(
    weight: torch.Tensor, mask: torch.Tensor, bits: int, split: GsnqSplit | str = GsnqSplit.MIN_ERROR
) -> GsnqLevels:
    """:func:`choose_levels` of the entries of ``weight`` where the bool ``mask`` is True, read in place."""
    bits = check_bits(bits)
    split = enum_option(GsnqSplit, split, "gsnq_split")
    codes = 2**bits - 1
    flat, kept = _flat_array(weight), mask.reshape(-1).contiguous().numpy()
    unsigned, mantissa_bits = _LAYOUTS[flat.dtype]
    counts, largest = sign_extremes(flat.view(unsigned), kept)
    magnitudes = [float(value) for value in largest.view(flat.dtype)]
    ranges = [_level_range(int(count), magnitude, codes) for count, magnitude in zip(counts, magnitudes)]
    (pos_top, pos_max), (neg_top, neg_max) = ranges
    histograms = sign_histograms(
        flat, flat.view(unsigned), kept, mantissa_bits, np.array([pos_top, neg_top]), np.array([pos_max, neg_max]) + 2
    )
    pos_errors, neg_errors = (
        errors_by_count(histograms[sign, :, : limit + 2], limit) if counts[sign] else torch.zeros(1, dtype=torch.float64)
        for sign, limit in enumerate((pos_max, neg_max))
    )
    # The sign of larger maximum magnitude (an absent sign's is 0; positive on a tie).
    positive_larger = magnitudes[0] >= magnitudes[1]
    span = max_span(bits)
    if split is GsnqSplit.BALANCED:
        larger, smaller = 2 ** (bits - 1), 2 ** (bits - 1) - 1
        wanted_p = codes if len(neg_errors) == 1 else larger if positive_larger else smaller
        wanted_n = codes if len(pos_errors) == 1 else smaller if positive_larger else larger
        positive, negative = min(wanted_p, len(pos_errors) - 1), min(wanted_n, len(neg_errors) - 1)
        floor = max(top for top, count in ((pos_top, positive), (neg_top, negative)) if count) - span + 1 \
            if positive or negative else 0
        positive, negative = max(0, min(positive, pos_top - floor + 1)), max(0, min(negative, neg_top - floor + 1))
    else:
        counts_p = torch.arange(len(pos_errors)).unsqueeze(1)
        counts_n = torch.arange(len(neg_errors)).unsqueeze(0)
        errors = pos_errors.unsqueeze(1) + neg_errors.unsqueeze(0)
        errors[counts_p + counts_n > codes] = math.inf
        errors[_spans(pos_top, counts_p, neg_top, counts_n) > span] = math.inf
        ties = (errors == errors.min()).nonzero().tolist()

        def preference(split: list[int]) -> tuple[int, int, int, int]:
            """Fewest levels, then most balanced, then more levels for the sign of larger magnitude."""
            positive, negative = split
            larger = positive if positive_larger else negative
            return (positive + negative, abs(positive - negative), -larger, positive)

        positive, negative = min(ties, key=preference)
    return GsnqLevels(
        bits=bits,
        positive=SignLevels(pos_top, positive) if positive else None,
        negative=SignLevels(neg_top, negative) if negative else None,
    )


def assign_levels(
    model: nn.Module | MaskedModel, bits: int, split: GsnqSplit | str = GsnqSplit.MIN_ERROR
) -> MaskedModel:
    """Choose the GSNQ levels of every prunable layer from its kept weights; no weight changes yet.

    Every layer starts with no weight quantized.
    """
    bits = check_bits(bits)
    split = enum_option(GsnqSplit, split, "gsnq_split")
    return assign_with_mask(model, lambda weight, mask: layer_levels(weight, mask, bits, split))


def assign_with(model: nn.Module | MaskedModel, choose: Callable[[torch.Tensor], Any]) -> MaskedModel:
    """Give every prunable layer the levels ``choose`` picks from its kept weights (a 1-D tensor).

    No weight changes yet, and every layer starts with no weight quantized.
    """
    return assign_with_mask(model, lambda weight, mask: choose(weight[mask]))


def assign_with_mask(
    model: nn.Module | MaskedModel, choose: Callable[[torch.Tensor, torch.Tensor], Any]
) -> MaskedModel:
    """:func:`assign_with` where ``choose`` reads the whole weight and its bool mask (no gathered copy).

    The result shares the model's tensors with ``model`` (no weight changes, :func:`derive`).
    """
    state = view(model)
    records = [
        replace(
            record,
            levels=choose(state.weight(record.name).detach(), record.mask),
            quantized=torch.zeros_like(record.mask),
        )
        for record in state.records
    ]
    return derive(state, {}, records)


def quantize_portion(model: MaskedModel, portion: float, quantizer: Quantizer = quantize) -> MaskedModel:
    """Quantize and freeze, in each layer, its largest kept weights until ``portion`` of them are.

    In each layer, ``round(portion * kept)`` (half up) kept weights end up quantized: the ones not
    yet quantized are taken in order of decreasing magnitude (ties: lower flat index first).
    ``quantizer`` rounds them to the layer's levels (default GSNQ's :func:`quantize`).

    Raises:
        ValueError: a layer has no levels yet (call :func:`assign_levels` or
            :func:`~accelsim.compression.uniform.assign_steps` first).
    """
    require(is_real(portion) and 0 < portion <= 1, "portion", "a number in (0, 1]", portion)
    state = view(model)
    weights, records = {}, []
    for record in state.records:
        if record.levels is None or record.quantized is None:
            raise ValueError(f"layer {record.name!r} has no levels: call assign_levels or assign_steps first")
        kept, done = count_true(record.mask), count_true(record.quantized)
        missing = pruned_count(portion, kept) - done
        if missing <= 0:
            continue
        weight = state.weight(record.name).detach()
        quantized = quantizer(weight, record.levels)
        if missing == kept - done:  # every kept weight: the pruned ones are 0 already
            weights[record.name] = quantized
            records.append(replace(record, quantized=record.mask))
            continue
        candidates = record.mask & ~record.quantized
        chosen = smallest(torch.where(candidates, -weight.abs(), math.inf), missing)
        weights[record.name] = torch.where(chosen, quantized, weight)
        records.append(replace(record, quantized=record.quantized | chosen))
    return derive(state, weights, records)


def gsnq_quantize(
    model: nn.Module | MaskedModel,
    bits: int,
    *,
    portions: Sequence[float] = (1.0,),
    retrain: Callable[[MaskedModel], MaskedModel] | None = None,
    split: GsnqSplit | str = GsnqSplit.MIN_ERROR,
) -> MaskedModel:
    """Quantize every prunable layer to ``bits``-bit GSNQ levels, incrementally (a new model).

    Args:
        model: the (pruned) model.
        bits: code width, 2..8.
        portions: accumulated portions of quantized weights per step, ending at 1.0; the default
            ``(1.0,)`` is one-shot quantization.
        retrain: called on the partly quantized model after every step but the last (INQ's
            retraining of the not yet quantized weights); it must keep the frozen weights
            (``record.frozen``) unchanged, as :func:`accelsim.compression.retrain.retrain` does.
        split: how each layer's codes are split between the signs.

    Returns:
        A model whose every conv / linear weight is 0 or a level of its layer.

    Raises:
        ConfigError: ``model`` is not a model, or a bad ``bits``, ``portions``, ``retrain`` or ``split``.
    """
    steps = check_steps(portions, retrain)
    return quantize_incrementally(assign_levels(model, bits, split), steps, retrain)


def quantize_incrementally(
    state: MaskedModel,
    portions: Sequence[float],
    retrain: Callable[[MaskedModel], MaskedModel] | None,
    quantizer: Quantizer = quantize,
) -> MaskedModel:
    """INQ's framework: :func:`quantize_portion` at each accumulated portion, ``retrain`` between.

    Args:
        state: a model whose every layer has its levels (and no weight quantized yet).
        portions: accumulated portions of quantized weights, ending at 1.0.
        retrain: called after every step but the last, or None.
        quantizer: rounds a layer's weights to its levels (GSNQ's :func:`quantize` by default).
    """
    steps = check_steps(portions, retrain)
    for index, portion in enumerate(steps):
        state = quantize_portion(state, portion, quantizer)
        if retrain is not None and index < len(steps) - 1:
            state = retrain(state)
    return state
