"""Money is integer fen inside; the national envelope carries yuan with two
decimals. Convert at the edge, once, with Decimal (never float)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

_CENT = Decimal("0.01")


class MoneyFormatError(ValueError):
    pass


def yuan_to_fen(value) -> int:
    """'12.34' / 12.34 as str / Decimal -> 1234. Refuses more than 2 decimals,
    floats, NaN and infinities: an amount is never guessed."""
    if isinstance(value, bool) or isinstance(value, float):
        raise MoneyFormatError("amounts must be strings or integers, not floats")
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, TypeError) as exc:
        raise MoneyFormatError(f"not an amount: {value!r}") from exc
    if not amount.is_finite():
        raise MoneyFormatError(f"not an amount: {value!r}")
    if amount != amount.quantize(_CENT):
        raise MoneyFormatError(f"more than two decimals: {value!r}")
    return int(amount * 100)


def fen_to_yuan(fen: int) -> str:
    """1234 -> '12.34' (a string, so JSON never carries a binary float)."""
    if not isinstance(fen, int) or isinstance(fen, bool):
        raise TypeError("fen must be an int")
    return str((Decimal(fen) / 100).quantize(_CENT, rounding=ROUND_HALF_UP))
