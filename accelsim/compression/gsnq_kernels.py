"""Numba kernels of GSNQ: single passes over a layer's weights, read in place, no temporaries.

Choosing a layer's levels needs, per sign, the largest magnitude and three histograms of squared
errors by level bin (see :func:`accelsim.compression.gsnq.choose_levels`). Gathering the kept
weights of each sign and computing the histograms with tensor operations took about 80 bytes per
weight (VGG-16's 102.8 M-weight layer: several GB); these kernels read the weight and its mask in
place. Each histogram bin is accumulated in float64 in the order of the weights' flat index, one
weight at a time, exactly as ``torch.bincount`` adds them, so the sums (and the split chosen from
them) are bit for bit those of the tensor formulation. Compiled once, cached on disk.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit


@njit(cache=True)
def sign_extremes(weight: np.ndarray, mask: np.ndarray) -> tuple[int, int, float, float, float, float]:
    """Statistics of the kept entries of flat ``weight`` (``mask`` True), in float64.

    Returns:
        ``(positives, negatives, largest positive, largest negative magnitude, largest, smallest)``;
        the last two are -inf and inf when nothing is kept.
    """
    positives, negatives = 0, 0
    top_positive, top_negative = 0.0, 0.0
    largest, smallest = -np.inf, np.inf
    for i in range(weight.size):
        if not mask[i]:
            continue
        w = np.float64(weight[i])
        largest = max(largest, w)
        smallest = min(smallest, w)
        if w > 0:
            positives += 1
            top_positive = max(top_positive, w)
        elif w < 0:
            negatives += 1
            top_negative = max(top_negative, -w)
    return positives, negatives, top_positive, top_negative, largest, smallest


@njit(cache=True, inline="always")
def _accumulate(histogram: np.ndarray, magnitude: float, top: int) -> None:
    """Add one magnitude > 0 to the (3, bins) error histogram of a sign whose largest level is 2**top.

    Rows: error if quantized to its nearest level; if zeroed; if quantized at the edge (to the
    smallest level 2 * 2**e or 0, the boundary being 2**e). The bin is ``top - e`` with ``e`` the
    exponent of the nearest power of two (at most ``top``), the last bin holding all smaller ones.
    """
    mantissa, exponent = math.frexp(magnitude)
    nearest = exponent - 1 + (1 if mantissa >= 0.75 else 0)
    nearest = min(nearest, top)
    level = math.ldexp(1.0, nearest)
    index = min(top - nearest, histogram.shape[1] - 1)
    kept = magnitude - level
    histogram[0, index] += kept * kept
    histogram[1, index] += magnitude * magnitude
    edge = magnitude - 2.0 * level if magnitude >= level else magnitude
    histogram[2, index] += edge * edge


@njit(cache=True)
def sign_histograms(
    weight: np.ndarray, mask: np.ndarray, top_positive: int, bins_positive: int, top_negative: int, bins_negative: int
) -> tuple[np.ndarray, np.ndarray]:
    """The (3, bins) float64 error histograms of the kept positive and negative weights of flat ``weight``."""
    positive = np.zeros((3, bins_positive))
    negative = np.zeros((3, bins_negative))
    for i in range(weight.size):
        if not mask[i]:
            continue
        w = np.float64(weight[i])
        if w > 0:
            _accumulate(positive, w, top_positive)
        elif w < 0:
            _accumulate(negative, -w, top_negative)
    return positive, negative


@njit(cache=True)
def quantize_into(
    weight: np.ndarray, out: np.ndarray, top_positive: int, bottom_positive: int, top_negative: int, bottom_negative: int
) -> None:
    """Write to float32 ``out`` the nearest GSNQ level of every entry of flat ``weight``.

    A sign's levels are ``2**top .. 2**bottom`` (none when ``bottom > top``). A magnitude below
    half the smallest level becomes +0.0; any other its nearest power of two (mantissa exactly 1.5
    going up), clamped to the sign's levels. Weights must be finite.
    """
    for i in range(weight.size):
        w = np.float64(weight[i])
        top, bottom = (top_positive, bottom_positive) if w > 0 else (top_negative, bottom_negative)
        magnitude = abs(w)
        if bottom > top or magnitude < math.ldexp(1.0, bottom - 1):
            out[i] = 0.0
            continue
        mantissa, exponent = math.frexp(magnitude)
        nearest = min(max(exponent - 1 + (1 if mantissa >= 0.75 else 0), bottom), top)
        out[i] = math.copysign(math.ldexp(1.0, nearest), w)
