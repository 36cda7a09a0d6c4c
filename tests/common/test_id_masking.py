"""Issue #20 item 4: full ID numbers in free text (reasons, notes, audit
details, log lines) are masked however they are written — after letters or
CJK, in groups with spaces or dashes, fullwidth, lowercase x, 15-digit old
numbers — while the long numbers that are not ID numbers stay readable.
The staff end of it (audit trail, CSV export, case view, logs) is
tests/staff/test_free_text_masking.py."""

from __future__ import annotations

import io
import json
import logging

import pytest
from hypothesis import given, settings as hsettings

from common import idnumber
from common.idnumber import mask_in_text, mask_in_value
from common.logging import MaskIdNumbersFilter
from tests.support.id_spellings import ids_in_text, survives

ID = "50010119860506678X"
MASKED = "500***********678X"


@pytest.mark.parametrize("text, expected", [
    ("本人来电ID50010119860506678X核实身份", f"本人来电ID{MASKED}核实身份"),  # right after a Latin letter
    ("证件号50010119860506678x", f"证件号{MASKED}"),  # lowercase x
    ("500101 19860506 678X", MASKED),
    ("500101-19860506-678X", MASKED),
    ("500101 - 19860506 - 678x。", f"{MASKED}。"),
    ("500101　19860506　678 X", MASKED),  # ideographic spaces, the check character apart
    ("5001 0119 8605 0667 8X", MASKED),
    ("５００１０１１９８６０５０６６７８Ｘ", MASKED),  # fullwidth
    ("５００１０１－１９８６０５０６－６７８ｘ", MASKED),
    ("5001011986\u200b0506678X", MASKED),  # a zero-width space inside
    ("id=50010119860506678Xok", f"id={MASKED}ok"),
    ("身份证500101198605066781,电话13800138000", "身份证500***********6781,电话13800138000"),
    ("老证号500101860506678号", "老证号500********6678号"),  # 15 digits, the old format
    ("电话 13800138000 500101198605066781", "电话 13800138000 500***********6781"),
    ("1234 500101 19860506 678X", f"1234 {MASKED}"),
    ("50010119860506678Xiaoming", f"{MASKED}iaoming"),  # the X belongs to the number
    ("500101198605066781Xiaoming", "500***********6781Xiaoming"),  # a name starting with X after 18 digits
    ("110105194912310021", "110***********0021"),  # a wrong check digit is masked too
    ("A: 11010519491231002X; B: 440524198001010013", "A: 110***********002X; B: 440***********0013"),
])
def test_masked_wherever_and_however_written(text, expected):
    assert mask_in_text(text) == expected
    assert mask_in_text(expected) == expected  # masking twice changes nothing


@pytest.mark.parametrize("text", [
    "psn_no 50010100000000000123",  # 20 digits
    "msgid H500101000012024050612000000001",  # a letter then 29 digits
    "refmsgid 500101202405061200000001",  # 24 digits
    "setl_id S20240506101503AB12CD34EF56 mdtrt_id M202405061015031A2B3C4D5E6F",  # years are no province
    "13800138000",  # a phone number
    "5001011986050667800",  # 19 digits: one longer number, not an ID glued to a digit
    "1500101198605066781",  # a digit glued in front
    "990101198605066781",  # no such province
    "500101198613066781",  # month 13
    "500101198605326781",  # day 32
    "500101861306678",  # 15 digits, month 13
    "金额 1234.56 元，2024-05-06 10:15:03",
    "a3f5c0e1-2b4d-4e6f-8a9b-0c1d2e3f4a5b",
])
def test_other_numbers_left_alone(text):
    assert mask_in_text(text) == text


@hsettings(max_examples=300, deadline=None)
@given(case=ids_in_text())
def test_property_any_valid_id_in_any_surroundings_is_masked(case):
    number, prefix, spelled, suffix = case
    masked = mask_in_text(prefix + spelled + suffix)
    assert not survives(number, masked), masked
    # only the number changes: the surroundings are masked (or not) on their own
    assert masked == mask_in_text(prefix) + idnumber.mask(number) + mask_in_text(suffix)


def test_mask_in_value_goes_deep():
    value = {"reason": f"ID{ID}", "query": {"id_number": "500101 19860506 678X", "n": 3},
             "list": ["x", f"号{ID}"], "amount": 12}
    assert mask_in_value(value) == {"reason": f"ID{MASKED}", "query": {"id_number": MASKED, "n": 3},
                                    "list": ["x", f"号{MASKED}"], "amount": 12}


def test_log_filter_masks_every_spelling():
    record = logging.getLogger("x").makeRecord("x", logging.INFO, __file__, 1, "reason %s",
                                                ("本人来电ID50010119860506678X核实身份",), None)
    record.note = "500101 19860506 678x"
    MaskIdNumbersFilter().filter(record)
    assert record.getMessage() == f"reason 本人来电ID{MASKED}核实身份"
    assert record.note == MASKED


@hsettings(max_examples=100, deadline=None)
@given(case=ids_in_text())
def test_property_configured_log_handlers_never_write_a_full_id(case):
    """Through the handlers settings.LOGGING configures (filter and formatter), message and extra."""
    number, prefix, spelled, suffix = case
    text = prefix + spelled + suffix
    handlers = [h for h in logging.getLogger().handlers
                if any(isinstance(f, MaskIdNumbersFilter) for f in h.filters)]
    assert handlers, "the configured console handler masks"
    out = io.StringIO()
    handler = handlers[0]
    old = handler.setStream(out)
    try:
        logging.getLogger("staff").warning("note %s", text, extra={"reason": text})
    finally:
        handler.setStream(old)
    written = out.getvalue()
    shown = []
    for line in written.splitlines():
        try:
            shown.append(json.dumps(json.loads(line), ensure_ascii=False))
        except ValueError:
            shown.append(line)
    assert written and not survives(number, written) and not survives(number, "\n".join(shown)), written
