"""Integer helpers shared by the timing contract and the resource model."""

from __future__ import annotations


def ceil_div(numerator: int, denominator: int) -> int:
    """``ceil(numerator / denominator)`` for a non-negative numerator and a positive denominator."""
    return -(-numerator // denominator)


def bits_for(values: int) -> int:
    """Bits needed to tell ``values`` distinct values apart: ``ceil(log2(values))``, 0 for one value."""
    return (values - 1).bit_length() if values > 1 else 0
