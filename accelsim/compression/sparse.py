"""Encodings of the kept positions of an unstructured-sparse layer (magnitude-pruned weights).

The kept positions are flat (C-order) indices into the weight tensor, ascending. Two encodings:

* ``bitmap``: one bit per weight, 1 = kept; ``ceil(weights / 8)`` bytes.
* ``delta`` at width ``w`` bits: for each kept position, the number of pruned weights skipped
  since the previous kept one (the first counts from the start). A gap that does not fit in
  ``w`` bits is written as escape entries of value ``2**w - 1`` ("skip ``2**w - 1`` positions, no
  weight here") followed by the remainder, so ``entries = kept + escapes`` values of ``w`` bits.

:func:`encode_positions` measures the bitmap and every delta width 1..ceil(log2(weights)) and keeps
the encoding with the fewest bytes (the bitmap on a tie). The codes of the kept weights are stored
separately, one per kept position, in the same order.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np

from .bitpack import bits_for, pack, packed_size, unpack


class IndexEncoding(str, enum.Enum):
    """How sparse positions are stored."""

    BITMAP = "bitmap"
    DELTA = "delta"


@dataclass(frozen=True)
class EncodedPositions:
    """The stored form of a layer's kept positions.

    Attributes:
        encoding: bitmap or delta.
        bits: bits per entry (1 for the bitmap).
        entries: number of entries (weights for the bitmap; kept + escapes for delta).
        data: the packed entries.
    """

    encoding: IndexEncoding
    bits: int
    entries: int
    data: bytes


def _delta_entries(positions: np.ndarray, bits: int) -> np.ndarray:
    """The delta entries of ``positions`` at width ``bits`` (escapes included)."""
    escape = (1 << bits) - 1
    gaps = np.diff(positions, prepend=-1) - 1
    escapes, remainders = np.divmod(gaps, escape)
    lengths = escapes + 1
    entries = np.full(int(lengths.sum()), escape, dtype=np.int64)
    entries[np.cumsum(lengths) - 1] = remainders
    return entries


def _delta_count(positions: np.ndarray, bits: int) -> int:
    """Number of delta entries of ``positions`` at width ``bits``."""
    gaps = np.diff(positions, prepend=-1) - 1
    return len(positions) + int((gaps // ((1 << bits) - 1)).sum())


def encode_positions(positions: np.ndarray, weights: int) -> EncodedPositions:
    """The smallest encoding of the ascending kept ``positions`` among ``weights`` weights."""
    positions = np.asarray(positions, dtype=np.int64)
    best = EncodedPositions(IndexEncoding.BITMAP, 1, weights, b"")
    best_size = packed_size(weights, 1)
    for bits in range(1, bits_for(weights + 1) + 1):
        count = _delta_count(positions, bits)
        if packed_size(count, bits) < best_size:
            best, best_size = EncodedPositions(IndexEncoding.DELTA, bits, count, b""), packed_size(count, bits)
    if best.encoding is IndexEncoding.BITMAP:
        bitmap = np.zeros(weights, dtype=np.int64)
        bitmap[positions] = 1
        return EncodedPositions(IndexEncoding.BITMAP, 1, weights, pack(bitmap, 1))
    return EncodedPositions(
        IndexEncoding.DELTA, best.bits, best.entries, pack(_delta_entries(positions, best.bits), best.bits)
    )


def decode_positions(stored: EncodedPositions, weights: int) -> np.ndarray:
    """The ascending kept positions (int64) of ``stored``.

    Raises:
        ValueError: the entries do not describe positions in ``0 .. weights - 1``.
    """
    entries = unpack(stored.data, stored.bits, stored.entries)
    if stored.encoding is IndexEncoding.BITMAP:
        if stored.entries != weights:
            raise ValueError(f"a bitmap of {weights} weights must have {weights} entries, not {stored.entries}")
        return np.flatnonzero(entries).astype(np.int64)
    escape = (1 << stored.bits) - 1
    advance = np.where(entries == escape, escape, entries + 1)
    positions = (np.cumsum(advance) - 1)[entries != escape]
    if positions.size and positions[-1] >= weights:
        raise ValueError(f"sparse positions must be below {weights}, not up to {int(positions[-1])}")
    return positions
