"""Resident identity numbers (GB 11643-1999): validation and masking.

18 characters: 6-digit administrative division, 8-digit birth date, 3-digit
sequence (odd = male, even = female), and an ISO 7064 MOD 11-2 check character.
"""

from __future__ import annotations

import datetime as dt
import re

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARS = "10X98765432"
_SHAPE = re.compile(r"[0-9]{17}[0-9X]", re.ASCII)  # matched whole (fullmatch): ASCII digits only
# Anything that looks like an 18-char ID inside free text (logs, messages).
ID_IN_TEXT = re.compile(r"(?<![0-9A-Za-z])(\d{3})\d{11}(\d{3}[\dXx])(?![0-9A-Za-z])")


def check_char(first17: str) -> str:
    total = sum(int(d) * w for d, w in zip(first17, _WEIGHTS))
    return _CHECK_CHARS[total % 11]


def normalize(value: str) -> str:
    """The one accepted variant: a lowercase check character ``x`` is the
    same ``X``. Nothing else is mended: no stripping of spaces, and a
    fullwidth or other non-ASCII digit stays what it is (``is_valid`` then
    refuses it), so one person never has two spellings of one number."""
    value = value or ""
    return value[:-1] + "X" if len(value) == 18 and value.endswith("x") else value


def is_valid(value: str) -> bool:
    """True if the shape, birth date and check character are all right."""
    value = normalize(value)
    if not isinstance(value, str) or not _SHAPE.fullmatch(value):
        return False
    if birth_date(value) is None:
        return False
    return check_char(value[:17]) == value[17]


def birth_date(value: str) -> dt.date | None:
    try:
        born = dt.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return None
    if born.year < 1900:
        return None
    return born


def gender(value: str) -> str:
    """'1' male, '2' female (GB/T 2261.1 codes used by the national spec)."""
    return "1" if int(value[16]) % 2 == 1 else "2"


def mask(value: str | None) -> str:
    """``110***********1234``: first 3 and last 4 shown, the rest starred."""
    if not value:
        return ""
    value = str(value)
    if len(value) <= 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def mask_in_text(text: str) -> str:
    return ID_IN_TEXT.sub(_mask_match, text)


def _mask_match(match: re.Match) -> str:
    return mask(match.group(0))


def make(region: str, born: dt.date, sequence: int) -> str:
    """Build a valid ID number (used by the demo-data generator and tests)."""
    first17 = f"{region}{born:%Y%m%d}{sequence:03d}"
    return first17 + check_char(first17)
