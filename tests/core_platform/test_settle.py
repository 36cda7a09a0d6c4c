"""The core's settlement transactions over its envelope: 2101 pre-settle,
2102 settle (ledger + accumulators), 2103 reverse, 2601 reverse by msgid,
9101 status; idempotency and conflicting retries."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest
from django.db.models import Sum

from common.envelope import InfCode
from core_platform.models import AnnualAccumulator, Entry, LedgerAccount, Posting, Settlement
from core_platform.selectors import ledger_discrepancies, personal_balance_fen
from core_platform.services.catalogue import catalogue_load
from core_platform.services.ledger import personal_account_credit
from core_platform.services.policy import policy_load
from core_platform.services.registry import institution_register, person_enrol, region_register
from tests.core_platform.signing import call, envelope

pytestmark = pytest.mark.django_db(databases=["default", "core"])

PHARMACY = "P11010000009"
POLICY = {
    "model": "standard",
    "deductible_fen": {"1": 30000, "2": 60000, "3": 90000, "9": 0},
    "bands": [{"upto_fen": 5000000, "ratio_permille": {"1": 900, "2": 850, "3": 800, "9": 700}},
              {"upto_fen": None, "ratio_permille": {"1": 950, "2": 900, "3": 850, "9": 700}}],
    "annual_ceiling_fen": 40000000,
    "account_may_pay_self_part": True,
}


@pytest.fixture
def world():
    region_register("110100", "北京市", "北京市", evoucher_open=True)
    person, _ = person_enrol(name="王芳", id_number="11010519491231002X", insutype="310", region="110100",
                             employer="北京恒信科技有限公司", psn_type="21")
    personal_account_credit(person.psn_no, 10_000, "opening")  # 100.00 yuan
    institution_register(code=PHARMACY, name="北京同仁堂药店", kind="pharmacy", level="9", region="110100")
    catalogue_load([
        {"med_list_codg": "XA0001", "name": "阿莫西林胶囊", "kind": "drug", "list_class": "A", "unit": "盒"},
        {"med_list_codg": "XB0001", "name": "头孢克肟片", "kind": "drug", "list_class": "B",
         "self_pay_ratio_permille": 100, "unit": "盒"},
        {"med_list_codg": "XC0001", "name": "维生素C泡腾片", "kind": "drug", "list_class": "C",
         "self_pay_ratio_permille": 1000, "unit": "盒"},
        {"med_list_codg": "XA0002", "name": "布洛芬缓释胶囊", "kind": "drug", "list_class": "A",
         "price_cap_fen": 1500, "unit": "盒"},
    ])
    policy_load({"region": "110100", "insutype": "310", "version": 1, "effective_from": "2020-01-01",
                 "params": POLICY})
    return person


def bill(psn_no, items, **druginfo):
    """items: (code, pric yuan str, cnt str)"""
    from decimal import Decimal

    rows, total = [], Decimal(0)
    for n, (code, pric, cnt) in enumerate(items, 1):
        amount = (Decimal(pric) * Decimal(cnt)).quantize(Decimal("0.01"))
        total += amount
        rows.append({"feedetl_sn": str(n), "med_list_codg": code, "medins_list_codg": code,
                     "det_item_fee_sumamt": str(amount), "cnt": cnt, "pric": pric})
    info = {"psn_no": psn_no, "mdtrt_cert_type": "99", "mdtrt_cert_no": psn_no, "begntime": "2026-11-23 10:00:00",
            "medfee_sumamt": str(total), "insutype": "310", "acct_used_flag": "1", "med_type": "41"}
    info.update(druginfo)
    return {"druginfo": info, "drugdetail": rows}


def send(client, infno, input, msgid=None):
    return call(client, envelope(infno, input, msgid=msgid, fixmedins_code=PHARMACY))


THREE_ITEMS = [("XA0001", "20.00", "2"), ("XB0001", "30.00", "1"), ("XC0001", "15.50", "1")]  # 40 + 30 + 15.5


def test_pre_settle_splits_without_posting(client, world):
    answer = send(client, "2101", bill(world.psn_no, THREE_ITEMS))
    assert answer["infcode"] == 0, answer
    info = answer["output"]["setlinfo"]
    # A 40.00 eligible; B 30.00 → 3.00 self-pay-first, 27.00 eligible; C 15.50 full self-pay.
    assert info["medfee_sumamt"] == D("85.50") and info["fulamt_ownpay_amt"] == D("15.50")
    assert info["preselfpay_amt"] == D("3.00") and info["inscp_scp_amt"] == D("67.00")
    # pharmacy level 9: deductible 0, band ratio 70% → fund 46.90, person 38.60 from the account (100.00)
    assert info["hifp_pay"] == D("46.90") and info["fund_pay_sumamt"] == D("46.90")
    assert info["psn_part_amt"] == D("38.60") and info["acct_pay"] == D("38.60") and info["psn_cash_pay"] == D("0.00")
    # 2101 posts nothing: balc is the balance now (the explanation says what it would become)
    assert info["balc"] == D("100.00") and "setl_id" not in info
    assert [d["feedetl_sn"] for d in answer["output"]["detlcutinfo"]] == ["1", "2", "3"]
    assert answer["output"]["detlcutinfo"][2]["med_list_name"] == "维生素C泡腾片"
    assert answer["output"]["setldetail"] == [{
        "fund_pay_type": "310100", "fund_pay_type_name": "职工基本医疗保险统筹基金", "inscp_scp_amt": D("67.00"),
        "crt_payb_lmt_amt": D("400000.00"), "fund_payamt": D("46.90"),
        "setl_proc_info": "政策范围内费用67.00元，起付线0.00元，统筹基金按比例支付46.90元。"}]
    assert answer["output"]["explanation"]
    assert personal_balance_fen(world.psn_no) == 10_000 and not Settlement.objects.exists()


def test_settle_posts_a_balanced_posting_and_moves_accumulators(client, world):
    answer = send(client, "2102", bill(world.psn_no, THREE_ITEMS), msgid="SETTLE0001")
    assert answer["infcode"] == 0, answer
    info = answer["output"]["setlinfo"]
    assert info["setl_id"].startswith("S") and info["mdtrt_id"].startswith("M")
    assert info["balc"] == D("61.40")
    settlement = Settlement.objects.get()
    assert (settlement.medfee_fen, settlement.fund_fen, settlement.acct_fen, settlement.cash_fen) == (8550, 4690, 3860, 0)
    assert Entry.objects.filter(posting=settlement.posting).aggregate(s=Sum("amount_fen"))["s"] == 0
    assert personal_balance_fen(world.psn_no) == 6140
    acc = AnnualAccumulator.objects.get(psn_no=world.psn_no)
    assert (acc.eligible_cost_fen, acc.fund_paid_fen) == (6700, 4690)
    assert ledger_discrepancies() == []


def test_retry_returns_first_answer_and_conflicting_retry_is_refused(client, world):
    body = bill(world.psn_no, THREE_ITEMS)
    first = send(client, "2102", body, msgid="RETRY0001")
    again = send(client, "2102", body, msgid="RETRY0001")
    assert again == first and Settlement.objects.count() == 1 and personal_balance_fen(world.psn_no) == 6140
    different = send(client, "2102", bill(world.psn_no, THREE_ITEMS[:1]), msgid="RETRY0001")
    assert different["infcode"] == InfCode.MSGID_CONFLICT


def test_totals_must_agree(client, world):
    body = bill(world.psn_no, THREE_ITEMS)
    body["druginfo"]["medfee_sumamt"] = "85.49"
    assert send(client, "2101", body)["infcode"] == InfCode.AMOUNTS_INCONSISTENT
    body = bill(world.psn_no, THREE_ITEMS, fund_pay_sumamt="46.90", acct_pay="38.60", acct_mulaid_pay="0",
                psn_cash_pay="0.01")
    answer = send(client, "2102", body)
    assert answer["infcode"] == InfCode.AMOUNTS_INCONSISTENT and "medfee_sumamt" in answer["err_msg"]
    assert not Settlement.objects.exists()


def test_confirmed_split_must_still_hold(client, world):
    expected = dict(fund_pay_sumamt="46.90", acct_pay="38.60", acct_mulaid_pay="0.00", psn_cash_pay="0.00")
    assert send(client, "2102", bill(world.psn_no, THREE_ITEMS, **expected))["infcode"] == 0
    # The same bill again: only 61.40 left, the split is the same → fine; a third time it changes.
    assert send(client, "2102", bill(world.psn_no, THREE_ITEMS, **expected))["infcode"] == 0
    answer = send(client, "2102", bill(world.psn_no, THREE_ITEMS, **expected))
    assert answer["infcode"] == InfCode.SPLIT_CHANGED
    assert personal_balance_fen(world.psn_no) == 10_000 - 2 * 3860


@pytest.mark.parametrize("mutate, infcode", [
    (lambda b: b["drugdetail"][0].update(med_list_codg="NOPE"), InfCode.CATALOGUE_ITEM_UNKNOWN),
    (lambda b: b["drugdetail"][0].update(pric="20.0000001"), InfCode.INPUT_INVALID),  # pric is 16,6
    (lambda b: b["drugdetail"][0].update(pric="20.005"), InfCode.AMOUNTS_INCONSISTENT),  # 20.005 × 2 ≠ 40.00
    (lambda b: b["drugdetail"][0].update(cnt="-1"), InfCode.INPUT_INVALID),
    (lambda b: b["druginfo"].update(psn_no="000"), InfCode.PERSON_NOT_FOUND),
    (lambda b: b.pop("drugdetail"), InfCode.INPUT_INVALID),
])
def test_bad_bills_are_refused(client, world, mutate, infcode):
    body = bill(world.psn_no, THREE_ITEMS)
    mutate(body)
    answer = send(client, "2101", body)
    assert answer["infcode"] == infcode, answer
    assert answer["err_msg"] and not answer["err_msg"].isascii()


def test_reverse_restores_balance_and_accumulators(client, world):
    settled = send(client, "2102", bill(world.psn_no, THREE_ITEMS), msgid="REV-SETTLE")
    setl_id = settled["output"]["setlinfo"]["setl_id"]
    reversed_ = send(client, "2103", {"data": {"setl_id": setl_id, "psn_no": world.psn_no}}, msgid="REV-0001")
    assert reversed_["infcode"] == 0, reversed_
    assert reversed_["output"]["setlinfo"]["acct_pay"] == D("-38.60") and reversed_["output"]["setlinfo"]["balc"] == D("100.00")
    assert personal_balance_fen(world.psn_no) == 10_000
    acc = AnnualAccumulator.objects.get(psn_no=world.psn_no)
    assert (acc.eligible_cost_fen, acc.deductible_paid_fen, acc.fund_paid_fen) == (0, 0, 0)
    settlement = Settlement.objects.get()
    assert settlement.status == "reversed" and settlement.reversal_posting is not None
    assert Posting.objects.count() == 3  # opening, settlement, reversal: nothing edited
    again = send(client, "2103", {"data": {"setl_id": setl_id}}, msgid="REV-0002")
    assert again["infcode"] == InfCode.ALREADY_REVERSED
    assert send(client, "2103", {"data": {"setl_id": "S-nope"}})["infcode"] == InfCode.SETTLEMENT_NOT_FOUND
    assert ledger_discrepancies() == []


def test_2601_reverses_a_settlement_by_its_msgid(client, world):
    send(client, "2102", bill(world.psn_no, THREE_ITEMS), msgid="ORIG-0001")
    answer = send(client, "2601", {"data": {"psn_no": world.psn_no, "omsgid": "ORIG-0001", "oinfno": "2102"}})
    assert answer["infcode"] == 0 and answer["output"]["result"] == "reversed"
    assert personal_balance_fen(world.psn_no) == 10_000


def test_2601_before_the_original_ran_fences_it_out(client, world):
    status = send(client, "9101", {"data": {"omsgid": "LATE-0001"}})
    assert status["output"]["msg"]["status"] == "absent"
    answer = send(client, "2601", {"data": {"psn_no": world.psn_no, "omsgid": "LATE-0001", "oinfno": "2102"}})
    assert answer["output"]["result"] == "original_absent"
    late = send(client, "2102", bill(world.psn_no, THREE_ITEMS), msgid="LATE-0001")
    assert late["infcode"] == InfCode.ORIGINAL_REVERSED
    assert not Settlement.objects.exists() and personal_balance_fen(world.psn_no) == 10_000
    assert send(client, "9101", {"data": {"omsgid": "LATE-0001"}})["output"]["msg"]["status"] == "reversed_before_run"


def test_9101_reports_a_done_settlement(client, world):
    first = send(client, "2102", bill(world.psn_no, THREE_ITEMS), msgid="Q-0001")
    status = send(client, "9101", {"data": {"omsgid": "Q-0001"}})["output"]["msg"]
    assert status["status"] == "done" and status["answer"] == first


def test_account_insufficient_pays_the_rest_in_cash(client, world):
    big = [("XA0001", "200.00", "1")]  # 200 eligible → fund 140, person 60 → account 60 of 100
    assert send(client, "2102", bill(world.psn_no, big))["output"]["setlinfo"]["acct_pay"] == D("60.00")
    info = send(client, "2102", bill(world.psn_no, big))["output"]["setlinfo"]
    assert (info["acct_pay"], info["psn_cash_pay"], info["balc"]) == (D("40.00"), D("20.00"), D("0.00"))
    info = send(client, "2102", bill(world.psn_no, big, acct_used_flag="0"))["output"]["setlinfo"]
    assert (info["acct_pay"], info["psn_cash_pay"]) == (D("0.00"), D("60.00"))


def test_benefit_check(client, world):
    answer = send(client, "2001", {"data": {"psn_no": world.psn_no, "insutype": "310"}})
    assert answer["output"]["trtinfo"][0]["trt_enjymnt_flag"] == "1"


def test_acct_pay_limit_asks_for_confirmation_and_posts_nothing(client, world):
    """The wallet's one-call settle: over the limit, the core answers 4008 with
    the split (so the payer can be asked) and posts nothing; within it, it settles."""
    over = send(client, "2102", bill(world.psn_no, THREE_ITEMS, acct_pay_limit="30.00"), msgid="LIMIT-1")
    assert over["infcode"] == InfCode.CONFIRMATION_REQUIRED
    assert over["output"]["setlinfo"]["acct_pay"] == D("38.60") and over["output"]["setlinfo"]["setl_id"] == ""
    assert not Settlement.objects.exists() and personal_balance_fen(world.psn_no) == 10_000
    under = send(client, "2102", bill(world.psn_no, THREE_ITEMS, acct_pay_limit="40.00"), msgid="LIMIT-2")
    assert under["infcode"] == 0 and under["output"]["setlinfo"]["acct_pay"] == D("38.60")


# --- national nodes (issue #10): the core's 2101/2102/2103 answers ----------------------

def national_bill(psn_no):
    """A bill as a national client builds it: every field of the lists, numbers as numbers."""
    from tests.support.national_fixtures import D as N, drug_row

    rows = [drug_row(1, "XA0001", N("20.00"), N("2")), drug_row(2, "XB0001", N("30.00"), N("1")),
            drug_row(3, "XC0001", N("15.50"), N("1")),
            drug_row(4, "XA0002", N("0.083333"), N("12"), amount=N("1.00"))]  # a price with six decimals
    rows[0].update(rxno="RX20261123001", rx_circ_flag="1", tcmdrug_used_way="1")
    total = sum((r["det_item_fee_sumamt"] for r in rows), N("0.00"))
    return {"druginfo": {"psn_no": psn_no, "mdtrt_cert_type": "02", "mdtrt_cert_no": psn_no,
                         "begntime": "2026-11-23 10:00:00", "medfee_sumamt": total, "invono": "INV0000000123",
                         "insutype": "310", "dise_codg": "J06.900", "dise_name": "急性上呼吸道感染",
                         "psn_setlway": "01", "mdtrt_id": "", "chrg_bchno": "CB202611230001",
                         "acct_used_flag": "1", "med_type": "41", "expContent": ""},
            "drugdetail": rows}


def send_exact(client, infno, input_, msgid=None):
    """Send with the numbers as JSON numbers (simplejson, exact text)."""
    from tests.core_platform.signing import post
    from tests.support.national_fixtures import to_text
    from tests.support.national_schema import load_answer

    body = envelope(infno, input_, msgid=msgid, fixmedins_code=PHARMACY)
    response = post(client, to_text(body))
    assert response.status_code == 200
    return load_answer(response.content)


SETLINFO_TYPES = {
    "str": ("mdtrt_id", "psn_no", "psn_name", "psn_cert_type", "certno", "gend", "naty", "brdy", "insutype",
            "psn_type", "cvlserv_flag", "setl_time", "mdtrt_cert_type", "med_type", "medins_setl_id",
            "clr_optins", "clr_way", "clr_type"),
    "money": ("medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt",
              "act_pay_dedc", "hifp_pay", "pool_prop_selfpay", "cvlserv_pay", "hifes_pay", "hifmi_pay", "hifob_pay",
              "maf_pay", "oth_pay", "fund_pay_sumamt", "psn_part_amt", "acct_pay", "psn_cash_pay", "balc",
              "acct_mulaid_pay", "hosp_part_amt"),
}


def test_2102_answers_the_national_nodes_with_real_values(client, world):
    from tests.support.national_schema import OUT_2101, OUT_2102, assert_conforms

    pre = send_exact(client, "2101", national_bill(world.psn_no), msgid="NAT-PRE-0001")
    assert pre["infcode"] == 0, pre
    assert_conforms(pre["output"], OUT_2101)
    answer = send_exact(client, "2102", national_bill(world.psn_no), msgid="NAT-SETTLE-0001")
    assert answer["infcode"] == 0, answer
    output = answer["output"]
    assert_conforms(output, OUT_2102)
    info = output["setlinfo"]
    for name in SETLINFO_TYPES["str"]:
        assert type(info[name]) is str, name
    for name in SETLINFO_TYPES["money"]:
        assert type(info[name]) is D and info[name].as_tuple().exponent == -2, name
    # who: the registry's values (the core gives certno in full; the wallet masks it)
    assert (info["psn_cert_type"], info["certno"], info["gend"], info["naty"], info["brdy"]) == (
        "01", "11010519491231002X", "2", "01", "1949-12-31")
    assert info["age"] == D("76.8") and str(info["age"]) == "76.8"  # at the bill's date, 2026-11-23
    assert (info["insutype"], info["psn_type"], info["cvlserv_flag"]) == ("310", "21", "0")
    assert (info["mdtrt_cert_type"], info["med_type"]) == ("02", "41")  # as sent
    assert (info["medins_setl_id"], info["clr_optins"], info["clr_way"], info["clr_type"]) == (
        "NAT-SETTLE-0001", "110100", "1", "41")
    # the funds the engine does not compute yet, and the hospital's part, are 0.00
    for name in ("cvlserv_pay", "hifes_pay", "hifmi_pay", "hifob_pay", "maf_pay", "oth_pay", "hosp_part_amt"):
        assert info[name] == D("0.00"), name
    assert info["psn_part_amt"] == info["medfee_sumamt"] - info["fund_pay_sumamt"]
    # setldetail: one row per fund that paid, summing to fund_pay_sumamt
    assert [r["fund_pay_type"] for r in output["setldetail"]] == ["310100"]
    assert sum(r["fund_payamt"] for r in output["setldetail"]) == info["fund_pay_sumamt"]
    # detlcutinfo: one row per line item, summing to medfee_sumamt, with the item's split
    cut = {r["feedetl_sn"]: r for r in output["detlcutinfo"]}
    assert list(cut) == ["0001", "0002", "0003", "0004"]
    assert sum(r["det_item_fee_sumamt"] for r in cut.values()) == info["medfee_sumamt"] == D("86.50")
    assert sum(r["inscp_scp_amt"] for r in cut.values()) == info["inscp_scp_amt"]
    assert sum(r["fulamt_ownpay_amt"] for r in cut.values()) == info["fulamt_ownpay_amt"] == D("15.50")
    assert sum(r["preselfpay_amt"] for r in cut.values()) == info["preselfpay_amt"] == D("3.00")
    assert [str(cut["0002"][k]) for k in ("selfpay_prop", "preselfpay_amt", "inscp_scp_amt", "chrgitm_lv")] == [
        "0.1000", "3.00", "27.00", "02"]
    assert (str(cut["0003"]["selfpay_prop"]), cut["0003"]["chrgitm_lv"]) == ("1.0000", "03")
    assert (str(cut["0004"]["pric"]), str(cut["0004"]["cnt"])) == ("0.083333", "12")
    assert cut["0001"]["med_chrgitm_type"] == "09" and cut["0001"]["memo"]
    assert output["explanation"]
    # the record fields are kept with the settlement (diagnosis and prescriptions encrypted at rest)
    settlement = Settlement.objects.get()
    assert settlement.invono == "INV0000000123" and settlement.msgid == "NAT-SETTLE-0001"
    assert settlement.bill_info["druginfo"]["dise_codg"] == "J06.900"
    assert settlement.bill_info["drugdetail"]["0001"]["rxno"] == "RX20261123001"
    assert settlement.bill_info["drugdetail"]["0001"]["prd_days"] == "3"
    assert len(settlement.detlcutinfo) == 4


def test_2102_answer_as_strings_settles_the_same(client, world):
    """Numbers written as strings (字符型 clients) settle to the same split."""
    from tests.support.national_fixtures import as_strings

    answer = send(client, "2102", as_strings(national_bill(world.psn_no)))
    assert answer["infcode"] == 0, answer
    assert answer["output"]["setlinfo"]["medfee_sumamt"] == D("86.50")


@pytest.mark.parametrize("where, field, value, fragment", [
    ("druginfo", "invono", {"no": 1}, "invono"),
    ("druginfo", "dise_name", "x" * 501, "dise_name"),
    ("druginfo", "psn_setlway", "02", "psn_setlway"),
    ("druginfo", "begntime", "2026/11/23", "begntime"),
    ("drugdetail", "fee_ocur_time", "yesterday", "fee_ocur_time"),
    ("drugdetail", "prd_days", "3.5天", "prd_days"),
    ("drugdetail", "rxno", "RX\n1", "rxno"),
    ("drugdetail", "bilg_dr_name", True, "bilg_dr_name"),
])
def test_malformed_record_fields_are_refused(client, world, where, field, value, fragment):
    body = national_bill(world.psn_no)
    (body["druginfo"] if where == "druginfo" else body["drugdetail"][0])[field] = value
    answer = send_exact(client, "2101", body)
    assert answer["infcode"] == InfCode.INPUT_INVALID and fragment in answer["err_msg"], answer


def test_2103_mirrors_the_original_negated(client, world):
    from tests.support.national_schema import OUT_2103, assert_conforms

    settled = send_exact(client, "2102", national_bill(world.psn_no), msgid="NAT-ORIG-0001")["output"]
    original = settled["setlinfo"]
    answer = send_exact(client, "2103", {"data": {"psn_no": world.psn_no, "setl_id": original["setl_id"],
                                                  "mdtrt_id": original["mdtrt_id"]}}, msgid="NAT-REV-0001")
    assert answer["infcode"] == 0, answer
    assert_conforms(answer["output"], OUT_2103)
    info = answer["output"]["setlinfo"]
    assert (info["setl_id"], info["mdtrt_id"], info["clr_optins"], info["medins_setl_id"]) == (
        original["setl_id"], original["mdtrt_id"], "110100", "NAT-REV-0001")
    for name in ("medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt",
                 "act_pay_dedc", "hifp_pay", "pool_prop_selfpay", "fund_pay_sumamt", "acct_pay", "acct_mulaid_pay"):
        assert info[name] == -original[name], name
    assert info["psn_pay"] == -original["psn_part_amt"] and info["cash_payamt"] == -original["psn_cash_pay"]
    assert info["balc"] == D("100.00")  # the account is whole again
    assert [(r["fund_pay_type"], r["fund_payamt"]) for r in answer["output"]["setldetail"]] == [
        ("310100", -original["fund_pay_sumamt"])]


def test_1101_age_and_balance_are_numbers(client, world):
    from tests.support.national_schema import OUT_1101, assert_conforms

    answer = send_exact(client, "1101", {"data": {"mdtrt_cert_type": "99", "mdtrt_cert_no": world.psn_no}})
    assert answer["infcode"] == 0, answer
    output = answer["output"]
    output.pop("evoucher")  # ours: the wallet drops it before a terminal sees the answer
    assert_conforms(output, OUT_1101)
    assert type(output["baseinfo"]["age"]) is D and output["baseinfo"]["age"].as_tuple().exponent == -1
    assert output["insuinfo"][0]["balc"] == D("100.00") and str(output["insuinfo"][0]["balc"]) == "100.00"


def test_3201_and_3202_national_forms(client, world):
    """对总账 / 对明细账 as a national client sends them (numbers as numbers, the
    count an integer): balanced, then unbalanced with the reason named."""
    import datetime as dt_

    from tests.support import national_fixtures as fx
    from tests.support.national_schema import FILE_ROW_3202, OUT_3201, OUT_3202, assert_conforms

    first = send_exact(client, "2102", national_bill(world.psn_no), msgid="REC-0001")["output"]["setlinfo"]
    second = send_exact(client, "2102", bill(world.psn_no, THREE_ITEMS), msgid="REC-0002")["output"]["setlinfo"]
    send_exact(client, "2103", {"data": {"psn_no": world.psn_no, "setl_id": second["setl_id"], "mdtrt_id": ""}})
    day = dt_.date.today()
    totals = dict(medfee_sumamt=first["medfee_sumamt"], fund_pay_sumamt=first["fund_pay_sumamt"],
                  acct_pay=first["acct_pay"], fixmedins_setl_cnt=1, setl_optins="110100", day=day)
    balanced = send_exact(client, "3201", fx.input_3201(**totals))
    assert balanced["infcode"] == 0, balanced
    assert_conforms(balanced["output"], OUT_3201)
    assert balanced["output"]["stmtinfo"]["stmt_rslt"] == "0"  # the reversed one is not standing
    unbalanced = send_exact(client, "3201", fx.input_3201(**{**totals, "fixmedins_setl_cnt": 2}))
    info = unbalanced["output"]["stmtinfo"]
    assert (info["stmt_rslt"], info["setl_optins"]) == ("1", "110100") and "结算笔数：机构 2 笔 / 中心 1 笔" in info[
        "stmt_rslt_dscr"]
    bad = send_exact(client, "3201", fx.input_3201(**{**totals, "fixmedins_setl_cnt": D("1.5")}))
    assert bad["infcode"] == InfCode.INPUT_INVALID and "fixmedins_setl_cnt" in bad["err_msg"]

    detail = fx.input_3202(day=day, medfee_sumamt=first["medfee_sumamt"], fund_pay_sumamt=first["fund_pay_sumamt"],
                           cash_payamt=first["psn_cash_pay"], fixmedins_setl_cnt=1, setl_optins="110100")
    detail["data"]["detail"] = [
        {"setl_id": first["setl_id"], "medfee_sumamt": first["medfee_sumamt"],
         "fund_pay_sumamt": first["fund_pay_sumamt"], "acct_pay": first["acct_pay"], "refd_setl_flag": "0"},
        {"setl_id": second["setl_id"], "medfee_sumamt": second["medfee_sumamt"],
         "fund_pay_sumamt": second["fund_pay_sumamt"], "acct_pay": D("0.01"), "refd_setl_flag": "1"}]
    answer = send_exact(client, "3202", detail)
    assert answer["infcode"] == 0, answer
    assert_conforms(answer["output"], OUT_3202)
    rows = {r["setl_id"]: r for r in answer["output"]["filedata"]}
    for row in rows.values():
        assert_conforms(row, FILE_ROW_3202)
    assert (rows[first["setl_id"]]["stmt_rslt"], rows[first["setl_id"]]["refd_setl_flag"]) == ("0", "0")
    assert (rows[second["setl_id"]]["stmt_rslt"], rows[second["setl_id"]]["refd_setl_flag"]) == ("1", "1")
    assert answer["output"]["stmtinfo"]["stmt_rslt"] == "1"
