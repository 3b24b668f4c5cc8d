"""Packing unsigned integers of any width 1..32 bits into bytes, least significant bit first.

Value ``i`` occupies bits ``i * bits .. (i + 1) * bits - 1`` of the stream, where bit ``k`` of the
stream is bit ``k % 8`` of byte ``k // 8`` and each value is written least significant bit first.
The last byte is padded with zero bits.
"""

from __future__ import annotations

import numpy as np

MAX_BITS = 32


def packed_size(count: int, bits: int) -> int:
    """Bytes taken by ``count`` values of ``bits`` bits."""
    return (count * bits + 7) // 8


def bits_for(values: int) -> int:
    """Bits needed to name ``values`` distinct values (at least 1): ``ceil(log2(values))``."""
    return max(1, (values - 1).bit_length())


def pack(values: np.ndarray, bits: int) -> bytes:
    """``values`` (non-negative integers < 2**bits) packed at ``bits`` bits each.

    Raises:
        ValueError: a value does not fit, or ``bits`` is not in 1..32.
    """
    if not 1 <= bits <= MAX_BITS:
        raise ValueError(f"bits must be in 1..{MAX_BITS}, not {bits}")
    flat = np.asarray(values).reshape(-1).astype(np.int64)
    if flat.size and (flat.min() < 0 or flat.max() >= 1 << bits):
        raise ValueError(f"values must be in 0..{(1 << bits) - 1}, not {flat.min()}..{flat.max()}")
    matrix = np.empty((flat.size, bits), dtype=np.uint8)
    for bit in range(bits):
        matrix[:, bit] = (flat >> bit) & 1
    return np.packbits(matrix.reshape(-1), bitorder="little").tobytes()


def unpack(data: bytes, bits: int, count: int) -> np.ndarray:
    """The ``count`` int64 values of ``bits`` bits packed in ``data``.

    Raises:
        ValueError: ``data`` is not exactly ``packed_size(count, bits)`` bytes.
    """
    if len(data) != packed_size(count, bits):
        raise ValueError(f"{count} values of {bits} bits take {packed_size(count, bits)} bytes, not {len(data)}")
    stream = np.unpackbits(np.frombuffer(data, dtype=np.uint8), bitorder="little", count=count * bits)
    matrix = stream.reshape(count, bits)
    values = np.zeros(count, dtype=np.int64)
    for bit in range(bits):
        values |= matrix[:, bit].astype(np.int64) << bit
    return values
