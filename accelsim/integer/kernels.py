"""Numba kernels of the integer datapath (compiled once, cached on disk: ``cache=True``).

Every kernel computes exact integers: activations are read from int8/int16 arrays, accumulators
are int32 or int64 (as wide as the layer's ``acc_bits`` needs; the width is chosen by the dtype of
the tap tables the caller passes) and the requantization is done in int64. The arithmetic is
specified in ``docs/integer-arithmetic.md``; :mod:`accelsim.integer.execute` prepares the tables.

A weight ``w = sign * 2**s`` is applied to an activation ``x`` as ``((x << s) ^ m) - m`` with the
sign mask ``m = 0`` (``w > 0``) or ``m = -1`` (``w < 0``): a shift and a conditional negate
(two's complement: ``(v ^ -1) - (-1) = -v``).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

#: Taps are applied three at a time (one KRP kernel row of a 3x3 kernel); tap lists are padded
#: to a multiple of this with null taps that read an all-zero row.
TAP_GROUP = 3


@njit(cache=True, inline="always")
def requant_value(acc: int, multiplier: int, bias: int, shift: int, lo: int, hi: int) -> int:
    """``clamp((acc * M + B + round) >> S, lo, hi)`` in int64, ``round = 1 << (S-1)`` if ``S > 0``."""
    value = np.int64(acc) * np.int64(multiplier) + np.int64(bias)
    if shift > 0:
        value = (value + (np.int64(1) << np.int64(shift - 1))) >> np.int64(shift)
    if value < lo:
        return lo
    if value > hi:
        return hi
    return value


@njit(cache=True, parallel=True)
def conv2d(
    xpad: np.ndarray,
    pbase: np.ndarray,
    row_step: int,
    kernel: int,
    tap_ptr: np.ndarray,
    tap_src: np.ndarray,
    tap_shift: np.ndarray,
    tap_neg: np.ndarray,
    multiplier: np.ndarray,
    bias: np.ndarray,
    shift: int,
    lo: int,
    hi: int,
    out: np.ndarray,
    tile: int,
    block: int,
    chunks: int,
) -> None:
    """Convolution over listed taps (KRP: the kept rows only) fused with the requantization.

    Args:
        xpad: (C, L) zero-padded input planes; channel ``c`` of pixel ``(n, y, x)`` of the padded
            images is ``xpad[c, n*Hp*Wp + y*row_step + x]``.
        pbase: (P,) int64 offset in a plane of the top-left tap of output pixel ``p``
            (``p = (n*OH + oh)*OW + ow``): ``n*Hp*Wp + oh*stride*Wp + ow*stride``.
        row_step: padded width Wp in elements.
        kernel: K.
        tap_ptr: (OC, blocks + 1) int64; the taps of output channel ``o`` and input-channel block
            ``b`` (channels ``b*block .. b*block + block - 1``) are ``tap_ptr[o, b] ..
            tap_ptr[o, b+1] - 1``, a multiple of :data:`TAP_GROUP`.
        tap_src: int64 tap source row in the block's patch buffer:
            ``((c - b*block)*K + ky)*K + kx``; ``block*K*K`` is the all-zero row (null tap).
        tap_shift, tap_neg: shift ``s`` and sign mask ``m`` (0 or -1) of each tap; their dtype
            (int32 or int64) is the accumulator's.
        multiplier, bias: (OC,) int64 requantization parameters; shift, lo, hi: the rest.
        out: (N, OC, OH*OW) output, written in full.
        tile: output pixels per work item; block: input channels per patch buffer;
        chunks: output-channel chunks per tile (work items = tiles * chunks).
    """
    channels = xpad.shape[0]
    out_channels = tap_ptr.shape[0]
    blocks = tap_ptr.shape[1] - 1
    pixels = pbase.shape[0]
    plane = out.shape[2]
    taps_per_channel = kernel * kernel
    tiles = (pixels + tile - 1) // tile
    per_chunk = (out_channels + chunks - 1) // chunks
    for item in prange(tiles * chunks):
        p0 = (item // chunks) * tile
        count = min(tile, pixels - p0)
        o0 = (item % chunks) * per_chunk
        o1 = min(out_channels, o0 + per_chunk)
        if o1 <= o0:
            continue
        patches = np.zeros((block * taps_per_channel + 1, tile), tap_shift.dtype)
        acc = np.zeros((o1 - o0, tile), tap_shift.dtype)
        for b in range(blocks):
            c0 = b * block
            for c in range(c0, min(channels, c0 + block)):
                source = xpad[c]
                for ky in range(kernel):
                    for kx in range(kernel):
                        row = patches[((c - c0) * kernel + ky) * kernel + kx]
                        offset = ky * row_step + kx
                        for t in range(count):
                            row[t] = source[pbase[p0 + t] + offset]
            for o in range(o0, o1):
                sums = acc[o - o0]
                for j in range(tap_ptr[o, b], tap_ptr[o, b + 1], TAP_GROUP):
                    r0 = patches[tap_src[j]]
                    r1 = patches[tap_src[j + 1]]
                    r2 = patches[tap_src[j + 2]]
                    s0, s1, s2 = tap_shift[j], tap_shift[j + 1], tap_shift[j + 2]
                    m0, m1, m2 = tap_neg[j], tap_neg[j + 1], tap_neg[j + 2]
                    for t in range(count):
                        sums[t] += (
                            (((r0[t] << s0) ^ m0) - m0)
                            + (((r1[t] << s1) ^ m1) - m1)
                            + (((r2[t] << s2) ^ m2) - m2)
                        )
        for o in range(o0, o1):
            m, bo = multiplier[o], bias[o]
            for t in range(count):
                p = p0 + t
                out[p // plane, o, p % plane] = requant_value(acc[o - o0, t], m, bo, shift, lo, hi)


@njit(cache=True, parallel=True)
def linear(
    x: np.ndarray,
    ptr: np.ndarray,
    index: np.ndarray,
    tap_shift: np.ndarray,
    tap_neg: np.ndarray,
    multiplier: np.ndarray,
    bias: np.ndarray,
    shift: int,
    lo: int,
    hi: int,
    out: np.ndarray,
) -> None:
    """Sparse fully connected layer (CSR over the non-zero weights) fused with requantization.

    ``x`` is (N, in_features); output feature ``o`` sums ``+-(x[n, index[j]] << tap_shift[j])``
    for ``j`` in ``ptr[o] .. ptr[o+1]-1`` in an int64 accumulator; ``out`` is (N, out_features).
    """
    for o in prange(ptr.shape[0] - 1):
        for n in range(x.shape[0]):
            acc = np.int64(0)
            for j in range(ptr[o], ptr[o + 1]):
                m = np.int64(tap_neg[j])
                acc += ((np.int64(x[n, index[j]]) << np.int64(tap_shift[j])) ^ m) - m
            out[n, o] = requant_value(acc, multiplier[o], bias[o], shift, lo, hi)


@njit(cache=True, parallel=True)
def max_pool2d(x: np.ndarray, kernel: int, stride: int, padding: int, out: np.ndarray) -> None:
    """Max pooling of (N, C, H, W) into (N, C, OH, OW); padded positions are ignored (-inf)."""
    n_images, channels, height, width = x.shape
    out_h, out_w = out.shape[2], out.shape[3]
    for nc in prange(n_images * channels):
        n, c = nc // channels, nc % channels
        for oh in range(out_h):
            y0 = oh * stride - padding
            for ow in range(out_w):
                x0 = ow * stride - padding
                best = np.int64(-(1 << 62))
                for y in range(max(y0, 0), min(y0 + kernel, height)):
                    for xx in range(max(x0, 0), min(x0 + kernel, width)):
                        best = max(best, np.int64(x[n, c, y, xx]))
                out[n, c, oh, ow] = best


@njit(cache=True, parallel=True)
def avg_pool2d(
    x: np.ndarray,
    kernel: int,
    stride: int,
    padding: int,
    multiplier: int,
    bias: int,
    shift: int,
    lo: int,
    hi: int,
    out: np.ndarray,
) -> None:
    """Average pooling: the window sum (zero padding counts) requantized with one multiplier."""
    n_images, channels, height, width = x.shape
    out_h, out_w = out.shape[2], out.shape[3]
    for nc in prange(n_images * channels):
        n, c = nc // channels, nc % channels
        for oh in range(out_h):
            y0 = oh * stride - padding
            for ow in range(out_w):
                x0 = ow * stride - padding
                acc = np.int64(0)
                for y in range(max(y0, 0), min(y0 + kernel, height)):
                    for xx in range(max(x0, 0), min(x0 + kernel, width)):
                        acc += np.int64(x[n, c, y, xx])
                out[n, c, oh, ow] = requant_value(acc, multiplier, bias, shift, lo, hi)


@njit(cache=True, parallel=True)
def add(
    a: np.ndarray,
    b: np.ndarray,
    shift_a: int,
    shift_b: int,
    multiplier: np.ndarray,
    bias: np.ndarray,
    shift: int,
    lo: int,
    hi: int,
    out: np.ndarray,
) -> None:
    """Residual add of (N, C, E) tensors: ``(a << shift_a) + (b << shift_b)``, requantized per channel."""
    n_images, channels, elements = a.shape
    for nc in prange(n_images * channels):
        n, c = nc // channels, nc % channels
        m, bo = multiplier[c], bias[c]
        for e in range(elements):
            acc = (np.int64(a[n, c, e]) << np.int64(shift_a)) + (np.int64(b[n, c, e]) << np.int64(shift_b))
            out[n, c, e] = requant_value(acc, m, bo, shift, lo, hi)
