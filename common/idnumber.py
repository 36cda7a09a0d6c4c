"""Resident identity numbers (GB 11643-1999): validation and masking.

18 characters: 6-digit administrative division, 8-digit birth date, 3-digit
sequence (odd = male, even = female), and an ISO 7064 MOD 11-2 check character.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARS = "10X98765432"
_SHAPE = re.compile(r"[0-9]{17}[0-9X]", re.ASCII)  # matched whole (fullmatch): ASCII digits only

# The first two digits of an administrative division (GB/T 2260: provinces; 71 Taiwan, 81 Hong Kong,
# 82 Macao; 83 the residence permits of their residents). 19… and 20… — years, timestamps, the
# S/M-prefixed settlement ids — are never an ID number's start.
PROVINCES = frozenset("11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 "
                      "61 62 63 64 65 71 81 82 83".split())

# ID numbers inside free text (reasons, notes, audit details, log lines), however they are written.
# See mask_in_text for the rule. ``\d`` is any Unicode decimal digit: ASCII, fullwidth ０-９, others.
_X = "XxＸｘ"
# A gap between digit groups: 1-3 of spaces (ASCII, no-break, ideographic, the Unicode spaces), a tab,
# invisible format characters (zero-width space/joiners, word joiner, BOM, soft hyphen) and dashes
# (ASCII hyphen-minus, the Unicode hyphens and dashes, minus sign, small and fullwidth hyphen-minus).
_GAP = ("\t \u00a0\u1680\u2000-\u200a\u202f\u205f\u3000\u00ad\u200b-\u200d\u2060\ufeff"
        "\\-\u2010-\u2015\u2212\ufe58\ufe63\uff0d")
# Digit groups joined by gaps; the check character may stand apart (``678 X``).
_RUN = re.compile(rf"\d+[{_X}]?(?:[{_GAP}]{{1,3}}(?:\d+[{_X}]?|[{_X}]))*")
_SEGMENT = re.compile(rf"(\d*)([{_X}]?)")


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
    """Mask every resident ID number in free text: ``500***********678X``.

    What counts as one (docs/subsystems/identity-data.md, "In free text"):

    - 18 characters (17 digits and a digit or X) or 15 digits (the old
      format); a digit is any Unicode decimal digit (ASCII, fullwidth ...),
      X may be ``X x Ｘ ｘ``;
    - written whole or in groups: between any two characters a gap of 1-3
      spaces, dashes or invisible format characters (``500101 19860506 678X``,
      ``500101-19860506-678X``, ``5001 0119 8605 0667 8X``);
    - standing anywhere: after or before letters, CJK, punctuation, or other
      numbers set apart by a gap; only a digit *directly* before or after
      refuses it (a 20-digit psn_no, a 24-digit msgid, an 11-digit phone
      glued to an ID are one longer number, left alone);
    - plausible: it starts with a province code (``PROVINCES``) and has a
      possible birth month and day (01-12, 01-31; YYYYMMDD at characters
      7-14, YYMMDD at 7-12 of a 15-digit one). The check character is *not*
      checked, nor the year: a mistyped number is masked too. This keeps
      timestamps (20…), settlement ids (``S20240506…``) and other long
      numbers readable in logs and audit details.

    The masked form is ASCII, without the gaps: first 3 and last 4 shown.
    Masking twice changes nothing."""
    if not text:
        return text
    return _RUN.sub(_mask_run, text)


def mask_in_value(value):
    """``mask_in_text`` on every string inside a JSON-like value (dicts, lists)."""
    if isinstance(value, str):
        return mask_in_text(value)
    if isinstance(value, dict):
        return {k: mask_in_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [mask_in_value(v) for v in value]
    return value


def _mask_run(match: re.Match) -> str:
    """A run of digit groups joined by gaps: mask each ID number in it, left to right."""
    run = match.group(0)
    if len(run) < 15:
        return run
    segments = [(m.start(), m.end(1), m.end(), m.group(1), bool(m.group(2))) for m in _SEGMENT.finditer(run)
                if m.end() > m.start()]
    out, copied, i = [], 0, 0
    while i < len(segments):
        found = _id_from(segments, i)
        if found is None:
            i += 1
            continue
        last, end, value = found
        out += [run[copied:segments[i][0]], mask(value)]
        copied, i = end, last + 1
    out.append(run[copied:])
    return "".join(out)


def _id_from(segments, i):
    """The ID number starting at segment ``i`` (18 characters preferred to
    15), as (last segment, end offset, ASCII value), or None."""
    digits, fifteen = "", None
    for j in range(i, len(segments)):
        _start, digits_end, end, group, has_x = segments[j]
        digits += "".join(str(unicodedata.decimal(c)) for c in group)
        if len(digits) == 17 and has_x and _plausible(digits + "X"):
            return j, end, digits + "X"
        if len(digits) == 18 and _plausible(digits):
            return j, digits_end, digits
        if len(digits) == 15 and _plausible(digits):
            fifteen = (j, digits_end, digits)
        if has_x or len(digits) >= 18:  # an X ends a number; longer is not one
            break
    return fifteen


def _plausible(value: str) -> bool:
    month, day = (value[10:12], value[12:14]) if len(value) == 18 else (value[8:10], value[10:12])
    return value[:2] in PROVINCES and "01" <= month <= "12" and "01" <= day <= "31"


def make(region: str, born: dt.date, sequence: int) -> str:
    """Build a valid ID number (used by the demo-data generator and tests)."""
    first17 = f"{region}{born:%Y%m%d}{sequence:03d}"
    return first17 + check_char(first17)
