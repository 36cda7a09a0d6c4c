"""Strict input on the terminal interfaces (issue #9, parts 1 and 5): a voucher
code with a non-ASCII digit is a corrupted scan, never a second decode; a
malformed code is a refusal, never a 500 (decode endpoint and the REST code
image); a msgid with a trailing newline is malformed; an ID number or admdvs
with non-ASCII digits is refused; an amount that is not a plain decimal within
16,2 is INPUT_INVALID naming the field — never INTERNAL."""

from __future__ import annotations

import json
from urllib.parse import quote

from decimal import Decimal

import pytest

from common import demodata, signing
from common.envelope import InfCode
from tests.support.app import AppClient
from tests.support.pos import A_ITEMS, Pos, pharmacies_for
from terminal.models import EcToken, GatewayMessage
from payments.models import Payment
from wallet.models import Voucher
from codes.services.issue import code_issue

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("core_url")]

EMPLOYEE = demodata.DEMO_PERSONAS["employee"]
# The person's own region, then province: a local bill (elsewhere: a filing, else 4011).
PHARMACIES = pharmacies_for(EMPLOYEE)
DECODE = "/localcfc/api/hsecfc/localQrCodeQuery"
SMALL = [(A_ITEMS[0].med_list_codg, "25.00", "2")]  # 50.00, no confirmation
CORRUPTED = "二维码内容不完整或已损坏，请重新扫码"


def fullwidth(digit: str) -> str:
    return chr(0xFF10 + int(digit))


def arabic_indic(digit: str) -> str:
    return chr(0x0660 + int(digit))


def superscript(digit: str) -> str:
    return {"1": "\u00b9", "2": "\u00b2", "3": "\u00b3"}.get(digit, chr(0x2070 + int(digit)))


def respell(code: str, position: int, spell) -> str:
    return code[:position] + spell(code[position]) + code[position + 1:]


@pytest.fixture
def app(client):
    app = AppClient(client, "wechat").login()
    app.activate(EMPLOYEE, pin="258036")
    return app


@pytest.fixture
def voucher(app):
    return Voucher.objects.get(person__psn_no=EMPLOYEE.psn_no)


@pytest.fixture
def pos(client, app):
    return Pos(client, PHARMACIES[0])


@pytest.fixture
def other_pos(client, app):
    return Pos(client, PHARMACIES[1])


# --- part 1: a code decoded once is not decoded again under another spelling ---------------

@pytest.mark.parametrize("spell", [fullwidth, arabic_indic])
@pytest.mark.parametrize("position", [5, 40])  # a block digit; its last one
def test_decoded_code_with_one_digit_respelled_is_corrupted_not_a_second_decode(voucher, pos, other_pos, spell,
                                                                                 position):
    code = code_issue(voucher).code
    first = pos.decode(code)
    assert first["code"] == 0, first
    again = other_pos.decode(respell(code, position, spell))
    assert (again["code"], again["errorCode"], again["message"], again["data"]) == \
        (int(InfCode.CODE_CORRUPTED), "EC_CODE_CORRUPTED", CORRUPTED, None)
    assert EcToken.objects.count() == 1  # no second ecToken, no identity handed out
    assert other_pos.decode(code)["errorCode"] == "EC_CODE_USED"


@pytest.mark.parametrize("spell, position", [
    (superscript, 10),  # isdigit() true, int() false: was a 500
    (fullwidth, 43),  # the TOTP part: compare_digest on non-ASCII text was a 500
    (superscript, 43),
    (arabic_indic, 47),  # check digits
])
def test_malformed_code_is_refused_by_decode_not_a_500(voucher, pos, spell, position):
    code = code_issue(voucher).code
    answer = pos.decode(respell(code, position, spell))
    assert (answer["code"], answer["errorCode"], answer["message"], answer["data"]) == \
        (int(InfCode.CODE_CORRUPTED), "EC_CODE_CORRUPTED", CORRUPTED, None)
    assert EcToken.objects.count() == 0
    assert pos.decode(code)["code"] == 0  # the real code is still unused


@pytest.mark.parametrize("change", [lambda c: c + "\n", lambda c: " " + c])
def test_decode_takes_the_code_as_scanned(voucher, pos, change):
    answer = pos.decode(change(code_issue(voucher).code))
    assert (answer["code"], answer["errorCode"]) == (int(InfCode.CODE_CORRUPTED), "EC_CODE_CORRUPTED")


@pytest.mark.parametrize("spell, position", [(superscript, 10), (fullwidth, 43), (fullwidth, 5)])
@pytest.mark.parametrize("kind", ["qr", "barcode"])
def test_malformed_code_is_refused_by_the_code_image_not_a_500(app, voucher, spell, position, kind):
    code = app.get("/api/voucher/code").json()["code"]
    response = app.get(f"/api/voucher/code/{kind}?code={quote(respell(code, position, spell))}")
    assert response.status_code == 400, response.content
    assert response.json() == {"code": "EC_CODE_CORRUPTED", "message": CORRUPTED}


@pytest.mark.parametrize("raw, message", [
    (b'{"transType": "ec.query", "transType": "ec.query", "orgId": "%s", "data": {}}', "重复"),
    (b'{"transType": "ec.query", "orgId": "%s", "data": {"qrCode": "\\udc00"}}', "代理"),
    (b'{"transType": "ec.query", "orgId": "%s", "data": {"qrCode": NaN}}', "NaN"),
    (b'{"transType": "ec.query", "orgId": "%s", "data": ' + b"[" * 50000 + b"]" * 50000 + b"}", "嵌套"),
])
def test_decode_body_is_read_strictly(pos, raw, message):
    body = raw.replace(b"%s", pos.code.encode())
    response = pos.client.post(DECODE, data=body, content_type="application/json",
                               headers=signing.sign_headers(pos.code, pos.secret, body))
    assert response.status_code == 200
    answer = response.json()
    assert (answer["code"], answer["errorCode"], answer["data"]) == (int(InfCode.MALFORMED), "EC_MALFORMED", None)
    assert message in answer["message"]


# --- the envelope ------------------------------------------------------------------------------

def test_msgid_with_a_trailing_newline_is_malformed(pos):
    answer = pos.call("9001", {"signIn": {"opter_no": "0001"}}, msgid="abc\n")
    assert answer["infcode"] == InfCode.MALFORMED
    assert answer["err_msg"] == "msgid 格式不正确（1-40位字母数字）" and len(answer["inf_refmsgid"]) == 30
    assert not GatewayMessage.objects.filter(msgid__startswith="abc").exists()


@pytest.mark.parametrize("field, value", [("insuplc_admdvs", "１１０１０５"), ("mdtrtarea_admvs", "١١٠١٠٥"),
                                          ("insuplc_admdvs", "110105\n")])
def test_admdvs_with_non_ascii_digits_is_malformed(pos, field, value):
    answer = pos.call("9001", {"signIn": {"opter_no": "0001"}}, **{field: value})
    assert answer["infcode"] == InfCode.MALFORMED and answer["err_msg"] == f"{field} 必须是6位行政区划代码"


@pytest.mark.parametrize("spell", [fullwidth, arabic_indic])
def test_1101_id_number_with_non_ascii_digits_is_refused(pos, spell):
    number = EMPLOYEE.id_number
    respelled = number[:3] + spell(number[3]) + number[4:]
    answer = pos.call("1101", {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": respelled, "psn_name": EMPLOYEE.name}})
    assert (answer["infcode"], answer["err_msg"]) == (InfCode.INPUT_INVALID, "身份证号码格式或校验位不正确")
    assert pos.call("1101", {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": number}})["infcode"] == 0


# --- part 5: amounts ------------------------------------------------------------------------------

@pytest.fixture
def paying_pos(pos, voucher):
    assert pos.decode(code_issue(voucher).code)["code"] == 0
    return pos


PLAIN_FORM = "medfee_sumamt 须为最多两位小数的金额（元），只能由数字0-9和小数点组成，如 12.50"
TOO_LARGE = "medfee_sumamt 超出允许范围（最大 99999999999999.99 元）"


@pytest.mark.parametrize("amount, message", [
    ("1e2", PLAIN_FORM), ("1_000", PLAIN_FORM), (" 12.50", PLAIN_FORM), ("１２.50", PLAIN_FORM),
    ("12.505", PLAIN_FORM), ("50.00\n", PLAIN_FORM), (str(10**20), TOO_LARGE), (10**20, TOO_LARGE),
])
@pytest.mark.parametrize("infno", ["2101", "2102"])
def test_amount_that_is_not_a_plain_decimal_is_input_invalid(paying_pos, amount, message, infno):
    bill = paying_pos.bill(SMALL, medfee_sumamt=amount)
    answer = paying_pos.call(infno, bill)
    assert (answer["infcode"], answer["err_msg"]) == (InfCode.INPUT_INVALID, message), answer
    assert answer["output"] == {}  # no split for a bill that is not one
    assert not Payment.objects.exists()


@pytest.mark.parametrize("infno", ["2101", "2102"])
def test_item_amounts_are_checked_too(paying_pos, infno):
    bill = paying_pos.bill(SMALL)
    bill["drugdetail"][0]["pric"] = "２5.00"
    answer = paying_pos.call(infno, bill)
    assert answer["infcode"] == InfCode.INPUT_INVALID
    assert answer["err_msg"] == "第1条 pric 须为最多6位小数的非负数，只能由数字0-9和小数点组成"  # 数值型 16,6


def test_json_numbers_are_amounts_exactly(paying_pos):
    """A JSON number arrives as an exact Decimal and is settled as the amount
    it says (not a float, not a 5999 on the way to the core or the journal)."""
    bill = paying_pos.bill(SMALL)
    text = json.dumps(paying_pos.envelope("2102", bill, msgid="PAY-NUMBERS-1"), ensure_ascii=False)
    text = text.replace('"medfee_sumamt": "50.00"', '"medfee_sumamt": 50.00').replace('"pric": "25.00"', '"pric": 25.0')
    assert '"medfee_sumamt": 50.00' in text and '"pric": 25.0' in text
    answer = paying_pos.post_raw(text.encode())
    assert answer["infcode"] == 0, answer
    assert answer["output"]["setlinfo"]["medfee_sumamt"] == Decimal("50.00")
    payment = Payment.objects.get(message__msgid="PAY-NUMBERS-1")
    assert payment.medfee_fen == 5000 and payment.request["druginfo"]["medfee_sumamt"] == "50.00"
    assert paying_pos.post_raw(text.encode()) == answer  # the retry is recognised as the same body



@pytest.mark.parametrize("respell", [lambda t: " " + t, lambda t: t + "\t", lambda t: t[:4] + "_" + t[4:]])
def test_signed_timestamp_is_ascii_digits(pos, respell):
    """int() took " 1700000000" and "1700_000000": a timestamp is ASCII digits."""
    body = json.dumps(pos.envelope("9001", {"signIn": {"opter_no": "0001"}}), ensure_ascii=False).encode()
    headers = signing.sign_headers(pos.code, pos.secret, body)
    headers[signing.HEADER_TIMESTAMP] = respell(headers[signing.HEADER_TIMESTAMP])
    answer = pos.post_raw(body, headers)
    assert (answer["infcode"], answer["err_msg"]) == (InfCode.AUTH_FAILED, "x-tif-timestamp 不正确")
