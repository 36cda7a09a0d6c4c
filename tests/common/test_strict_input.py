"""Input is taken exactly as the spec defines it (common/fields.py and its
users): ASCII digits only, matched whole, amounts as plain decimals within
16,2. No database: the parsers themselves. The end-to-end refusals over the
gateway, the decode endpoint and the core are in
tests/terminal/test_strict_input_terminal.py and
tests/core_platform/test_strict_amounts.py."""

from __future__ import annotations

import json
from decimal import Decimal

import pyotp
import pytest

from common import envelope, idnumber
from common.envelope import EnvelopeError, InfCode
from common.fields import AMOUNT_MAX_FEN, FieldError, admdvs_valid, amount_fen, decimal_value, is_ascii_digits
from common.money import MoneyFormatError, yuan_to_fen
from core_platform import engine
from codes import format as codes

KEY = "ZGV2LW9ubHktZmllbGQta2V5LTMyLWJ5dGVzLWxvbmc="
SECRET = pyotp.random_base32(32)


def fullwidth(digit: str) -> str:
    return chr(0xFF10 + int(digit))


def arabic_indic(digit: str) -> str:
    return chr(0x0660 + int(digit))


def superscript(digit: str) -> str:
    return {"1": "\u00b9", "2": "\u00b2", "3": "\u00b3"}.get(digit, chr(0x2070 + int(digit)))


# --- ASCII digits ---------------------------------------------------------------------

@pytest.mark.parametrize("value", ["１１０１０５", "١١٠١٠٥", "11010\u00b2", "110105\n", " 110105", "11010", "1101055",
                                   "+11010", "11_010", 110105, None])
def test_admdvs_is_six_ascii_digits(value):
    assert not admdvs_valid(value)


def test_ascii_digits_accepts_exactly_ascii():
    assert admdvs_valid("110105") and is_ascii_digits("0123456789")
    assert not is_ascii_digits("") and not is_ascii_digits("12\n") and not is_ascii_digits("１2")


# --- ID numbers -----------------------------------------------------------------------

VALID_ID = "11010519491231002X"


@pytest.mark.parametrize("spell", [fullwidth, arabic_indic])
def test_id_number_with_a_non_ascii_digit_is_invalid(spell):
    """Was valid: ``\\d`` and ``int()`` took the digit, and the person's keyed
    hash of the other spelling found nobody (or a second record)."""
    for position in (0, 7, 16):
        number = VALID_ID[:position] + spell(VALID_ID[position]) + VALID_ID[position + 1:]
        assert not idnumber.is_valid(number), number


@pytest.mark.parametrize("number", [VALID_ID + "\n", " " + VALID_ID, VALID_ID + " ", "\u00b9" + VALID_ID[1:]])
def test_id_number_is_taken_as_written(number):
    assert not idnumber.is_valid(number)


# --- amounts --------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["1e2", "1E2", "1_000", " 12.50", "12.50 ", "12.50\n", "１２.50", "١٢.50", "12.505",
                                   "+12.50", "12.", ".5", "0x10", "Infinity", "NaN", "", "12,50", "1 000", "\u00b912.50"])
def test_amount_text_that_is_not_a_plain_decimal_is_refused(value):
    with pytest.raises(FieldError) as refused:
        amount_fen(value, "medfee_sumamt")
    assert refused.value.message.startswith("medfee_sumamt ")  # names the field
    assert "金额" in refused.value.message or "小数" in refused.value.message
    with pytest.raises(MoneyFormatError):
        yuan_to_fen(value)


@pytest.mark.parametrize("value", [10**20, "100000000000000000000", "100000000000000.00", Decimal("1E+20"),
                                   10**14, Decimal("99999999999999.995")])
def test_amount_beyond_16_2_is_refused_with_the_limit(value):
    with pytest.raises(FieldError) as refused:
        amount_fen(value, "pric")
    message = refused.value.message
    assert message.startswith("pric ") and ("99999999999999.99" in message or "小数" in message)


@pytest.mark.parametrize("value, fen", [
    ("12.50", 1250), ("12.5", 1250), ("12", 1200), ("0", 0), ("0.01", 1), (12, 1200), (0, 0),
    (Decimal("12.50"), 1250), (Decimal("1E+2"), 10000), ("99999999999999.99", AMOUNT_MAX_FEN),
    (Decimal("99999999999999.99"), AMOUNT_MAX_FEN), (99999999999999, AMOUNT_MAX_FEN - 99),
])
def test_plain_decimals_are_accepted(value, fen):
    assert amount_fen(value, "x") == fen
    assert AMOUNT_MAX_FEN < 2**63  # fits the BIGINT columns of both databases


@pytest.mark.parametrize("value", [12.5, True, None, [], {}, Decimal("NaN"), Decimal("Infinity"),
                                   Decimal("1.00000000000000000000000000001")])
def test_amount_of_another_type_is_refused(value):
    with pytest.raises(FieldError):
        amount_fen(value, "x")


def test_negative_amounts_only_where_allowed():
    with pytest.raises(FieldError) as refused:
        amount_fen("-1.00", "acct_pay")
    assert refused.value.message == "acct_pay 不能为负数"
    assert amount_fen("-1.00", "x", allow_negative=True) == -100
    assert yuan_to_fen("-12.34") == -1234  # the core's reversal output


@pytest.mark.parametrize("value", ["1e2", " 1", "１", "1_0", "1.23456", "-1", 1.5, "1234567890123", Decimal("1E+12")])
def test_quantities(value):
    with pytest.raises(FieldError):
        decimal_value(value, "cnt", int_digits=12, decimals=4)


def test_engine_line_item_does_not_read_wide_quantity_text():
    item = engine.LineItem(feedetl_sn="1", med_list_codg="X", list_class="A", self_pay_ratio_permille=0,
                           price_cap_fen=None, pric_fen=100, cnt=" １", amount_fen=100)
    assert item.cnt == " １"  # left as is: split() refuses it
    assert engine.LineItem(feedetl_sn="1", med_list_codg="X", list_class="A", self_pay_ratio_permille=0,
                           price_cap_fen=None, pric_fen=100, cnt="1.5", amount_fen=150).cnt == Decimal("1.5")


# --- the envelope ---------------------------------------------------------------------

def _body(**fields) -> bytes:
    body = {"infno": "9001", "msgid": "M1", "fixmedins_code": "P1", "inf_time": "2026-01-01 10:00:00", "input": {}}
    body.update(fields)
    return json.dumps(body, ensure_ascii=False).encode()


@pytest.mark.parametrize("fields, message", [
    ({"msgid": "abc\n"}, "msgid 格式不正确"),
    ({"msgid": "ａｂｃ"}, "msgid 格式不正确"),
    ({"infno": "9001\n"}, "infno 格式不正确"),
    ({"infno": "９００１"}, "infno 格式不正确"),
    ({"mdtrtarea_admvs": "１１０１０５"}, "mdtrtarea_admvs 必须是6位行政区划代码"),
    ({"insuplc_admdvs": "١١٠١٠٥"}, "insuplc_admdvs 必须是6位行政区划代码"),
    ({"insuplc_admdvs": "110105\n"}, "insuplc_admdvs 必须是6位行政区划代码"),
])
def test_envelope_fields_are_ascii_and_whole(fields, message):
    with pytest.raises(EnvelopeError) as refused:
        envelope.parse(_body(**fields))
    assert refused.value.infcode == InfCode.MALFORMED and message in refused.value.err_msg


@pytest.mark.parametrize("raw, message", [
    (b'{"infno": "9001", "infno": "9002", "msgid": "M1", "fixmedins_code": "P1", "inf_time": "t", "input": {}}',
     "重复"),
    (b'{"infno": "9001", "msgid": "M1", "fixmedins_code": "P1", "inf_time": "t", "input": {"a": NaN}}', "NaN"),
    (b'{"infno": "9001", "msgid": "M1", "fixmedins_code": "P1", "inf_time": "t", "input": {"a": "\\ud800"}}',
     "代理"),
    (b'{"infno": "9001", "msgid": "M1", "fixmedins_code": "P1", "inf_time": "t", "input": '
     + b'[' * 100000 + b']' * 100000 + b'}', "嵌套"),
])
def test_envelope_json_is_read_strictly(raw, message):
    with pytest.raises(EnvelopeError) as refused:
        envelope.parse(raw)
    assert refused.value.infcode == InfCode.MALFORMED and message in refused.value.err_msg


def test_envelope_numbers_arrive_exact_and_hash_apart_from_strings():
    as_number = envelope.parse(b'{"infno": "2101", "msgid": "M1", "fixmedins_code": "P1", "inf_time": "t",'
                               b' "input": {"druginfo": {"medfee_sumamt": 12.50}}}')
    as_text = envelope.parse(_body(infno="2101", inf_time="t", input={"druginfo": {"medfee_sumamt": "12.50"}}))
    amount = as_number.input["druginfo"]["medfee_sumamt"]
    assert isinstance(amount, Decimal) and str(amount) == "12.50"
    assert amount_fen(amount, "medfee_sumamt") == 1250
    assert as_number.body_hash() != as_text.body_hash()
    assert envelope.json_ready(as_number.input) == as_text.input


def test_canonical_json_is_the_former_hash_text():
    value = {"b": [1, "x", {"z": None, "a": True}], "a": "中文\n\"", "c": -3}
    assert envelope.canonical_json(value) == json.dumps(value, sort_keys=True, ensure_ascii=False,
                                                        separators=(",", ":"))


@pytest.mark.parametrize("value", ["２０２６-01-01 10:00:00", "2026-1-1 10:00:00", "2026-01-01 10:00:00\n",
                                   "20260230100000"])
def test_inf_time_is_ascii(value):
    assert envelope.parse_inf_time(value) is None
    assert envelope.parse_inf_time("2026-01-01 10:00:00").year == 2026


# --- voucher codes ----------------------------------------------------------------------

def _code() -> str:
    return codes.issue(42, SECRET, key=KEY, step=59_000_000, step_seconds=30)


@pytest.mark.parametrize("spell", [fullwidth, arabic_indic, superscript])
@pytest.mark.parametrize("position", [0, 10, 30, 43, 48])  # version, block, block, TOTP, check digits
def test_code_with_a_non_ascii_digit_is_corrupted(spell, position):
    """Was parsed (fullwidth, Arabic-Indic: the same block under another text,
    so a second single-use key) or crashed (superscript: ValueError; a wide
    digit in the TOTP part: TypeError in compare_digest)."""
    code = _code()
    codes.parse(code, key=KEY)
    changed = code[:position] + spell(code[position]) + code[position + 1:]
    with pytest.raises(codes.CodeFormatError):
        codes.parse(changed, key=KEY)


@pytest.mark.parametrize("change", [lambda c: c + "\n", lambda c: " " + c, lambda c: c + " ", lambda c: None])
def test_code_is_taken_as_scanned(change):
    with pytest.raises(codes.CodeFormatError):
        codes.parse(change(_code()), key=KEY)
