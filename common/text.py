"""Free text typed by people (reasons, notes): how much of it is visible."""

from __future__ import annotations

import unicodedata

# Not counted: control, format (zero-width space/joiners, bidi marks, soft hyphen, BOM), surrogate,
# private-use and unassigned characters, every kind of space and line/paragraph separator, and
# combining marks (they belong to the character before them).
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zs", "Zl", "Zp", "Mn", "Me"})
# Letters and symbols that render as blank space (Hangul fillers, the blank Braille pattern).
_BLANK = frozenset("\u115f\u1160\u3164\uffa0\u2800")


def visible_length(text: str) -> int:
    """How many characters of ``text`` are visible: a reason of four U+200B
    counts 0, ``"本人 来电"`` counts 4. The client counts the same way
    (frontend/src/utils/staff.ts ``visibleLength``)."""
    return sum(1 for c in text if c not in _BLANK and unicodedata.category(c) not in _INVISIBLE_CATEGORIES)
