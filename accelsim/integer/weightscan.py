"""Numba kernels of lowering: single passes over a layer's weights, read in place.

Lowering checks that every weight is 0 or a signed power of two, collects the exponents present,
scales the weights to integers, and bounds every output channel's dot product. Done with numpy
expressions over a whole layer, each step made float64 and int64 temporaries of the layer's size
(VGG-16's 102.8 M-weight layer: several GB and most of a minute, a Python set built weight by
weight); these kernels make none beyond their outputs. Compiled once, cached on disk.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

#: ``k + EXPONENT_OFFSET`` indexes the exponent ``k`` of a float64 power of two ``2**k``
#: (``k`` from -1074, the smallest subnormal, to 1023).
EXPONENT_OFFSET = 1074
#: Number of float64 power-of-two exponents.
EXPONENTS = 1074 + 1024
#: Low bits of the halves :func:`row_sums` splits magnitudes into.
_LOW_BITS = 32


@njit(cache=True)
def exponent_census(weight: np.ndarray) -> tuple[int, np.ndarray, np.ndarray]:
    """Which powers of two the flat float ``weight`` holds, per sign.

    Returns:
        ``(bad, positive, negative)``: ``bad`` is the flat index of the first entry that is not 0
        or a finite signed power of two (-1 if none); ``positive[k + EXPONENT_OFFSET]`` is True when
        ``2**k`` is a weight, ``negative`` likewise for ``-2**k``.
    """
    positive = np.zeros(EXPONENTS, dtype=np.bool_)
    negative = np.zeros(EXPONENTS, dtype=np.bool_)
    for i in range(weight.size):
        w = np.float64(weight[i])
        if w == 0.0:
            continue
        if not math.isfinite(w):
            return i, positive, negative
        mantissa, exponent = math.frexp(abs(w))
        if mantissa != 0.5:
            return i, positive, negative
        if w > 0:
            positive[exponent - 1 + EXPONENT_OFFSET] = True
        else:
            negative[exponent - 1 + EXPONENT_OFFSET] = True
    return -1, positive, negative


@njit(cache=True)
def scale_to_integers(weight: np.ndarray, exponent: int, out: np.ndarray) -> None:
    """``out[i] = weight[i] * 2**-exponent`` as int64, for flat power-of-two weights (exact).

    Every scaled weight must be 0 or ``+-2**s`` with ``0 <= s <= 62`` (checked by the caller).
    """
    for i in range(weight.size):
        out[i] = np.int64(math.ldexp(np.float64(weight[i]), -exponent))


@njit(cache=True)
def row_sums(ints: np.ndarray) -> np.ndarray:
    """Exact per-row sums of the positive entries and of the magnitudes of the negative ones.

    ``ints`` is a (rows, taps) int64 array with fewer than 2**31 taps per row. Each magnitude is
    split into its high and low 32 bits, summed separately (no int64 overflow), so the result is
    a (rows, 4) int64 array: positive low, positive high, negative low, negative high; a row's
    positive sum is ``(high << 32) + low``.
    """
    low_mask = (np.int64(1) << _LOW_BITS) - 1
    out = np.zeros((ints.shape[0], 4), dtype=np.int64)
    for row in range(ints.shape[0]):
        for tap in range(ints.shape[1]):
            x = ints[row, tap]
            if x > 0:
                out[row, 0] += x & low_mask
                out[row, 1] += x >> _LOW_BITS
            elif x < 0:
                rest = -(x + 1)  # |x| - 1, which fits int64 even for x = -2**63
                out[row, 2] += (rest & low_mask) + 1
                out[row, 3] += rest >> _LOW_BITS
    return out
