"""Input is taken exactly as the spec defines it: one place for the checks of
fields that the national interface defines as ASCII digits or letters, and
of amounts and quantities.

Python's own helpers are wider than the spec: ``str.isdigit()`` is true for
superscripts, ``int()``, ``Decimal()`` and regex ``\\d`` take any Unicode
decimal digit (fullwidth ``１``, Arabic-Indic ``١``), ``Decimal()`` and
``int()`` take exponents, underscores and surrounding spaces, and regex ``$``
matches before a trailing newline. Two texts that one of them reads as the
same value are two different keys to everything keyed on the raw text (the
single-use marker of a voucher code, a msgid's journal). So outside input is
checked here, with ASCII-only patterns matched whole (``fullmatch``), and
nothing is normalised: what does not match is refused, never mended.
See docs/subsystems/errors.md ("Input is taken exactly as the spec defines it").
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

# 数值型 16,2: at most 14 integer digits and 2 decimals.
AMOUNT_MAX_FEN = 99_999_999_999_999_99
AMOUNT_MAX_TEXT = "99999999999999.99"
_CENT = Decimal("0.01")
_AMOUNT_TEXT = re.compile(r"(-?)([0-9]{1,14})(?:\.([0-9]{1,2}))?", re.ASCII)
_AMOUNT_TOO_LONG = re.compile(r"-?[0-9]{15,}(?:\.[0-9]{1,2})?", re.ASCII)


class FieldError(ValueError):
    """Outside input does not have the form its field requires; ``message``
    is Chinese and names the field."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def is_ascii_digits(value, length: int | None = None, *, min_length: int = 1, max_length: int | None = None) -> bool:
    """True for a ``str`` of ASCII digits 0-9 only (exactly ``length`` of
    them, or ``min_length``..``max_length``). Never true for fullwidth,
    Arabic-Indic or superscript digits, signs, spaces or a trailing newline."""
    if not isinstance(value, str) or not value.isascii():
        return False
    if length is not None:
        min_length = max_length = length
    if len(value) < min_length or (max_length is not None and len(value) > max_length):
        return False
    return value.isdigit()  # ASCII-only at this point, so isdigit() means [0-9]


def matches(pattern: re.Pattern, value) -> bool:
    """``pattern`` matched against the whole of ``value`` (a str); never
    before a trailing newline as ``$`` would."""
    return isinstance(value, str) and pattern.fullmatch(value) is not None


def ascii_pattern(regex: str) -> re.Pattern:
    """Compile ``regex`` with ``re.ASCII`` (``\\d`` is then [0-9] only); use
    it with ``matches`` (or ``fullmatch``)."""
    return re.compile(regex, re.ASCII)


def admdvs_valid(value) -> bool:
    """A 6-digit administrative division code (行政区划代码), ASCII digits."""
    return is_ascii_digits(value, 6)


def amount_fen(value, name: str = "金额", *, allow_negative: bool = False) -> int:
    """An amount in yuan (数值型 16,2) as integer fen.

    Accepted: an ``int``; a ``Decimal`` (a JSON number read from its exact
    text, common.jsonbody ``decimal_numbers=True``) with at most two decimals;
    a ``str`` of ASCII digits with an optional point and one or two decimals
    (``"12"``, ``"12.5"``, ``"12.50"``). At most 99999999999999.99 in size.
    Refused (``FieldError``): bool, float, exponents, underscores, spaces,
    signs other than a leading ``-`` where negatives are allowed, non-ASCII
    digits, more than two decimals, anything larger."""
    if isinstance(value, bool) or value is None:
        raise FieldError(f"{name} 须为金额（元，最多两位小数）")
    if isinstance(value, float):
        raise FieldError(f"{name} 须为精确的十进制金额（元，最多两位小数）")
    if isinstance(value, int):
        fen = value * 100
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise FieldError(f"{name} 须为有限的金额（元，最多两位小数）")
        if value.adjusted() > 14:  # checked before any arithmetic on a huge exponent
            raise FieldError(f"{name} 超出允许范围（最大 {AMOUNT_MAX_TEXT} 元）")
        cents = value.quantize(_CENT)  # exact here: at most 17 digits
        if cents != value:  # compared exactly, never through context rounding
            raise FieldError(f"{name} 最多两位小数（元）")
        fen = int(cents.scaleb(2))
    elif isinstance(value, str):
        match = _AMOUNT_TEXT.fullmatch(value)
        if match is None:
            if _AMOUNT_TOO_LONG.fullmatch(value):
                raise FieldError(f"{name} 超出允许范围（最大 {AMOUNT_MAX_TEXT} 元）")
            raise FieldError(f"{name} 须为最多两位小数的金额（元），只能由数字0-9和小数点组成，如 12.50")
        sign, whole, cents_text = match.groups()
        fen = int(whole) * 100 + int((cents_text or "0").ljust(2, "0"))
        if sign:
            fen = -fen
    else:
        raise FieldError(f"{name} 须为金额（元，最多两位小数）")
    if fen < 0 and not allow_negative:
        raise FieldError(f"{name} 不能为负数")
    if abs(fen) > AMOUNT_MAX_FEN:
        raise FieldError(f"{name} 超出允许范围（最大 {AMOUNT_MAX_TEXT} 元）")
    return fen


def decimal_value(value, name: str, *, int_digits: int, decimals: int) -> Decimal:
    """A plain non-negative decimal (e.g. a quantity, 数值型 16,4): an ``int``,
    a ``Decimal`` from a JSON number, or a str of ASCII digits with an
    optional point; at most ``int_digits`` digits before the point and
    ``decimals`` after it. Returns the exact ``Decimal``."""
    message = f"{name} 须为最多{decimals}位小数的非负数，只能由数字0-9和小数点组成"
    if isinstance(value, bool) or isinstance(value, float) or value is None:
        raise FieldError(message)
    if isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise FieldError(message)
        if value.adjusted() >= int_digits:
            raise FieldError(f"{name} 超出允许范围")
        if value != value.quantize(Decimal(1).scaleb(-decimals)):
            raise FieldError(message)
        result = value
    elif isinstance(value, str):
        pattern = rf"[0-9]{{1,{int_digits}}}(\.[0-9]{{1,{decimals}}})?" if decimals else rf"[0-9]{{1,{int_digits}}}"
        if re.fullmatch(pattern, value, re.ASCII) is None:
            raise FieldError(message)
        try:
            result = Decimal(value)
        except InvalidOperation:  # pragma: no cover - the pattern admits only plain decimals
            raise FieldError(message) from None
    else:
        raise FieldError(message)
    if result < 0:
        raise FieldError(message)
    if result.adjusted() >= int_digits:
        raise FieldError(f"{name} 超出允许范围")
    return result
