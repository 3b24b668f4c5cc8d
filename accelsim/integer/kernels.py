"""Numba kernels of the integer datapath (compiled once, cached on disk: ``cache=True``).

Every kernel computes exact integers: activations are read from int8/int16 arrays, accumulators
are int32 or int64 (as wide as the layer's ``acc_bits`` needs: the convolution comes as
:func:`conv2d` specialized per type) and the requantization is done in int64. The arithmetic is
specified in ``docs/integer-arithmetic.md``; :mod:`accelsim.integer.execute` prepares the tables.

A weight ``w = sign * 2**s`` is applied to an activation ``x`` as a shift ``x << s`` and a
conditional negate. In the convolution the taps of each output channel are sorted by sign once
(at preparation), so the negate is one subtraction per group of taps:
``acc -= (x0 << s0) + (x1 << s1) + (x2 << s2)``; integer addition is exact, so the order does
not change the result. The linear kernel negates per tap: ``((x << s) ^ m) - m`` with the sign
mask ``m = 0`` or ``-1`` (two's complement: ``(v ^ -1) + 1 = -v``).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange
from numba.extending import overload

#: Taps are applied three at a time (one KRP kernel row of a 3x3 kernel); tap lists are padded
#: to a multiple of this with null taps that read an all-zero row.
TAP_GROUP = 3


def shift_mask(acc: np.ndarray) -> int:
    """``bits - 1`` of the accumulator array's integer type (31 or 63): a shift-count mask."""
    return acc.dtype.itemsize * 8 - 1


@overload(shift_mask, inline="always")
def _shift_mask_constant(acc):  # type: ignore[no-untyped-def]
    """Compile ``shift_mask`` to a literal, so LLVM keeps the lanes as narrow as the accumulator."""
    mask = acc.dtype.bitwidth - 1
    return lambda acc: mask


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
def im2col(
    xpad: np.ndarray, pbase: np.ndarray, row_step: int, kernel: int, patches: np.ndarray
) -> None:
    """Patch rows of a convolution, tile by tile.

    ``patches[p // T, (c*K + ky)*K + kx, p % T]`` = the input tap ``(c, ky, kx)`` of output pixel
    ``p``; each tile's rows are contiguous (they stay in the L1 cache while the taps read them).

    Args:
        xpad: (C, L) zero-padded input planes; channel ``c`` of pixel ``(n, y, x)`` of the padded
            images is ``xpad[c, n*Hp*Wp + y*row_step + x]``.
        pbase: (P,) int64 offset in a plane of the top-left tap of output pixel ``p``
            (``p = (n*OH + oh)*OW + ow``): ``n*Hp*Wp + oh*stride*Wp + ow*stride``.
        row_step: padded width Wp in elements; kernel: K.
        patches: (tiles, C*K*K + 1, T) output, same dtype as ``xpad``; row ``C*K*K`` of every
            tile is all zeros (the source of null taps).
    """
    tiles, rows, tile = patches.shape[0], patches.shape[1] - 1, patches.shape[2]
    pixels = pbase.shape[0]
    for r in prange(rows + 1):
        c, ky, kx = r // (kernel * kernel), (r // kernel) % kernel, r % kernel
        offset = ky * row_step + kx
        for i in range(tiles):
            row = patches[i, r]
            p0 = i * tile
            count = min(tile, pixels - p0)
            if r == rows:
                row[:] = 0
                continue
            row[count:] = 0  # the tail of a partial last tile
            source = xpad[c]
            base = pbase[p0 : p0 + count]
            for t in range(count):  # unsigned index: no negative-index wrap-around check
                row[t] = source[np.uint64(base[t] + offset)]


@njit(cache=True, inline="always")
def _tap_rows(
    source: np.ndarray, col0: int, tile: int, tap_row: np.ndarray, tap_col: np.ndarray, j: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Wide layout: the source slices (``tile`` values each) read by taps ``j``, ``j+1``, ``j+2``."""
    c0, c1, c2 = col0 + tap_col[j], col0 + tap_col[j + 1], col0 + tap_col[j + 2]
    return (
        source[tap_row[j], c0 : c0 + tile],
        source[tap_row[j + 1], c1 : c1 + tile],
        source[tap_row[j + 2], c2 : c2 + tile],
    )


@njit(cache=True, parallel=True)
def conv2d(
    source: np.ndarray,
    row_step: int,
    col_step: int,
    tile: int,
    tap_ptr: np.ndarray,
    tap_mid: np.ndarray,
    tap_row: np.ndarray,
    tap_col: np.ndarray,
    tap_shift: np.ndarray,
    target: np.ndarray,
    multiplier: np.ndarray,
    bias: np.ndarray,
    shift: int,
    lo: int,
    hi: int,
    out: np.ndarray,
    chunks: int,
) -> None:
    """Convolution over listed taps, fused with the requantization.

    The accumulators have ``tap_shift``'s type (int32 or int64, as the layer's ``acc_bits`` needs);
    numba compiles one specialization per type.

    The accumulator of output channel ``o`` at tap-space pixel ``p`` (tile ``i = p // tile``,
    ``t = p % tile``) sums, over the taps ``j`` of ``o``, ``+-(x << tap_shift[j])`` with
    ``x = source[i*row_step + tap_row[j], i*tile*col_step + tap_col[j] + t]``. Two layouts:

    * patches (``row_step = C*K*K + 1``, ``col_step = 0``): ``source`` is the
      ``(tiles * (C*K*K + 1), tile)`` view of :func:`im2col`'s output, ``tap_row`` the patch row
      ``(c*K + ky)*K + kx``, ``tap_col`` 0;
    * wide (stride 1; ``row_step = 0``, ``col_step = 1``): ``source`` is the zero-padded input
      ``(C + 1, L)`` itself, tap-space pixels are the padded positions ``(n*Hp + y)*Wp + x``,
      ``tap_row`` the channel and ``tap_col = ky*Wp + kx`` (no copying; the positions outside the
      output are computed and dropped).

    Args:
        source: the 2-D int8/int16 source described above (its last row of every tile, or its
            last channel, is all zeros: the source of null taps).
        row_step, col_step, tile: the layout (tile = tap-space pixels per work item).
        tap_ptr: (OC + 1,) int64; the taps of output channel ``o`` are ``tap_ptr[o] ..
            tap_ptr[o+1] - 1``: first its positive weights, then, from ``tap_mid[o]``, its negative
            ones, each run a multiple of :data:`TAP_GROUP` (padded with null taps).
        tap_mid: (OC,) int64, see ``tap_ptr``.
        tap_row, tap_col: int64 source row and column offset of each tap.
        tap_shift: shift ``s`` of each tap (the weight is ``+-2**s``), in the accumulator's type.
        target: (P,) int64 flat index into ``out`` of each tap-space pixel's output in channel 0,
            or -1 for a dropped position.
        multiplier, bias: (OC,) int64 requantization parameters; shift, lo, hi: the rest.
        out: (N, OC, OH*OW) contiguous output, written in full.
        chunks: output-channel chunks per tile (work items = tiles * chunks).
    """
    out_channels = tap_mid.shape[0]
    plane = out.shape[2]
    flat = out.reshape(out.size)
    pixels = target.shape[0]
    tiles = (pixels + tile - 1) // tile
    per_chunk = (out_channels + chunks - 1) // chunks
    for item in prange(tiles * chunks):
        i = item // chunks
        p0 = i * tile
        o0 = (item % chunks) * per_chunk
        o1 = min(out_channels, o0 + per_chunk)
        if o1 <= o0:
            continue
        row0, col0 = i * row_step, p0 * col_step
        # full tiles: the vector loop has no remainder
        acc = np.zeros((o1 - o0, tile), tap_shift.dtype)
        mask = shift_mask(acc)  # a literal: shifts are below the accumulator width
        rows = source[row0 : row0 + row_step]  # patch layout: this tile's patch rows
        for o in range(o0, o1):
            sums = acc[o - o0]
            for j in range(tap_ptr[o], tap_mid[o], TAP_GROUP):  # positive weights
                s0, s1, s2 = tap_shift[j] & mask, tap_shift[j + 1] & mask, tap_shift[j + 2] & mask
                if col_step == 0:  # rows indexed in 2-D: no slice per tap (cheaper for short tiles)
                    a0, a1, a2 = tap_row[j], tap_row[j + 1], tap_row[j + 2]
                    for t in range(tile):
                        sums[t] += (rows[a0, t] << s0) + (rows[a1, t] << s1) + (rows[a2, t] << s2)
                else:
                    x0, x1, x2 = _tap_rows(source, col0, tile, tap_row, tap_col, j)
                    for t in range(tile):
                        sums[t] += (x0[t] << s0) + (x1[t] << s1) + (x2[t] << s2)
            for j in range(tap_mid[o], tap_ptr[o + 1], TAP_GROUP):  # negative: one subtraction
                s0, s1, s2 = tap_shift[j] & mask, tap_shift[j + 1] & mask, tap_shift[j + 2] & mask
                if col_step == 0:
                    a0, a1, a2 = tap_row[j], tap_row[j + 1], tap_row[j + 2]
                    for t in range(tile):
                        sums[t] -= (rows[a0, t] << s0) + (rows[a1, t] << s1) + (rows[a2, t] << s2)
                else:
                    x0, x1, x2 = _tap_rows(source, col0, tile, tap_row, tap_col, j)
                    for t in range(tile):
                        sums[t] -= (x0[t] << s0) + (x1[t] << s1) + (x2[t] << s2)
        values = np.empty(tile, np.int64)
        count = min(tile, pixels - p0)
        for o in range(o0, o1):
            m, bo, sums = multiplier[o], bias[o], acc[o - o0]
            for t in range(tile):  # vectorized requantization, then a scatter to the output
                values[t] = requant_value(sums[t], m, bo, shift, lo, hi)
            for t in range(count):
                index = target[p0 + t]
                if index >= 0:
                    flat[index + o * plane] = values[t]


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
def max_pool2d(
    x: np.ndarray, y0: np.ndarray, y1: np.ndarray, x0: np.ndarray, x1: np.ndarray, out: np.ndarray
) -> None:
    """Max pooling of (N, C, H, W) into (N, C, OH, OW): output (oh, ow) is the maximum of rows
    ``[y0[oh], y1[oh])`` and columns ``[x0[ow], x1[ow])`` (clipped to the map: padding ignored)."""
    n_images, channels, height, width = x.shape
    out_h, out_w = out.shape[2], out.shape[3]
    for nc in prange(n_images * channels):
        n, c = nc // channels, nc % channels
        for oh in range(out_h):
            for ow in range(out_w):
                best = np.int64(-(1 << 62))
                for y in range(max(y0[oh], 0), min(y1[oh], height)):
                    for xx in range(max(x0[ow], 0), min(x1[ow], width)):
                        best = max(best, np.int64(x[n, c, y, xx]))
                out[n, c, oh, ow] = best


@njit(cache=True, parallel=True)
def avg_pool2d(
    x: np.ndarray,
    y0: np.ndarray,
    y1: np.ndarray,
    x0: np.ndarray,
    x1: np.ndarray,
    area_index: np.ndarray,
    multiplier: np.ndarray,
    bias: np.ndarray,
    shift: int,
    lo: int,
    hi: int,
    out: np.ndarray,
) -> None:
    """Average pooling: each window's sum (windows as in :func:`max_pool2d`) requantized with the
    multiplier and bias of its area, entry ``area_index[oh, ow]``."""
    n_images, channels, height, width = x.shape
    out_h, out_w = out.shape[2], out.shape[3]
    for nc in prange(n_images * channels):
        n, c = nc // channels, nc % channels
        for oh in range(out_h):
            for ow in range(out_w):
                acc = np.int64(0)
                for y in range(max(y0[oh], 0), min(y1[oh], height)):
                    for xx in range(max(x0[ow], 0), min(x1[ow], width)):
                        acc += np.int64(x[n, c, y, xx])
                entry = area_index[oh, ow]
                out[n, c, oh, ow] = requant_value(acc, multiplier[entry], bias[entry], shift, lo, hi)


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
            acc = (np.int64(a[n, c, e]) << np.int64(shift_a)) + (
                np.int64(b[n, c, e]) << np.int64(shift_b)
            )
            out[n, c, e] = requant_value(acc, m, bo, shift, lo, hi)
