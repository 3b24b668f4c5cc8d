"""How the commands print counts: always with thousands separators, never in exponent notation.

>>> count(2240980.0), count(152.5), count(61)
('2,240,980', '152.5', '61')
"""

from __future__ import annotations


def count(value: float) -> str:
    """``value`` (LUTs, cycles, bytes...) with thousands separators; a fraction keeps one decimal
    (a half BRAM36 is a BRAM18)."""
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"
