"""Money is integer fen inside; the national envelope carries yuan with two
decimals. Convert at the edge, once, with Decimal (never float)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from .fields import FieldError, amount_fen

_CENT = Decimal("0.01")


class MoneyFormatError(ValueError):
    """Not an amount; ``message`` is Chinese and names the field."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def yuan_to_fen(value, name: str = "金额") -> int:
    """'12.34' / 12 / Decimal('12.34') -> 1234; '-12.34' -> -1234. The one
    amount form of common.fields.amount_fen (ASCII digits, at most two
    decimals, within 16,2): floats, exponents, underscores, spaces and
    non-ASCII digits are refused, never guessed. Callers that take outside
    input refuse negatives themselves (or use ``amount_fen`` directly)."""
    try:
        return amount_fen(value, name, allow_negative=True)
    except FieldError as error:
        raise MoneyFormatError(error.message) from None


def fen_to_yuan(fen: int) -> str:
    """1234 -> '12.34' (a string, so JSON never carries a binary float)."""
    if not isinstance(fen, int) or isinstance(fen, bool):
        raise TypeError("fen must be an int")
    return str((Decimal(fen) / 100).quantize(_CENT, rounding=ROUND_HALF_UP))
