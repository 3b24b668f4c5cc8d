"""Uniform symmetric b-bit weight quantization, with the same INQ-style incremental steps as GSNQ.

Levels (per layer, chosen once from the layer's kept weights when quantization starts, see
:func:`choose_step`): ``q * step`` for the integer codes ``|q| <= M = 2**(bits-1) - 1`` (the
two's-complement code ``-2**(bits-1)`` is unused, so the grid is symmetric and 0 is a level).

Step rule: the step of least squared quantization error ``sum((w - Q(w))**2)`` over the layer's
kept weights among the :data:`STEP_GRID` candidates ``(k / STEP_GRID) * max|w| / M``,
``k = 1 .. STEP_GRID`` (ties: the larger step). The candidate ``k = STEP_GRID`` is the plain
"no clipping" rule ``max|w| / M``, so the chosen step is never worse in squared error than it;
smaller steps clip the few largest weights to ``+-M * step`` and resolve the many small ones
more finely, which pays at 3 and 4 bits. It is the criterion GSNQ's default code split minimizes,
so the two formats are compared on equal terms. Each candidate is rounded to
:data:`~accelsim.compression.levels.STEP_SIGNIFICANT_BITS` significant bits (and to at least
``2**-126``), so every level ``q * step`` is exact in float32 and the integer datapath sees
exactly the float model's weights. A layer without a non-zero kept weight gets ``step = 1.0``.

Quantization ``Q`` rounds ``w / step`` to the nearest integer (half away from zero: a weight
exactly between two levels goes to the larger magnitude, as in GSNQ) and clamps it to ``[-M, M]``.
Pruned weights stay exactly 0.

Incremental quantization reuses GSNQ's framework (:func:`~accelsim.compression.gsnq.quantize_incrementally`):
at accumulated portions ``p1 < ... = 1`` the largest-magnitude kept weights are quantized and
frozen, and the rest are retrained in between. One-shot quantization is ``portions=(1.0,)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import torch
from numba import njit
from torch import nn

from .gsnq import assign_with, check_bits, check_steps, quantize_incrementally
from .levels import MIN_EXPONENT, STEP_SIGNIFICANT_BITS, UniformLevels
from .records import MaskedModel

#: Number of candidate steps per layer (see the module docstring).
STEP_GRID = 100


def round_step(step: float) -> float:
    """``step`` (> 0) rounded to ``STEP_SIGNIFICANT_BITS`` significant bits (half to even), >= ``2**-126``."""
    mantissa, exponent = math.frexp(step)
    rounded = math.ldexp(round(math.ldexp(mantissa, STEP_SIGNIFICANT_BITS)), exponent - STEP_SIGNIFICANT_BITS)
    return max(rounded, 2.0**MIN_EXPONENT)


def codes(weight: torch.Tensor, step: float, max_code: int) -> torch.Tensor:
    """int64 code of every weight (any shape): ``w / step`` rounded half away from zero, clamped to ``+-max_code``."""
    w = weight.detach().to(torch.float64)
    magnitude = torch.floor(w.abs() / step + 0.5).clamp(max=max_code).to(torch.int64)
    return torch.where(w < 0, -magnitude, magnitude)


@njit(cache=True)
def _round_to_grid(weight: np.ndarray, step: float, max_code: int, out: np.ndarray) -> None:
    """``out[i]``: the float32 level of the flat ``weight[i]``, as :func:`codes` rounds it (one pass)."""
    for i in range(weight.size):
        w = np.float64(weight[i])
        magnitude = np.int64(min(math.floor(abs(w) / step + 0.5), max_code))
        code = -magnitude if w < 0 else magnitude
        out[i] = np.float32(np.float64(code) * step)


def round_to_grid(weight: torch.Tensor, levels: UniformLevels) -> torch.Tensor:
    """``weight`` (any shape, finite floats) with every entry replaced by its level ``q * step`` (float32, exact).

    The codes are those of :func:`codes`; one pass over the weights, read in place (float32 and
    float64 weights; others are converted to float64 first). Zeros and weights rounded to 0 become +0.0.
    """
    w = weight.detach()
    if w.dtype not in (torch.float32, torch.float64):
        w = w.to(torch.float64)
    flat = w.reshape(-1).contiguous().numpy()
    out = np.empty(flat.shape, dtype=np.float32)
    _round_to_grid(flat, float(levels.step), levels.max_code, out)
    return torch.from_numpy(out).reshape(weight.shape)


def grid_errors(magnitudes: torch.Tensor, steps: torch.Tensor, max_code: int) -> torch.Tensor:
    """Squared quantization error ``sum((m - Q(m))**2)`` of the magnitudes for every candidate step.

    Args:
        magnitudes: float64, ascending, all > 0.
        steps: float64 (K,) candidate steps, each with at most 17 significant bits.
        max_code: the largest code M.

    Returns:
        float64 (K,) errors. A magnitude has code ``>= q`` exactly when it is ``>= (q - 1/2) * step``
        (a product exact in float64), so one ``searchsorted`` gives each code's run of the sorted
        magnitudes and prefix sums give ``sum((m - q * step)**2)`` of each run (exact up to
        float64 rounding of the sums).
    """
    count = magnitudes.numel()
    zero = torch.zeros(1, dtype=torch.float64)
    sum1 = torch.cat([zero, torch.cumsum(magnitudes, 0)])
    sum2 = torch.cat([zero, torch.cumsum(magnitudes**2, 0)])
    code = torch.arange(max_code + 1, dtype=torch.float64)
    edges = torch.searchsorted(magnitudes, (code[1:] - 0.5) * steps.unsqueeze(1))  # first of code >= q
    start = torch.cat([torch.zeros_like(edges[:, :1]), edges], 1)
    end = torch.cat([edges, torch.full_like(edges[:, :1], count)], 1)
    level = code * steps.unsqueeze(1)
    runs = (sum2[end] - sum2[start]) - 2 * level * (sum1[end] - sum1[start]) + level**2 * (end - start)
    return runs.sum(1)


def choose_step(weights: torch.Tensor, bits: int) -> float:
    """The step of a layer whose kept (unpruned) weights are ``weights`` (any shape).

    See the module docstring for the rule (least squared error over the candidate grid).
    """
    bits = check_bits(bits)
    max_code = (1 << (bits - 1)) - 1
    magnitudes = weights.detach().reshape(-1).to(torch.float64).abs()
    magnitudes = torch.sort(magnitudes[magnitudes > 0]).values
    if magnitudes.numel() == 0:
        return 1.0
    widest = magnitudes[-1].item() / max_code
    candidates = sorted({round_step(widest * k / STEP_GRID) for k in range(1, STEP_GRID + 1)})
    errors = grid_errors(magnitudes, torch.tensor(candidates, dtype=torch.float64), max_code)
    return candidates[int(torch.nonzero(errors == errors.min())[-1])]


def assign_steps(model: nn.Module | MaskedModel, bits: int) -> MaskedModel:
    """Choose the uniform step of every prunable layer from its kept weights; no weight changes yet.

    Every layer starts with no weight quantized.
    """
    bits = check_bits(bits)
    return assign_with(model, lambda kept: UniformLevels(bits, choose_step(kept, bits)))


def uniform_quantize(
    model: nn.Module | MaskedModel,
    bits: int,
    *,
    portions: Sequence[float] = (1.0,),
    retrain: Callable[[MaskedModel], MaskedModel] | None = None,
) -> MaskedModel:
    """Quantize every prunable layer to ``bits``-bit uniform symmetric levels, incrementally (a new model).

    Args:
        model: the (pruned) model.
        bits: code width b, 2..8 (codes ``-(2**(b-1) - 1) .. 2**(b-1) - 1``).
        portions: accumulated portions of quantized weights per step, ending at 1.0; the default
            ``(1.0,)`` is one-shot quantization.
        retrain: called on the partly quantized model after every step but the last; it must
            keep the frozen weights unchanged, as :func:`accelsim.compression.retrain.retrain` does.

    Returns:
        A model whose every conv / linear weight is ``q * step`` of its layer (0 where pruned).

    Raises:
        ConfigError: ``model`` is not a model, or a bad ``bits``, ``portions`` or ``retrain``.
    """
    steps = check_steps(portions, retrain)
    return quantize_incrementally(assign_steps(model, bits), steps, retrain, round_to_grid)
