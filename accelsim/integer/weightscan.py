"""Numba kernels of lowering: single passes over a layer's weights, read in place.

Lowering checks that every weight is 0 or a signed power of two, collects the exponents present,
scales the weights to integers (or, for a uniform layer, checks that every weight is a code times
the step and takes the codes), and bounds every output channel's dot product. Done with numpy
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
#: What :func:`_power_exponent` returns for a weight that is not a power of two.
NOT_A_POWER = 1 << 20
#: Low bits of the halves :func:`row_sums` splits magnitudes into.
_LOW_BITS = 32


@njit(cache=True, inline="always")
def _power_exponent(pattern: int, value: float, mantissa_bits: int, bias: int) -> int:
    """``k`` if the float ``value`` (bit pattern ``pattern``) is ``+-2**k``; 0 gives -bias - 1.

    Any other value gives NOT_A_POWER. A normal float is a power of two when its mantissa field is
    0 (and its exponent field is not all ones: infinity or NaN); a subnormal one (rare) takes an
    exact ``frexp`` path. Branch-free for the usual weights, whose zeros are scattered.
    """
    field = np.int64(pattern >> mantissa_bits) & (2 * bias + 1)
    mantissa = np.int64(pattern & ((np.uint64(1) << np.uint64(mantissa_bits)) - np.uint64(1)))
    if field == 0 and mantissa != 0:
        fraction, exponent = math.frexp(abs(value))
        return exponent - 1 if fraction == 0.5 else NOT_A_POWER
    power = field == 0 or (mantissa == 0 and field != 2 * bias + 1)
    return field - bias - (field == 0) if power else NOT_A_POWER


@njit(cache=True)
def exponent_census(
    weight: np.ndarray, bits: np.ndarray, mantissa_bits: int, bias: int
) -> tuple[int, np.ndarray, np.ndarray]:
    """Which powers of two the flat float ``weight`` (``bits``: its bit patterns) holds, per sign.

    ``mantissa_bits`` and ``bias`` describe the float type (23 and 127 for float32).

    Returns:
        ``(bad, positive, negative)``: ``bad`` is the flat index of the first entry that is not 0
        or a finite signed power of two (-1 if none); ``positive[k + EXPONENT_OFFSET]`` is True when
        ``2**k`` is a weight, ``negative`` likewise for ``-2**k``.
    """
    present = np.zeros((2, EXPONENTS + 1), dtype=np.bool_)  # the last column: zeros
    for i in range(weight.size):
        k = _power_exponent(bits[i], np.float64(weight[i]), mantissa_bits, bias)
        if k == NOT_A_POWER:
            return i, present[0, :EXPONENTS], present[1, :EXPONENTS]
        column = EXPONENTS if weight[i] == 0 else k + EXPONENT_OFFSET
        present[np.int64(weight[i] < 0), column] = True
    return -1, present[0, :EXPONENTS], present[1, :EXPONENTS]


@njit(cache=True)
def scale_to_integers(
    weight: np.ndarray, bits: np.ndarray, mantissa_bits: int, bias: int, exponent: int, out: np.ndarray
) -> None:
    """``out[i] = weight[i] * 2**-exponent`` for flat power-of-two weights (exact).

    ``out`` is a signed integer array that holds every scaled weight, each 0 or ``+-2**s`` with
    ``0 <= s <= 62`` (checked by the caller, with :func:`exponent_census`).
    """
    for i in range(weight.size):
        shift = max(_power_exponent(bits[i], np.float64(weight[i]), mantissa_bits, bias) - exponent, 0)
        power = np.int64(1) << np.int64(shift)
        out[i] = power if weight[i] > 0 else (-power if weight[i] < 0 else 0)


@njit(cache=True)
def uniform_codes(weight: np.ndarray, step: float, top: int, out: np.ndarray) -> int:
    """``out[i] = q``, the code of the flat uniform weight ``weight[i] = q * step`` (``|q| <= top``).

    ``q`` is ``w / step`` rounded to the nearest integer (ties to even, as ``numpy.rint``), and the
    weight must be exactly ``q * step`` once rounded to float32. Returns the flat index of the
    first weight that is not (non-finite, off the grid or beyond ``top``), or -1 if every one is.
    """
    for i in range(weight.size):
        w = np.float64(weight[i])
        if not math.isfinite(w):
            return i
        q = np.rint(w / step)
        if abs(q) > top or np.float64(np.float32(q * step)) != w:
            return i
        out[i] = np.int64(q)
    return -1


@njit(cache=True)
def row_sums(ints: np.ndarray) -> np.ndarray:
    """Exact per-row sums of the positive entries and of the magnitudes of the negative ones.

    ``ints`` is a (rows, taps) signed integer array with fewer than 2**31 taps per row. Each
    magnitude is split into its high and low 32 bits, summed separately (no int64 overflow), so
    the result is a (rows, 4) int64 array: positive low, positive high, negative low, negative
    high; a row's positive sum is ``(high << 32) + low``.
    """
    low_mask = (np.int64(1) << _LOW_BITS) - 1
    out = np.zeros((ints.shape[0], 4), dtype=np.int64)
    for row in range(ints.shape[0]):
        pos_low, pos_high, neg_low, neg_high = np.int64(0), np.int64(0), np.int64(0), np.int64(0)
        for tap in range(ints.shape[1]):
            x = np.int64(ints[row, tap])
            positive = max(x, 0)
            negative = np.int64(x < 0)
            rest = -(x + 1) * negative  # |x| - 1 for a negative x (fits int64 even for -2**63), else 0
            pos_low += positive & low_mask
            pos_high += positive >> _LOW_BITS
            neg_low += (rest & low_mask) + negative
            neg_high += rest >> _LOW_BITS
        out[row, 0], out[row, 1], out[row, 2], out[row, 3] = pos_low, pos_high, neg_low, neg_high
    return out
