"""Integer arithmetic rules shared by lowering and execution: scales, weights, requantization.

Every function here is pure and works on numpy arrays and Python integers (exact, unbounded),
so the worst-case bounds checked at lowering are exact. The rules are specified bit for bit in
``docs/integer-arithmetic.md``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError, UnsupportedLayerError
from ..hw.config import MAX_ACT_BITS, MIN_ACT_BITS
from ..hw.resources import REQUANT_BIAS_BITS
from .graph import Requant, TensorSpec
from .weightscan import EXPONENT_OFFSET, exponent_census, row_sums, scale_to_integers, uniform_codes

INT64_MAX = (1 << 63) - 1
MIN_MULTIPLIER_BITS = 2
MAX_MULTIPLIER_BITS = 32


def check_widths(act_bits: object, multiplier_bits: object) -> None:
    """Validate the activation and multiplier widths (bits); raise :class:`ConfigError`."""
    for field, value, lo, hi in (
        ("act_bits", act_bits, MIN_ACT_BITS, MAX_ACT_BITS),
        ("multiplier_bits", multiplier_bits, MIN_MULTIPLIER_BITS, MAX_MULTIPLIER_BITS),
    ):
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, np.integer))
            or not lo <= value <= hi
        ):
            raise ConfigError(f"{field} must be an integer in {lo}..{hi}, not {value!r}")


def signed_width(lo: int, hi: int) -> int:
    """Smallest two's-complement width (bits) holding every integer of ``[lo, hi]``."""
    bits = 1
    while not (-(1 << (bits - 1)) <= lo and hi <= (1 << (bits - 1)) - 1):
        bits += 1
    return bits


def storage_dtype(bits: int) -> np.dtype:
    """The numpy integer type that stores a ``bits``-wide signed tensor (8, 16, 32 or 64 bits)."""
    for dtype in (np.int8, np.int16, np.int32, np.int64):
        if bits <= np.iinfo(dtype).bits:
            return np.dtype(dtype)
    raise ConfigError(f"tensor width must be at most 64 bits, not {bits!r}")


def frac_bits_for(max_abs: float, bits: int) -> int:
    """The scale of a tensor whose largest magnitude is ``max_abs`` (real units).

    Returns the largest ``f`` with ``max_abs * 2**f <= hi`` (``hi = 2**(bits-1) - 1``). A tensor
    that is all zeros on the calibration data gets ``f = bits - 1`` (the range ``[-1, 1)``).
    """
    hi = (1 << (bits - 1)) - 1
    if not math.isfinite(max_abs):
        raise ConfigError(f"calibration activations must be finite, not {max_abs!r}")
    if max_abs <= 0.0:
        return bits - 1
    f = math.floor(math.log2(hi / max_abs))
    while math.ldexp(max_abs, f + 1) <= hi:
        f += 1
    while math.ldexp(max_abs, f) > hi:
        f -= 1
    return f


@dataclass(frozen=True, eq=False)
class IntegerWeights:
    """Power-of-two weights as integers: ``real = ints * 2**exponent``.

    Attributes:
        ints: every entry 0 or ``sign * 2**s`` with ``s >= 0``, in the narrowest of int8, int16,
            int32 and int64 that holds them (:func:`storage_dtype`).
        exponent: ``e_min``, the smallest power-of-two exponent among the non-zero weights (0 for
            an all-zero layer); the layer's weight scale is ``2**exponent``.
        levels_pos: sorted exponents present among the positive weights.
        levels_neg: sorted exponents present among the negative weights.
    """

    ints: np.ndarray
    exponent: int
    levels_pos: tuple[int, ...]
    levels_neg: tuple[int, ...]


def integer_weights(name: str, weights: np.ndarray) -> IntegerWeights:
    """Split GSNQ weights (each 0 or +-2**k) into integers and one power-of-two scale.

    One pass over the weights checks them and finds their exponents, a second writes the integers
    (:mod:`accelsim.integer.weightscan`); float32 and float64 weights are read in place.

    Raises :class:`UnsupportedLayerError` when a weight is not 0 or a signed power of two.
    """
    w = np.asarray(weights)
    if w.dtype not in (np.float32, np.float64):
        w = w.astype(np.float64)
    flat = np.ascontiguousarray(w).reshape(-1)
    layout = (flat.view(np.uint32), 23, 127) if flat.dtype == np.float32 else (flat.view(np.uint64), 52, 1023)
    bad, positive, negative = exponent_census(flat, *layout)
    if bad >= 0:
        raise UnsupportedLayerError(
            f"layer {name!r} weights must be GSNQ-quantized (0 or +-2^k); compress the model first"
        )
    levels_pos = tuple(int(k) for k in np.flatnonzero(positive) - EXPONENT_OFFSET)
    levels_neg = tuple(int(k) for k in np.flatnonzero(negative) - EXPONENT_OFFSET)
    if not levels_pos and not levels_neg:
        return IntegerWeights(np.zeros(w.shape, np.int8), 0, (), ())
    e_min = min(levels_pos[:1] + levels_neg[:1])
    e_max = max(levels_pos[-1:] + levels_neg[-1:])
    if e_max - e_min > 62:
        raise UnsupportedLayerError(
            f"layer {name!r} weights must span at most 63 powers of two, not "
            f"{e_max - e_min + 1} (2^{e_min} .. 2^{e_max})"
        )
    ints = np.empty(w.shape, storage_dtype(e_max - e_min + 2))  # +-2**span needs span + 2 bits
    scale_to_integers(flat, *layout, e_min, ints.reshape(-1))
    return IntegerWeights(ints, e_min, levels_pos, levels_neg)


def gsnq_bits(weights: IntegerWeights) -> int:
    """Smallest GSNQ code width (bits) that represents the layer's weight levels.

    A b-bit GSNQ code (as in ``accelsim.compression.levels``) has one code for 0 and ``2**b - 1``
    codes for powers of two, split between the signs, each sign's levels consecutive exponents
    (sign-based ranges). The width is the smallest ``b >= 2`` with
    ``1 + span_pos + span_neg <= 2**b``, ``span = max_exp - min_exp + 1`` of each sign present.
    """
    spans = sum(
        levels[-1] - levels[0] + 1 for levels in (weights.levels_pos, weights.levels_neg) if levels
    )
    bits = 2
    while (1 << bits) < 1 + spans:
        bits += 1
    return bits


def uniform_integer_weights(name: str, weights: np.ndarray, bits: int, step: float) -> np.ndarray:
    """The codes ``q = w / step`` of a uniform layer's weights (real weight = ``q * step``), in the
    narrowest signed integer type that holds ``bits``-bit codes (:func:`storage_dtype`: int8).

    One pass over the weights, read in place (:func:`accelsim.integer.weightscan.uniform_codes`).

    Raises :class:`UnsupportedLayerError` unless every weight is exactly ``q * step`` (in float32,
    as :class:`accelsim.compression.UniformLevels` makes them) with ``|q| <= 2**(bits-1) - 1``.
    """
    w = np.asarray(weights)
    if w.dtype not in (np.float32, np.float64):
        w = w.astype(np.float64)
    top = (1 << (bits - 1)) - 1
    codes = np.empty(w.shape, storage_dtype(bits))
    if uniform_codes(np.ascontiguousarray(w).reshape(-1), float(step), top, codes.reshape(-1)) >= 0:
        raise UnsupportedLayerError(
            f"layer {name!r} weights must be uniform-quantized (q * {step!r} with integer |q| <= {top} "
            f"for {bits} bits), as its compression record says; compress the model again"
        )
    return codes


def dot_range(ints: np.ndarray, lo: int, hi: int) -> tuple[int, int]:
    """Exact range ``(min, max)`` of ``sum(w * x)`` over rows of ``ints`` for ``x`` in [lo, hi].

    ``ints`` is (rows, taps) of any integer type; each row is one output channel. The maximum takes ``x = hi`` where
    ``w > 0`` and ``x = lo`` where ``w < 0``; the minimum the opposite. The per-row sums are exact
    (:func:`accelsim.integer.weightscan.row_sums`), combined as Python integers per row.
    """
    flat = np.ascontiguousarray(ints).reshape(ints.shape[0], -1)
    if flat.dtype.kind != "i":
        flat = flat.astype(np.int64)
    if flat.shape[0] == 0:
        return 0, 0
    sums = row_sums(flat).astype(object)
    pos = sums[:, 0] + (sums[:, 1] << 32)
    neg = sums[:, 2] + (sums[:, 3] << 32)
    top = max(hi * pos - lo * neg)
    bottom = min(lo * pos - hi * neg)
    return min(bottom, 0), max(top, 0)


def make_requant(
    name: str,
    scale: np.ndarray,
    offset: np.ndarray,
    acc_range: tuple[int, int],
    output: TensorSpec,
    *,
    relu: bool,
    multiplier_bits: int,
) -> Requant:
    """Integer requantization of an accumulator approximating ``y = acc * scale + offset``.

    ``scale`` and ``offset`` are float64 per-channel arrays in output-integer units (``y`` is the
    output integer before clamping). ``M = rint(scale * 2**S)``, ``B = rint(offset * 2**S)``
    (``rint``: round half to even) with the largest ``S >= 0`` such that ``max|M| <= 2**(mb-1) - 1``,
    ``B`` fits the accelerator's signed :data:`~accelsim.hw.resources.REQUANT_BIAS_BITS`-bit bias
    and ``|acc * M + B + round| < 2**63`` for every ``acc`` in ``acc_range``. (The bias bound
    lowers ``S`` only where ``|offset| * 2**S`` reaches ``2**47``, i.e. at shifts of tens of bits;
    ``M``'s rounding error stays ``|acc| / 2**(S+1)`` output steps at most, as at any shift.)

    Raises :class:`ConfigError` when the multiplier does not fit ``multiplier_bits`` even at
    ``S = 0``, or an int64 overflow would be possible.
    """
    scale = np.asarray(scale, dtype=np.float64)
    offset = np.asarray(offset, dtype=np.float64)
    if not (np.all(np.isfinite(scale)) and np.all(np.isfinite(offset))):
        raise UnsupportedLayerError(
            f"layer {name!r} folded scale and bias must be finite (check BatchNorm running_var)"
        )
    m_max = (1 << (multiplier_bits - 1)) - 1
    top = float(np.max(np.abs(scale))) if scale.size else 0.0
    if top == 0.0:
        shift = 0
    else:
        shift = math.floor(math.log2(m_max / top))
        while shift >= 0 and np.max(np.abs(np.rint(np.ldexp(scale, shift)))) > m_max:
            shift -= 1
        if shift < 0:
            need = signed_width(-int(np.rint(top)), int(np.rint(top)))
            raise ConfigError(
                f"multiplier_bits must be at least {need} for layer {name!r} "
                f"(requantization scale {top:.6g}), not {multiplier_bits}"
            )
        shift = min(shift, 62)
    acc_worst = max(abs(acc_range[0]), abs(acc_range[1]))
    while True:
        mult = np.rint(np.ldexp(scale, shift))
        bias = np.rint(np.ldexp(offset, shift))
        bias_max = float(np.max(np.abs(bias))) if bias.size else 0.0
        if bias_max < 2.0 ** (REQUANT_BIAS_BITS - 1):
            m_int = [int(v) for v in mult]
            b_int = [int(v) for v in bias]
            rnd = (1 << (shift - 1)) if shift > 0 else 0
            worst = acc_worst * max((abs(v) for v in m_int), default=0)
            worst += max((abs(v) for v in b_int), default=0) + rnd
            if worst <= INT64_MAX:
                break
        if shift == 0:
            raise ConfigError(
                f"layer {name!r} requantization would overflow int64 (accumulator range "
                f"{acc_range}); act_bits or the weight range must be smaller"
            )
        shift -= 1
    lo = 0 if relu else output.lo
    return Requant(
        multiplier=np.asarray(m_int, dtype=np.int64),
        bias=np.asarray(b_int, dtype=np.int64),
        shift=shift,
        lo=lo,
        hi=output.hi,
        multiplier_bits=multiplier_bits,
    )
