"""Hypothesis strategies for issue #20: a valid resident ID number, spelled
as people type it (whole or in groups with spaces or dashes, fullwidth
digits, a lowercase x), embedded in generated free text (Latin letters,
CJK, punctuation, other numbers). ``survives`` tells whether the full number
is still readable in some output, in any spelling."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

from hypothesis import strategies as st

from common import idnumber

# Real provinces (GB/T 2260), written out here rather than taken from the code under test.
PROVINCES = "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 61 62 63 64 65".split()
_FULLWIDTH = {str(d): chr(0xFF10 + d) for d in range(10)} | {"X": "Ｘ"}
_GROUPINGS = {18: [(18,), (6, 8, 4), (6, 8, 3, 1), (3, 3, 4, 4, 4), (4, 4, 4, 4, 2), (6, 4, 4, 4)],
              15: [(15,), (6, 6, 3), (3, 3, 3, 3, 3)]}
_SEPARATORS = [" ", "-", "\u3000", "－", " - ", "\u00a0", "\u2014", "  "]
# Surroundings: everything but digits and gap characters may stand right next to the number.
_NEXT_TO = "ABCDIXZabcdixz本人来电证件号码核实身份：:，,。.#=（）()/【】_*+@"
_ANYWHERE = _NEXT_TO + "0123456789０１２ \t-　"


@st.composite
def valid_ids(draw) -> str:
    """An ASCII ID number that passes ``idnumber.is_valid`` (18), or an old 15-digit one."""
    region = draw(st.sampled_from(PROVINCES)) + draw(st.from_regex(r"[0-9]{4}", fullmatch=True))
    born = draw(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2025, 12, 31)))
    sequence = draw(st.integers(0, 999))
    if draw(st.integers(0, 3)) == 0:
        return f"{region}{born:%y%m%d}{sequence:03d}"
    number = idnumber.make(region, born, sequence)
    assert idnumber.is_valid(number)
    return number


@st.composite
def spellings(draw, number: str) -> str:
    """One way of writing ``number``: grouped or not, each character ASCII or fullwidth, x or X."""
    groups = draw(st.sampled_from(_GROUPINGS[len(number)]))
    out, at = [], 0
    for size in groups:
        if at:
            out.append(draw(st.sampled_from(_SEPARATORS)))
        for char in number[at:at + size]:
            if char == "X" and draw(st.booleans()):
                char = "x"
            if draw(st.integers(0, 3)) == 0:
                char = _FULLWIDTH.get(char, "ｘ" if char == "x" else char)
            out.append(char)
        at += size
    return "".join(out)


@st.composite
def ids_in_text(draw, max_size: int = 40) -> tuple[str, str, str, str]:
    """(ASCII number, prefix, spelling, suffix); the text is prefix + spelling + suffix."""
    number = draw(valid_ids())
    spelled = draw(spellings(number))
    before = draw(st.text(st.sampled_from(_ANYWHERE), max_size=max_size))
    after = draw(st.text(st.sampled_from(_ANYWHERE), max_size=max_size))
    prefix = before + draw(st.sampled_from(_NEXT_TO)) if before or draw(st.booleans()) else ""
    suffix = draw(st.sampled_from(_NEXT_TO)) + after if after or draw(st.booleans()) else ""
    return number, prefix, spelled, suffix


_GAP = re.compile(r"[\s\-\u00ad\u200b-\u200d\u2010-\u2015\u2060\u2212\ufe58\ufe63\ufeff\uff0d]+")


def survives(number: str, text: str) -> bool:
    """Whether ``number`` can still be read in ``text``: as is, lowercase x, or once fullwidth
    characters are folded (NFKC) and every space, dash and invisible character between is dropped."""
    folded = _GAP.sub("", unicodedata.normalize("NFKC", text)).upper()
    return number in text or number.lower() in text or number in folded
