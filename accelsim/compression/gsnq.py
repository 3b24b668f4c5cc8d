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
import math
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import torch
from torch import nn

from .checks import enum_option, is_integer, is_real, require
from .levels import MAX_BITS, MAX_EXPONENT, MIN_BITS, MIN_EXPONENT, GsnqLevels, SignLevels
from .magnitude import pruned_count
from .records import MaskedModel, as_masked, set_weight

#: INQ's accumulated portions of quantized weights.
DEFAULT_PORTIONS = (0.5, 0.75, 0.875, 1.0)

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
        and all(a < b for a, b in zip(portions, portions[1:], strict=False))
        and portions[-1] == 1
    )
    require(ok, "portions", "strictly increasing numbers in (0, 1] ending at 1.0", portions)
    return tuple(float(p) for p in portions)  # type: ignore[union-attr]


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


def nearest_exponent(magnitudes: torch.Tensor) -> torch.Tensor:
    """int64 exponent of the power of two nearest to each positive float64 magnitude.

    The boundary between ``2**(e-1)`` and ``2**e`` is ``0.75 * 2**e``, which goes up. Computed
    with ``frexp`` (exact, no logarithm).
    """
    mantissa, exponent = torch.frexp(magnitudes)  # m = mantissa * 2**exponent, mantissa in [0.5, 1)
    return exponent.to(torch.int64) - 1 + (mantissa >= 0.75).to(torch.int64)


def quantize_magnitudes(magnitudes: torch.Tensor, levels: SignLevels | None) -> torch.Tensor:
    """The level (or 0) nearest to each float64 magnitude >= 0, for one sign's levels."""
    if levels is None:
        return torch.zeros_like(magnitudes)
    exponent = nearest_exponent(magnitudes).clamp(max=levels.top)
    below = exponent < levels.bottom
    exponent = torch.where(below, torch.full_like(exponent, levels.bottom), exponent)
    value = torch.ldexp(torch.ones_like(magnitudes), exponent)
    # Below the smallest level b, the boundary between 0 and b is b / 2.
    keep = (magnitudes > 0) & (~below | (magnitudes >= value / 2))
    return torch.where(keep, value, torch.zeros_like(magnitudes))


def quantize(weight: torch.Tensor, levels: GsnqLevels) -> torch.Tensor:
    """``weight`` (any shape, float) with every entry replaced by its nearest GSNQ level (float32)."""
    w = weight.detach().to(torch.float64)
    positive = quantize_magnitudes(w.clamp(min=0), levels.positive)
    negative = quantize_magnitudes((-w).clamp(min=0), levels.negative)
    return (positive - negative).to(torch.float32)


def split_errors(magnitudes: torch.Tensor, top: int, max_count: int) -> torch.Tensor:
    """Squared quantization error of one sign's magnitudes for every level count 0..max_count.

    Args:
        magnitudes: float64, all > 0, at most ``1.5 * 2**top`` (true when ``top`` is their n1).
        top: exponent of the largest level.
        max_count: the largest level count to evaluate.

    Returns:
        float64 tensor ``e`` of length ``max_count + 1``: ``e[n]`` is ``sum((m - Q_n(m))**2)`` where
        ``Q_n`` quantizes to the ``n`` levels ``2**top .. 2**(top-n+1)`` (``Q_0`` is 0).

    Each magnitude falls in the bin ``j = top - nearest_exponent(m)`` of its nearest level; with
    ``n`` levels it is quantized to that level if ``j < n``, to the smallest level ``2 * 2**e`` or 0
    if ``j == n`` (the boundary being ``2**e``), and to 0 if ``j > n``. Per-bin sums give every
    ``e[n]`` in one pass.
    """
    exponent = nearest_exponent(magnitudes).clamp(max=top)
    level = torch.ldexp(torch.ones_like(magnitudes), exponent)
    bins = max_count + 2
    index = (top - exponent).clamp(max=bins - 1)
    squared = magnitudes**2
    kept = torch.bincount(index, (magnitudes - level) ** 2, minlength=bins)
    zeroed = torch.bincount(index, squared, minlength=bins)
    edge = torch.bincount(
        index, torch.where(magnitudes >= level, (magnitudes - 2 * level) ** 2, squared), minlength=bins
    )
    kept_below = torch.cat([torch.zeros(1, dtype=torch.float64), torch.cumsum(kept, 0)])  # bins < n
    zeroed_from = torch.flip(torch.cumsum(torch.flip(zeroed, [0]), 0), [0])  # bins >= n
    counts = torch.arange(max_count + 1)
    errors = kept_below[counts] + edge[counts] + zeroed_from[counts + 1]
    errors[0] = zeroed_from[0]
    return errors


def _sign_candidates(magnitudes: torch.Tensor, codes: int) -> tuple[int, torch.Tensor]:
    """``(top, errors by level count)`` for one sign; an empty sign has only count 0 (error 0)."""
    if magnitudes.numel() == 0:
        return 0, torch.zeros(1, dtype=torch.float64)
    top = min(top_exponent(magnitudes.max().item()), MAX_EXPONENT)
    max_count = max(0, min(codes, top - MIN_EXPONENT + 1))
    return top, split_errors(magnitudes, top, max_count)


def max_span(bits: int) -> int:
    """Most consecutive powers of two a layer's levels of both signs may cover: ``2**(bits-1) + 1``."""
    return (1 << (bits - 1)) + 1


def _span(pos_top: int, positive: int, neg_top: int, negative: int) -> int:
    """Powers of two from the smallest to the largest level of both signs (0 without levels)."""
    ranges = [(top - count + 1, top) for top, count in ((pos_top, positive), (neg_top, negative)) if count]
    return max(top for _, top in ranges) - min(bottom for bottom, _ in ranges) + 1 if ranges else 0


class GsnqSplit(str, enum.Enum):
    """How the ``2**bits - 1`` non-zero codes of a layer are split between the two signs."""

    MIN_ERROR = "min-error"  #: the split of least squared quantization error (default)
    BALANCED = "balanced"  #: ``2**(bits-1)`` levels to the sign of larger magnitude, one fewer to the other


def choose_levels(weights: torch.Tensor, bits: int, split: GsnqSplit | str = GsnqSplit.MIN_ERROR) -> GsnqLevels:
    """The GSNQ levels of a layer whose kept (unpruned) weights are ``weights`` (any shape).

    See the module docstring for the rule (per-sign n1, then the split of the codes).
    """
    bits = check_bits(bits)
    split = enum_option(GsnqSplit, split, "gsnq_split")
    codes = 2**bits - 1
    w = weights.detach().reshape(-1).to(torch.float64)
    pos_top, pos_errors = _sign_candidates(w[w > 0], codes)
    neg_top, neg_errors = _sign_candidates(-w[w < 0], codes)
    positive_larger = (w.max().item() if w.numel() else 0.0) >= (-w.min().item() if w.numel() else 0.0)
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
        for p in range(len(pos_errors)):
            for n in range(len(neg_errors)):
                if _span(pos_top, p, neg_top, n) > span:
                    errors[p, n] = math.inf
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
    return assign_with(model, lambda kept: choose_levels(kept, bits, split))


def assign_with(model: nn.Module | MaskedModel, choose: Callable[[torch.Tensor], Any]) -> MaskedModel:
    """Give every prunable layer the levels ``choose`` picks from its kept weights (a 1-D tensor).

    No weight changes yet, and every layer starts with no weight quantized.
    """
    state = as_masked(model)
    records = []
    for record in state.records:
        weight = state.weight(record.name).detach()
        records.append(replace(record, levels=choose(weight[record.mask]), quantized=torch.zeros_like(record.mask)))
    return state.with_records(records)


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
    state = as_masked(model)
    records = []
    for record in state.records:
        if record.levels is None or record.quantized is None:
            raise ValueError(f"layer {record.name!r} has no levels: call assign_levels or assign_steps first")
        target = pruned_count(portion, int(record.mask.sum()))
        missing = target - int(record.quantized.sum())
        if missing <= 0:
            continue
        weight = state.weight(record.name).detach()
        candidates = record.mask & ~record.quantized
        magnitude = torch.where(candidates, weight.abs(), torch.full_like(weight, -1.0)).reshape(-1)
        chosen = torch.zeros(magnitude.shape, dtype=torch.bool)
        chosen[torch.sort(magnitude, descending=True, stable=True).indices[:missing]] = True
        chosen = chosen.reshape(weight.shape)
        set_weight(state, record.name, torch.where(chosen, quantizer(weight, record.levels), weight))
        records.append(replace(record, quantized=record.quantized | chosen))
    return state.with_records(records)


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
    """
    steps = check_portions(portions)
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
    steps = check_portions(portions)
    for index, portion in enumerate(steps):
        state = quantize_portion(state, portion, quantizer)
        if retrain is not None and index < len(steps) - 1:
            state = retrain(state)
    return state
