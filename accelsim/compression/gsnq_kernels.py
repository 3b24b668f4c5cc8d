"""Numba kernels of GSNQ: single passes over a layer's weights, read in place, no temporaries.

Choosing a layer's levels needs, per sign, the largest magnitude and three histograms of squared
errors by level bin (see :func:`accelsim.compression.gsnq.choose_levels`); quantizing maps every
weight to its nearest level. With tensor operations over the kept weights of each sign these took
about 80 bytes per weight (VGG-16's 102.8 M-weight layer: several GB); the kernels here read the
weight and its mask in place.

They work on the bit patterns of the float weights (``bits``: the same memory viewed as unsigned
integers of the float's width, ``mantissa_bits`` 23 for float32, 52 for float64). For a
non-negative float the patterns order as the values do, the exponent field gives the power of two
at or below it, and the top mantissa bit says whether the value is at least 1.5 times that power,
i.e. nearer the next one (a tie going up). Subnormal weights, which have no implicit leading bit,
take an exact ``frexp`` path. Each histogram bin is accumulated in float64 in the order of the
weights' flat index, one weight at a time, exactly as ``torch.bincount`` adds them, so the sums
(and the split chosen from them) are bit for bit those of the tensor formulation. Compiled once,
cached on disk.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

#: ``POWERS[e + POWER_OFFSET] == 2.0**e`` in float64, for every exponent ``e`` of a float64.
POWER_OFFSET = 1074
POWERS = np.ldexp(1.0, np.arange(-POWER_OFFSET, 1024))


@njit(cache=True, inline="always")
def _layout(bits: np.ndarray) -> tuple[int, int]:
    """``(sign shift, magnitude mask)`` of the unsigned bit patterns ``bits``."""
    shift = bits.itemsize * 8 - 1
    one = bits.dtype.type(1)
    return shift, (one << shift) - one


@njit(cache=True, inline="always")
def nearest_exponent(magnitude_bits: int, magnitude: float, mantissa_bits: int) -> int:
    """Exponent ``e`` of the power of two nearest to a magnitude > 0 (``1.5 * 2**e`` goes up).

    ``magnitude_bits`` is the magnitude's bit pattern in its own float type (float32 when
    ``mantissa_bits`` is 23, else float64), ``magnitude`` its value in float64.
    """
    field = np.int64(magnitude_bits >> mantissa_bits)
    if field == 0:  # subnormal: exact, rare
        mantissa, exponent = math.frexp(magnitude)
        return exponent - 1 + (1 if mantissa >= 0.75 else 0)
    bias = 127 if mantissa_bits == 23 else 1023
    return field - bias + np.int64((magnitude_bits >> (mantissa_bits - 1)) & 1)


@njit(cache=True)
def sign_extremes(bits: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Count and largest magnitude (as a bit pattern) of the kept non-zero weights of each sign.

    Returns:
        ``(counts, largest)``, each indexed by the sign bit (0 positive, 1 negative).
    """
    shift, magnitude_mask = _layout(bits)
    counts = np.zeros(2, dtype=np.int64)
    largest = np.zeros(2, dtype=bits.dtype)
    for i in range(bits.size):
        magnitude = bits[i] & magnitude_mask
        if mask[i] and magnitude != 0:
            sign = np.int64(bits[i] >> shift)
            counts[sign] += 1
            largest[sign] = max(largest[sign], magnitude)
    return counts, largest


@njit(cache=True)
def sign_histograms(
    weight: np.ndarray, bits: np.ndarray, mask: np.ndarray, mantissa_bits: int, tops: np.ndarray, bins: np.ndarray
) -> np.ndarray:
    """The float64 error histograms of the kept weights of each sign, shape (2, 3, max(bins)).

    ``weight`` and ``bits`` are the same flat memory as floats and as bit patterns. For the sign
    ``s`` (0 positive, 1 negative) whose largest level is ``2**tops[s]``, each kept magnitude ``m``
    adds to bin ``top - e`` (``2**e`` its nearest power of two, at most the top; the last of the
    sign's ``bins[s]`` bins holds all smaller ones): row 0 the error ``(m - 2**e)**2`` of its
    nearest level, row 1 ``m**2`` (zeroed), row 2 the error at the edge (quantized to the smallest
    level ``2 * 2**e`` or to 0, the boundary being ``2**e``).
    """
    shift, magnitude_mask = _layout(bits)
    histogram = np.zeros((2, 3, bins.max()))
    for i in range(weight.size):
        magnitude_bits = bits[i] & magnitude_mask
        if not mask[i] or magnitude_bits == 0:
            continue
        sign = np.int64(bits[i] >> shift)
        m = abs(np.float64(weight[i]))
        top = tops[sign]
        exponent = min(nearest_exponent(magnitude_bits, m, mantissa_bits), top)
        level = POWERS[exponent + POWER_OFFSET]
        index = min(top - exponent, bins[sign] - 1)
        kept = m - level
        histogram[sign, 0, index] += kept * kept
        histogram[sign, 1, index] += m * m
        edge = m - 2.0 * level if m >= level else m
        histogram[sign, 2, index] += edge * edge
    return histogram


@njit(cache=True)
def quantize_bits(
    bits: np.ndarray, out: np.ndarray, mantissa_bits: int, threshold: np.ndarray, low: np.ndarray, high: np.ndarray
) -> None:
    """Write to ``out`` (bit patterns of the same float type) the nearest GSNQ level of every weight.

    Per sign (indexed by the sign bit), ``threshold`` is the pattern of half the smallest level,
    ``low`` and ``high`` those of the smallest and largest level: a magnitude below the threshold
    becomes +0.0, any other its nearest power of two clamped to ``[low, high]``, with the weight's
    sign. A sign without levels has the threshold of infinity. Weights must be finite.
    """
    shift, magnitude_mask = _layout(bits)
    one = bits.dtype.type(1)
    half = one << (mantissa_bits - 1)
    exponent_mask = magnitude_mask & ~((one << mantissa_bits) - one)
    zero = bits.dtype.type(0)
    for i in range(bits.size):
        sign = bits[i] >> shift
        magnitude = bits[i] & magnitude_mask
        level = min(max((magnitude + half) & exponent_mask, low[sign]), high[sign])
        out[i] = (level | (bits[i] & ~magnitude_mask)) if magnitude >= threshold[sign] else zero
