"""The one rounding helper. The rule and the points where it applies are
stated once, in the package docstring (core_platform/engine/__init__.py)."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction


def round_half_up(value: int | Decimal | Fraction) -> int:
    """Exact non-negative amount in fen -> whole fen, half-up (x.5 -> x+1).

    Computed on an exact ``Fraction``: no binary float and no Decimal context
    precision can round anything before this point."""
    if isinstance(value, (bool, float)):
        raise TypeError("round_half_up takes int, Decimal or Fraction, never float")
    exact = Fraction(value)
    if exact < 0:
        raise ValueError("round_half_up is defined for non-negative amounts only")
    # floor(x + 1/2) on numerator / denominator
    return (2 * exact.numerator + exact.denominator) // (2 * exact.denominator)
