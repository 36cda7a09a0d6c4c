"""The core takes amounts and quantities exactly as the spec defines them
(issue #9 part 5): a plain decimal within 16,2 (数值型 16,2; cnt 16,4), as a
JSON number or a string of ASCII digits. Anything else is INPUT_INVALID
naming the field; the largest 16,2 amount settles and is booked (it fits
BIGINT fen on PostgreSQL and SQLite) instead of a 5999 or a split for a bill
of 10^20 yuan."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from common import signing
from common.envelope import InfCode
from core_platform.enums import LedgerAccountKind
from core_platform.models import LedgerAccount, Settlement
from core_platform.services.catalogue import catalogue_load
from core_platform.services.ledger import personal_account_credit
from core_platform.services.policy import policy_load
from core_platform.services.registry import institution_register, person_enrol, region_register
from tests.core_platform.signing import call, envelope, post

pytestmark = pytest.mark.django_db(databases=["default", "core"])

PHARMACY = "P11010000019"
MAX = "99999999999999.99"
POLICY = {
    "model": "standard",
    "deductible_fen": {"1": 30000, "2": 60000, "3": 90000, "9": 0},
    "bands": [{"upto_fen": None, "ratio_permille": {"1": 900, "2": 850, "3": 800, "9": 700}}],
    "annual_ceiling_fen": 40000000,
    "account_may_pay_self_part": True,
}


@pytest.fixture
def psn_no():
    region_register("110100", "北京市", "北京市", evoucher_open=True)
    person, _ = person_enrol(name="王芳", id_number="11010519491231002X", insutype="310", region="110100",
                             employer="北京恒信科技有限公司", psn_type="21")
    personal_account_credit(person.psn_no, 10_000, "opening")
    institution_register(code=PHARMACY, name="北京同仁堂药店", kind="pharmacy", level="9", region="110100")
    catalogue_load([{"med_list_codg": "XA0001", "name": "阿莫西林胶囊", "kind": "drug", "list_class": "A", "unit": "盒"}])
    policy_load({"region": "110100", "insutype": "310", "version": 1, "effective_from": "2020-01-01",
                 "params": POLICY})
    return person.psn_no


def bill(psn_no, *, medfee="40.00", pric="20.00", cnt="2", amount="40.00") -> dict:
    return {"druginfo": {"psn_no": psn_no, "mdtrt_cert_type": "99", "mdtrt_cert_no": psn_no,
                         "begntime": "2026-11-23 10:00:00", "medfee_sumamt": medfee, "insutype": "310",
                         "acct_used_flag": "1", "med_type": "41"},
            "drugdetail": [{"feedetl_sn": "1", "med_list_codg": "XA0001", "det_item_fee_sumamt": amount,
                            "cnt": cnt, "pric": pric}]}


def send(client, infno, input_, msgid=None) -> dict:
    return call(client, envelope(infno, input_, msgid=msgid, fixmedins_code=PHARMACY))


PLAIN = "须为最多两位小数的金额（元），只能由数字0-9和小数点组成，如 12.50"
LIMIT = "超出允许范围（最大 99999999999999.99 元）"


@pytest.mark.parametrize("infno", ["2101", "2102"])
@pytest.mark.parametrize("field, value, message", [
    ("medfee", "1e2", f"medfee_sumamt {PLAIN}"),
    ("medfee", "1_000", f"medfee_sumamt {PLAIN}"),
    ("medfee", " 40.00", f"medfee_sumamt {PLAIN}"),
    ("medfee", "４0.00", f"medfee_sumamt {PLAIN}"),
    ("medfee", "40.005", f"medfee_sumamt {PLAIN}"),
    ("medfee", str(10**20), f"medfee_sumamt {LIMIT}"),
    ("medfee", 10**20, f"medfee_sumamt {LIMIT}"),
    ("pric", "2e1", "第1条 pric 须为最多6位小数的非负数，只能由数字0-9和小数点组成"),  # 数值型 16,6
    ("pric", "20.0000001", "第1条 pric 须为最多6位小数的非负数，只能由数字0-9和小数点组成"),
    ("amount", "٤0.00", f"第1条 det_item_fee_sumamt {PLAIN}"),
    ("cnt", "２", "第1条 cnt 须为最多4位小数的非负数，只能由数字0-9和小数点组成"),
    ("cnt", " 2", "第1条 cnt 须为最多4位小数的非负数，只能由数字0-9和小数点组成"),
    ("cnt", "2e0", "第1条 cnt 须为最多4位小数的非负数，只能由数字0-9和小数点组成"),
])
def test_amounts_that_are_not_plain_decimals_are_input_invalid(client, psn_no, infno, field, value, message):
    answer = send(client, infno, bill(psn_no, **{field: value}))
    assert (answer["infcode"], answer["err_msg"], answer["output"]) == (InfCode.INPUT_INVALID, message, {})
    assert not Settlement.objects.exists()


def test_a_bill_of_10_pow_20_yuan_gets_no_split(client, psn_no):
    huge = str(10**20)
    answer = send(client, "2101", bill(psn_no, medfee=huge, pric=huge, cnt="1", amount=huge))
    assert answer["infcode"] == InfCode.INPUT_INVALID and LIMIT in answer["err_msg"]
    assert "setlinfo" not in answer["output"]


def test_the_largest_16_2_amount_settles_and_one_cent_more_is_refused(client, psn_no):
    answer = send(client, "2102", bill(psn_no, medfee=MAX, pric=MAX, cnt="1", amount=MAX))
    assert answer["infcode"] == 0, answer
    info = answer["output"]["setlinfo"]
    assert info["medfee_sumamt"] == Decimal(MAX) and str(info["medfee_sumamt"]) == MAX  # a JSON number, exact
    settlement = Settlement.objects.get(setl_id=info["setl_id"])
    assert settlement.medfee_fen == 9_999_999_999_999_999  # booked exactly in BIGINT fen
    assert settlement.fund_fen + settlement.acct_fen + settlement.cash_fen == settlement.medfee_fen

    over = "100000000000000.00"
    answer = send(client, "2101", bill(psn_no, medfee=over, pric=over, cnt="1", amount=over))
    assert (answer["infcode"], answer["err_msg"]) == (InfCode.INPUT_INVALID, f"medfee_sumamt {LIMIT}")


def test_maximum_bills_that_would_overflow_a_balance_are_refused_not_5999(client, psn_no):
    """Each bill fits 16,2, but the pharmacy's receivable and the pooled fund
    add them up: about 920 maximum bills reach the 64-bit limit. The one that
    would cross it is a 1007 refusal with nothing posted, not an internal error."""
    assert send(client, "2102", bill(psn_no, medfee=MAX, pric=MAX, cnt="1", amount=MAX))["infcode"] == 0
    receivable = LedgerAccount.objects.get(kind=LedgerAccountKind.INSTITUTION_RECEIVABLE, owner=PHARMACY)
    LedgerAccount.objects.filter(pk=receivable.pk).update(balance_fen=2**63 - 1_000_000)  # as after ~920 of them
    before = Settlement.objects.count()
    answer = send(client, "2102", bill(psn_no, medfee=MAX, pric=MAX, cnt="1", amount=MAX))
    assert answer["infcode"] == InfCode.INPUT_INVALID, answer
    assert answer["err_msg"] == "累计金额超出账户可记录的范围，请核对金额"
    assert Settlement.objects.count() == before


def test_json_numbers_are_amounts_exactly(client, psn_no):
    body = json.dumps(envelope("2101", bill(psn_no), fixmedins_code=PHARMACY), ensure_ascii=False)
    body = (body.replace('"medfee_sumamt": "40.00"', '"medfee_sumamt": 40.00')
            .replace('"pric": "20.00"', '"pric": 20.0').replace('"cnt": "2"', '"cnt": 2'))
    answer = call(client, body.encode())
    assert answer["infcode"] == 0, answer
    assert str(answer["output"]["setlinfo"]["medfee_sumamt"]) == "40.00"  # the JSON number 40.00
    three_decimals = body.replace('"medfee_sumamt": 40.00', '"medfee_sumamt": 40.001').replace('"msgid": "',
                                                                                                  '"msgid": "x')
    answer = call(client, three_decimals.encode())
    assert (answer["infcode"], answer["err_msg"]) == (InfCode.INPUT_INVALID, "medfee_sumamt 最多两位小数（元）")


def test_msgid_with_a_trailing_newline_is_malformed(client, psn_no):
    answer = send(client, "2101", bill(psn_no), msgid="abc\n")
    assert (answer["infcode"], answer["err_msg"]) == (InfCode.MALFORMED, "msgid 格式不正确（1-40位字母数字）")


@pytest.mark.parametrize("stamp", ["１７００００００００", " 1700000000", "1_700_000_000"])
def test_signed_timestamp_is_ascii_digits(client, psn_no, stamp):
    raw = json.dumps(envelope("2101", bill(psn_no), fixmedins_code=PHARMACY)).encode()
    answer = post(client, raw, headers={signing.HEADER_TIMESTAMP: stamp}).json()
    assert (answer["infcode"], answer["err_msg"]) == (InfCode.AUTH_FAILED, "缺少或无效的请求时间戳")
