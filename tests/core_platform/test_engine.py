"""The settlement policy engine (core_platform/engine) against worked examples
computed by hand, its rounding rule, its refusals and its purity.

Every worked example asserts all fourteen setlinfo fields; the arithmetic is
in the comment above it (amounts in fen unless they say 元). The same examples
are the tables in docs/subsystems/policy-engine.md.
"""

from __future__ import annotations

import ast
import copy
import json
import os
import subprocess
import sys
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest

from core_platform.engine import (
    Accumulators,
    Deltas,
    EngineError,
    LineItem,
    PolicyParams,
    apply_deltas,
    parse_params,
    round_half_up,
    split,
)

ROOT = Path(__file__).resolve().parents[2]
ENGINE = ROOT / "core_platform" / "engine"
FIXTURES = ROOT / "core_platform" / "fixtures"

# 110100/310 of policy_example_standard.json (Beijing employees, standard model).
STANDARD = {
    "model": "standard",
    "deductible_fen": {"1": 30000, "2": 60000, "3": 90000, "9": 0},
    "bands": [
        {"upto_fen": 5000000, "ratio_permille": {"1": 900, "2": 850, "3": 800, "9": 700}},
        {"upto_fen": 20000000, "ratio_permille": {"1": 920, "2": 880, "3": 850, "9": 700}},
        {"upto_fen": None, "ratio_permille": {"1": 950, "2": 920, "3": 900, "9": 700}},
    ],
    "annual_ceiling_fen": 40000000,
    "account_may_pay_self_part": True,
}
# 110100/390 of the same file (residents): the account may not pay the person's part.
RESIDENT = {
    "model": "standard",
    "deductible_fen": {"1": 20000, "2": 50000, "3": 80000, "9": 0},
    "bands": [
        {"upto_fen": 5000000, "ratio_permille": {"1": 750, "2": 650, "3": 550, "9": 500}},
        {"upto_fen": None, "ratio_permille": {"1": 800, "2": 700, "3": 600, "9": 500}},
    ],
    "annual_ceiling_fen": 20000000,
    "account_may_pay_self_part": False,
}
# The "published" account-first (通道式) rules of the docs: deductible 1300 元 at
# level 3; 85 % up to 1 万元 cumulative, 90 % up to 5 万元, 95 % above. Its
# deductible is the cash paid after the account is empty (the Shanghai-style
# 自负段, "cash_after_account"), stated explicitly: the default for account_first
# is the cumulative-cost basis (see CHONGQING and its tests below).
ACCOUNT_FIRST = {
    "model": "account_first",
    "deductible_basis": "cash_after_account",
    "deductible_fen": {"1": 50000, "2": 100000, "3": 130000, "9": 0},
    "bands": [
        {"upto_fen": 1000000, "ratio_permille": {"1": 900, "2": 880, "3": 850, "9": 700}},
        {"upto_fen": 5000000, "ratio_permille": {"1": 950, "2": 920, "3": 900, "9": 700}},
        {"upto_fen": None, "ratio_permille": {"1": 950, "2": 950, "3": 950, "9": 700}},
    ],
    "annual_ceiling_fen": 30000000,
    "account_may_pay_self_part": True,
}

# Chongqing, the source of the account-first model (issue #12): "如重庆规定个人治疗费用在400元以下者，
# 在消费完个人IC卡上的金额后，剩下的费用都由自己承担。当治疗费用超出自付阶段的上限后，参保人就进入了
# 社会统筹阶段". The self-pay stage is the range [0, 400 元) of the year's cumulative eligible cost,
# whatever paid for it (deductible_basis "cumulative_cost", the default for account_first).
# Level 2 carries the 400 元; the bands are this test's choice: 80 % up to 1 万元 cumulative,
# 85 % up to 5 万元, 90 % above (level 2); ceiling 15 万元.
CHONGQING = {
    "model": "account_first",
    "deductible_basis": "cumulative_cost",
    "deductible_fen": {"1": 30000, "2": 40000, "3": 50000, "9": 0},
    "bands": [
        {"upto_fen": 1000000, "ratio_permille": {"1": 850, "2": 800, "3": 750, "9": 700}},
        {"upto_fen": 5000000, "ratio_permille": {"1": 900, "2": 850, "3": 800, "9": 700}},
        {"upto_fen": None, "ratio_permille": {"1": 950, "2": 900, "3": 850, "9": 700}},
    ],
    "annual_ceiling_fen": 15000000,
    "account_may_pay_self_part": True,
}

SETLINFO = ("medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt",
            "act_pay_dedc", "hifp_pay", "pool_prop_selfpay", "fund_pay_sumamt", "psn_part_amt", "acct_pay",
            "acct_mulaid_pay", "psn_cash_pay", "balc")
# The funds beyond the basic pooled fund (issue #12); a worked example that does not name them asserts 0.
SUPPLEMENT_PAYS = ("hifob_pay", "hifmi_pay", "cvlserv_pay", "maf_pay")


def item(sn, cls, pric, cnt, amount, ratio=0, cap=None, code=None):
    return LineItem(feedetl_sn=sn, med_list_codg=code or f"X{sn:0>8}", list_class=cls,
                    self_pay_ratio_permille=ratio, price_cap_fen=cap, pric_fen=pric, cnt=Decimal(cnt),
                    amount_fen=amount)


def assert_setlinfo(s, **expected):
    """Every setlinfo money field of ``s`` (fen), and the same in the national
    form. The supplementary funds default to 0 (asserted, not skipped)."""
    expected = {name: 0 for name in SUPPLEMENT_PAYS} | expected
    fields = SETLINFO + SUPPLEMENT_PAYS
    assert set(expected) == set(fields), "a worked example asserts every setlinfo field"
    assert {name: getattr(s, name) for name in fields} == expected
    # the identities, restated on every worked example
    assert expected["fund_pay_sumamt"] == expected["hifp_pay"] + sum(expected[name] for name in SUPPLEMENT_PAYS)
    assert expected["fund_pay_sumamt"] + expected["acct_pay"] + expected["acct_mulaid_pay"] + \
        expected["psn_cash_pay"] == expected["medfee_sumamt"]
    # and the national form is the same numbers in yuan: two-place Decimals (JSON numbers), never strings
    national = s.to_setlinfo()
    assert {name: national[name] for name in fields} == {
        name: Decimal(f"{expected[name] // 100}.{expected[name] % 100:02d}") for name in fields}
    assert all(type(v) is Decimal and v.as_tuple().exponent == -2 for v in national.values())
    # the national fields this project does not compute are there, at 0.00
    assert {name: national[name] for name in set(national) - set(fields)} == {
        name: Decimal("0.00") for name in ("hifes_pay", "oth_pay", "hosp_part_amt")}


def deltas(account_fen=0, **counters):
    """The Deltas with these counters (every other counter 0)."""
    return Deltas.from_dict(counters, account_fen=account_fen)


# --- worked examples: standard model ---------------------------------------


def test_deductible_crossing():
    # Level 3 (deductible 900 元), 500 元 of it already paid this year; cum 500 元.
    # One A-class line 2 × 600 元 = 1200 元, all eligible.
    # remaining deductible 90000 − 50000 = 40000 -> act_pay_dedc 40000
    # R = 120000 − 40000 = 80000 at cum [90000, 170000), band 1 (80 %): 64000
    # pool_prop_selfpay 80000 − 64000 = 16000; psn_part 120000 − 64000 = 56000
    # balance 200000 pays all 56000 -> cash 0, balc 144000
    s = split(STANDARD, "3", Accumulators(50000, 50000, 0), 200000, True, [item("1", "A", 60000, "2", 120000)])
    assert_setlinfo(s, medfee_sumamt=120000, fulamt_ownpay_amt=0, overlmt_selfpay=0, preselfpay_amt=0,
                    inscp_scp_amt=120000, act_pay_dedc=40000, hifp_pay=64000, pool_prop_selfpay=16000,
                    fund_pay_sumamt=64000, psn_part_amt=56000, acct_pay=56000, acct_mulaid_pay=0, psn_cash_pay=0,
                    balc=144000)
    assert s.deltas == deltas(eligible_cost_fen=120000, deductible_paid_fen=40000, fund_paid_fen=64000,
                              account_fen=-56000)
    assert [(b.index, b.portion_fen, b.ratio_permille) for b in s.band_splits] == [(1, 80000, 800)]
    assert any("起付线" in line and "尚余400.00元" in line and "本次计入起付线400.00元" in line for line in s.explanation)
    assert s.details[0].reasons == ("甲类项目，1200.00元纳入政策范围",)


def test_band_crossing_within_one_bill():
    # Level 2, deductible already paid; cum 49000 元, fund paid 38000 元; balance 0.
    # One A-class line 3 × 1000 元 = 3000 元 -> R = 300000 at cum [4900000, 5200000):
    #   band 1 (to 50000 元, 85 %): 100000 × 0.85 = 85000
    #   band 2 (to 200000 元, 88 %): 200000 × 0.88 = 176000
    # hifp 261000; pool_prop_selfpay 39000; all cash.
    s = split(STANDARD, "2", Accumulators(4900000, 60000, 3800000), 0, True, [item("1", "A", 100000, "3", 300000)])
    assert_setlinfo(s, medfee_sumamt=300000, fulamt_ownpay_amt=0, overlmt_selfpay=0, preselfpay_amt=0,
                    inscp_scp_amt=300000, act_pay_dedc=0, hifp_pay=261000, pool_prop_selfpay=39000,
                    fund_pay_sumamt=261000, psn_part_amt=39000, acct_pay=0, acct_mulaid_pay=0, psn_cash_pay=39000,
                    balc=0)
    assert [(b.index, b.lower_fen, b.upto_fen, b.portion_fen, b.ratio_permille) for b in s.band_splits] == [
        (1, 0, 5000000, 100000, 850), (2, 5000000, 20000000, 200000, 880)]
    text = "\n".join(s.explanation)
    assert "第1段" in text and "1000.00 × 85% = 850.00元" in text
    assert "第2段" in text and "2000.00 × 88% = 1760.00元" in text


def test_ceiling_crossing():
    # Level 3, cum 450000 元 (band 3, 90 %), fund paid 399500 元 of the 400000 元 ceiling.
    # One A-class line 2 × 5000 元 = 10000 元: by ratio 1000000 × 0.9 = 900000,
    # but only 50000 of the ceiling is left -> hifp 50000, over the ceiling 850000;
    # pool_prop_selfpay 1000000 − 50000 = 950000 (includes the 850000).
    # Balance 100 元 -> acct 10000, cash 940000.
    s = split(STANDARD, "3", Accumulators(45000000, 90000, 39950000), 10000, True,
              [item("1", "A", 500000, "2", 1000000)])
    assert_setlinfo(s, medfee_sumamt=1000000, fulamt_ownpay_amt=0, overlmt_selfpay=0, preselfpay_amt=0,
                    inscp_scp_amt=1000000, act_pay_dedc=0, hifp_pay=50000, pool_prop_selfpay=950000,
                    fund_pay_sumamt=50000, psn_part_amt=950000, acct_pay=10000, acct_mulaid_pay=0,
                    psn_cash_pay=940000, balc=0)
    assert s.over_ceiling == 850000
    text = "\n".join(s.explanation)
    assert "超出封顶线8500.00元由个人负担" in text and "尚可支付500.00元" in text
    # the year's fund has now reached the ceiling exactly; the next bill gets nothing
    after, balance = apply_deltas(Accumulators(45000000, 90000, 39950000), 10000, s.deltas)
    assert after.fund_paid_fen == 40000000
    again = split(STANDARD, "3", after, balance, True, [item("1", "A", 10000, "1", 10000)])
    assert again.hifp_pay == 0 and again.pool_prop_selfpay == 10000 and again.over_ceiling == 9000


def test_b_class_self_pay_first():
    # Level 1, deductible already paid; cum 1000 元; balance 0.
    # B-class 10 %, 123.45 元: preselfpay 12345 × 0.1 = 1234.5 -> 1235 (half-up); eligible 11110
    # hifp 11110 × 0.9 = 9999; pool_prop_selfpay 1111; psn_part 1235 + 1111 = 2346, all cash.
    s = split(STANDARD, "1", Accumulators(100000, 30000, 0), 0, True, [item("1", "B", 12345, "1", 12345, ratio=100)])
    assert_setlinfo(s, medfee_sumamt=12345, fulamt_ownpay_amt=0, overlmt_selfpay=0, preselfpay_amt=1235,
                    inscp_scp_amt=11110, act_pay_dedc=0, hifp_pay=9999, pool_prop_selfpay=1111, fund_pay_sumamt=9999,
                    psn_part_amt=2346, acct_pay=0, acct_mulaid_pay=0, psn_cash_pay=2346, balc=0)
    d = s.details[0]
    assert (d.preselfpay, d.eligible) == (1235, 11110)
    assert d.reasons == ("乙类先行自付10%：123.45 × 10% = 12.35元", "乙类项目，111.10元纳入政策范围")
    row = s.to_detlcutinfo()[0]
    assert row["selfpay_prop"] == Decimal("0.1000") and str(row["selfpay_prop"]) == "0.1000"
    assert row["chrgitm_lv"] == "02" and row["preselfpay_amt"] == Decimal("12.35")
    # one fund row: the employees' pooled fund, its payment and what the ceiling still allowed
    assert s.to_setldetail("310") == [{
        "fund_pay_type": "310100", "fund_pay_type_name": "职工基本医疗保险统筹基金",
        "inscp_scp_amt": Decimal("111.10"), "crt_payb_lmt_amt": Decimal("400000.00"), "fund_payamt": Decimal("99.99"),
        "setl_proc_info": "政策范围内费用111.10元，起付线0.00元，统筹基金按比例支付99.99元。"}]


def test_c_class_fully_self_paid():
    # Level 9 (pharmacy: no deductible, 70 %), nothing yet this year; balance 500 元.
    # C-class 2 × 150 元 = 300 元 -> fulamt_ownpay 30000; A-class 100 元 eligible:
    # hifp 10000 × 0.7 = 7000; pool_prop_selfpay 3000; psn_part 40000 − 7000 = 33000, from the account.
    s = split(STANDARD, "9", Accumulators(), 50000, True,
              [item("1", "C", 15000, "2", 30000, ratio=1000), item("2", "A", 10000, "1", 10000)])
    assert_setlinfo(s, medfee_sumamt=40000, fulamt_ownpay_amt=30000, overlmt_selfpay=0, preselfpay_amt=0,
                    inscp_scp_amt=10000, act_pay_dedc=0, hifp_pay=7000, pool_prop_selfpay=3000, fund_pay_sumamt=7000,
                    psn_part_amt=33000, acct_pay=33000, acct_mulaid_pay=0, psn_cash_pay=0, balc=17000)
    assert s.details[0].reasons == ("丙类项目，全额自费300.00元",)
    assert (s.details[0].fulamt_ownpay, s.details[0].eligible) == (30000, 0)
    assert "起付线：未定级机构（含定点药店）不设起付线。" in s.explanation
    assert str(s.to_detlcutinfo()[0]["selfpay_prop"]) == "1.0000"
    assert [r["fund_pay_type"] for r in s.to_setldetail("390")] == ["390100"]


def test_price_cap_with_decimal_quantity():
    # Level 1, deductible paid; cum 1000 元; balance 1000 元.
    # B-class 10 %, cap 35 元/unit, price 40 元 × 1.5 = 60 元.
    # capped 3500 × 1.5 = 5250 -> overlimit 750; preselfpay 5250 × 0.1 = 525; eligible 4725
    # hifp 4725 × 0.9 = 4252.5 -> 4253 (half-up, once per bill); pool_prop_selfpay 472
    # psn_part 6000 − 4253 = 1747 from the account; balc 98253.
    s = split(STANDARD, "1", Accumulators(100000, 30000, 0), 100000, True,
              [item("1", "B", 4000, "1.5", 6000, ratio=100, cap=3500)])
    assert_setlinfo(s, medfee_sumamt=6000, fulamt_ownpay_amt=0, overlmt_selfpay=750, preselfpay_amt=525,
                    inscp_scp_amt=4725, act_pay_dedc=0, hifp_pay=4253, pool_prop_selfpay=472, fund_pay_sumamt=4253,
                    psn_part_amt=1747, acct_pay=1747, acct_mulaid_pay=0, psn_cash_pay=0, balc=98253)
    assert s.details[0].reasons == (
        "超出限价35.00元部分自付：限价内 35.00 × 1.5 = 52.50元，超出7.50元",
        "乙类先行自付10%：52.50 × 10% = 5.25元",
        "乙类项目，47.25元纳入政策范围",
    )
    assert "  合计42.525元，四舍五入到分为42.53元。" in s.explanation
    row = s.to_detlcutinfo()[0]
    assert [str(row[k]) for k in ("cnt", "pric", "pric_uplmt_amt", "overlmt_amt")] == ["1.5", "40.00", "35.00", "7.50"]


def test_account_insufficient():
    # Level 2 (deductible 600 元, 85 %), nothing yet; balance 123.45 元.
    # A-class 1000 元: act_pay_dedc 60000; R 40000 × 0.85 = 34000; pool_prop_selfpay 6000
    # psn_part 66000: the account pays its whole 12345, cash 53655.
    s = split(STANDARD, "2", Accumulators(), 12345, True, [item("1", "A", 100000, "1", 100000)])
    assert_setlinfo(s, medfee_sumamt=100000, fulamt_ownpay_amt=0, overlmt_selfpay=0, preselfpay_amt=0,
                    inscp_scp_amt=100000, act_pay_dedc=60000, hifp_pay=34000, pool_prop_selfpay=6000,
                    fund_pay_sumamt=34000, psn_part_amt=66000, acct_pay=12345, acct_mulaid_pay=0, psn_cash_pay=53655,
                    balc=0)
    assert "  个人账户余额不足，其余由现金支付。" in s.explanation
    assert s.explanation[-1] == "现金支付536.55元。"


def test_account_not_used_or_not_allowed():
    # The deductible-crossing bill with acct_used_flag = 0: the same fund, all of the person's part in cash.
    s = split(STANDARD, "3", Accumulators(50000, 50000, 0), 200000, False, [item("1", "A", 60000, "2", 120000)])
    assert_setlinfo(s, medfee_sumamt=120000, fulamt_ownpay_amt=0, overlmt_selfpay=0, preselfpay_amt=0,
                    inscp_scp_amt=120000, act_pay_dedc=40000, hifp_pay=64000, pool_prop_selfpay=16000,
                    fund_pay_sumamt=64000, psn_part_amt=56000, acct_pay=0, acct_mulaid_pay=0, psn_cash_pay=56000,
                    balc=200000)
    assert s.deltas.account_fen == 0
    # A resident (account may not pay the person's part), level 3: deductible 800 元,
    # R 20000 × 0.55 = 11000, pool_prop_selfpay 9000; psn_part 89000 all cash; balance untouched.
    s = split(RESIDENT, "3", Accumulators(), 5000, True, [item("1", "A", 100000, "1", 100000)])
    assert_setlinfo(s, medfee_sumamt=100000, fulamt_ownpay_amt=0, overlmt_selfpay=0, preselfpay_amt=0,
                    inscp_scp_amt=100000, act_pay_dedc=80000, hifp_pay=11000, pool_prop_selfpay=9000,
                    fund_pay_sumamt=11000, psn_part_amt=89000, acct_pay=0, acct_mulaid_pay=0, psn_cash_pay=89000,
                    balc=5000)
    assert "个人账户：本统筹区规定个人账户不得支付个人负担部分（余额50.00元不变）。" in s.explanation


def test_mixed_bill_explains_every_item():
    # Level 1, deductible 300 元 with 100 元 paid; cum 100 元; balance 50 元.
    #   1 A 25.50 × 2 = 51.00 eligible 5100
    #   2 B 20 %, cap 30 元: 36 元 × 3 = 108.00; capped 9000 -> over 1800; pre 9000 × 0.2 = 1800; eligible 7200
    #   3 C 88.88 -> fulamt 8888
    #   4 B 5 %, 0.33 元 × 1.5 = 0.495 -> 50 (half-up); pre 50 × 0.05 = 2.5 -> 3; eligible 47
    # total 5100 + 10800 + 8888 + 50 = 24838; E = 5100 + 7200 + 47 = 12347
    # deductible left 20000 -> act_pay_dedc 12347, R 0, hifp 0
    # psn_part 24838; acct 5000; cash 19838
    items = [item("1", "A", 2550, "2", 5100), item("2", "B", 3600, "3", 10800, ratio=200, cap=3000),
             item("3", "C", 8888, "1", 8888, ratio=1000), item("4", "B", 33, "1.5", 50, ratio=50)]
    s = split(STANDARD, "1", Accumulators(10000, 10000, 0), 5000, True, items)
    assert_setlinfo(s, medfee_sumamt=24838, fulamt_ownpay_amt=8888, overlmt_selfpay=1800, preselfpay_amt=1803,
                    inscp_scp_amt=12347, act_pay_dedc=12347, hifp_pay=0, pool_prop_selfpay=0, fund_pay_sumamt=0,
                    psn_part_amt=24838, acct_pay=5000, acct_mulaid_pay=0, psn_cash_pay=19838, balc=0)
    assert [(d.fulamt_ownpay, d.overlimit, d.preselfpay, d.eligible) for d in s.details] == [
        (0, 0, 0, 5100), (0, 1800, 1800, 7200), (8888, 0, 0, 0), (0, 0, 3, 47)]
    assert all(d.reasons for d in s.details)
    assert "分段报销：本次没有起付线以上的政策范围内费用，统筹基金不支付。" in s.explanation
    assert [r["feedetl_sn"] for r in s.to_detlcutinfo()] == ["1", "2", "3", "4"]
    assert s.to_setldetail("310") == []  # no fund paid: no fund row


# --- worked examples: account-first (通道式) ---------------------------------


def test_account_first_published_example():
    # docs "例一" (deductible basis: cash after the account): balance 500 元, level 3 deductible 1300 元,
    # 3000 元 eligible, nothing yet this year.
    #   account first pays 50000; of the remaining 250000 the person pays the deductible 130000 in cash;
    #   R = 120000 at cum [180000, 300000), band 1 85 % -> 102000; pool_prop_selfpay 18000
    #   psn_part 300000 − 102000 = 198000 = account 50000 + cash 148000
    s = split(ACCOUNT_FIRST, "3", Accumulators(), 50000, True, [item("1", "A", 300000, "1", 300000)])
    assert_setlinfo(s, medfee_sumamt=300000, fulamt_ownpay_amt=0, overlmt_selfpay=0, preselfpay_amt=0,
                    inscp_scp_amt=300000, act_pay_dedc=130000, hifp_pay=102000, pool_prop_selfpay=18000,
                    fund_pay_sumamt=102000, psn_part_amt=198000, acct_pay=50000, acct_mulaid_pay=0,
                    psn_cash_pay=148000, balc=0)
    assert s.acct_first_pay == 50000
    assert s.deltas == deltas(eligible_cost_fen=300000, deductible_paid_fen=130000, fund_paid_fen=102000,
                              account_fen=-50000)
    assert "个人账户先付（通道式）：政策范围内费用先由个人账户支付500.00元（账户余额500.00元）。" in s.explanation


def test_account_first_published_year():
    # docs "例二" (cash after the account): one person's year at a level-3 hospital, account 500 元 at the start.
    acc, balance = Accumulators(), 50000
    rows = []
    # 1: 300 元 eligible: the account pays it all; no deductible, no fund.
    # 2: 3000 元 eligible + 200 元 丙类: account (200 元 left) pays 20000 first; deductible 130000 cash;
    #    R 150000 at cum [180000, 330000) × 85 % = 127500; co-pay 22500; 丙类 20000 cash (account empty)
    # 3: 8000 元 eligible: cum [330000, 1130000): 670000 × 85 % = 569500, 130000 × 90 % = 117000;
    #    hifp 686500; co-pay 113500 cash.
    bills = [[item("1", "A", 30000, "1", 30000)],
             [item("1", "A", 300000, "1", 300000), item("2", "C", 20000, "1", 20000, ratio=1000)],
             [item("1", "A", 800000, "1", 800000)]]
    for bill in bills:
        s = split(ACCOUNT_FIRST, "3", acc, balance, True, bill)
        rows.append({name: getattr(s, name) for name in SETLINFO} | {"acct_first_pay": s.acct_first_pay})
        acc, balance = apply_deltas(acc, balance, s.deltas)
    assert rows == [
        dict(medfee_sumamt=30000, fulamt_ownpay_amt=0, overlmt_selfpay=0, preselfpay_amt=0, inscp_scp_amt=30000,
             act_pay_dedc=0, hifp_pay=0, pool_prop_selfpay=0, fund_pay_sumamt=0, psn_part_amt=30000, acct_pay=30000,
             acct_mulaid_pay=0, psn_cash_pay=0, balc=20000, acct_first_pay=30000),
        dict(medfee_sumamt=320000, fulamt_ownpay_amt=20000, overlmt_selfpay=0, preselfpay_amt=0,
             inscp_scp_amt=300000, act_pay_dedc=130000, hifp_pay=127500, pool_prop_selfpay=22500,
             fund_pay_sumamt=127500, psn_part_amt=192500, acct_pay=20000, acct_mulaid_pay=0, psn_cash_pay=172500,
             balc=0, acct_first_pay=20000),
        dict(medfee_sumamt=800000, fulamt_ownpay_amt=0, overlmt_selfpay=0, preselfpay_amt=0, inscp_scp_amt=800000,
             act_pay_dedc=0, hifp_pay=686500, pool_prop_selfpay=113500, fund_pay_sumamt=686500,
             psn_part_amt=113500, acct_pay=0, acct_mulaid_pay=0, psn_cash_pay=113500, balc=0, acct_first_pay=0),
    ]
    assert acc == Accumulators(eligible_cost_fen=1130000, deductible_paid_fen=130000, fund_paid_fen=814000)
    assert balance == 0


def test_account_first_self_part_from_the_rest_of_the_account():
    # Balance 500 元; 300 元 eligible + 200 元 丙类 at level 3.
    # The account pays the 300 元 first (deductible untouched), then — if the region allows it —
    # the 200 元 丙类 from what is left; otherwise the 丙类 part is cash.
    bill = [item("1", "A", 30000, "1", 30000), item("2", "C", 20000, "1", 20000, ratio=1000)]
    s = split(ACCOUNT_FIRST, "3", Accumulators(), 50000, True, bill)
    assert_setlinfo(s, medfee_sumamt=50000, fulamt_ownpay_amt=20000, overlmt_selfpay=0, preselfpay_amt=0,
                    inscp_scp_amt=30000, act_pay_dedc=0, hifp_pay=0, pool_prop_selfpay=0, fund_pay_sumamt=0,
                    psn_part_amt=50000, acct_pay=50000, acct_mulaid_pay=0, psn_cash_pay=0, balc=0)
    strict = split(ACCOUNT_FIRST | {"account_may_pay_self_part": False}, "3", Accumulators(), 50000, True, bill)
    assert_setlinfo(strict, medfee_sumamt=50000, fulamt_ownpay_amt=20000, overlmt_selfpay=0, preselfpay_amt=0,
                    inscp_scp_amt=30000, act_pay_dedc=0, hifp_pay=0, pool_prop_selfpay=0, fund_pay_sumamt=0,
                    psn_part_amt=50000, acct_pay=30000, acct_mulaid_pay=0, psn_cash_pay=20000, balc=20000)
    # Not using the account: the deductible comes first, as in the standard model.
    # 300 元 eligible all goes to the deductible; everything is cash.
    cash = split(ACCOUNT_FIRST, "3", Accumulators(), 50000, False, bill)
    assert_setlinfo(cash, medfee_sumamt=50000, fulamt_ownpay_amt=20000, overlmt_selfpay=0, preselfpay_amt=0,
                    inscp_scp_amt=30000, act_pay_dedc=30000, hifp_pay=0, pool_prop_selfpay=0, fund_pay_sumamt=0,
                    psn_part_amt=50000, acct_pay=0, acct_mulaid_pay=0, psn_cash_pay=50000, balc=50000)


def test_account_first_published_example_on_the_cumulative_cost_basis():
    # 例一 again with the default basis (the key left out = cumulative cost): the deductible is the
    # range [0, 1300 元) of the year's cumulative eligible cost, and the 500 元 the account paid lie in it.
    #   account first 50000 covers [0, 50000) of the axis;
    #   act_pay_dedc = max(0, min(0 + 300000, 130000) − (0 + 50000)) = 80000 (cash)
    #   reimbursed [130000, 300000) = 170000, band 1 (85 %) -> 144500; pool_prop_selfpay 25500
    #   psn_part 300000 − 144500 = 155500 = account 50000 + cash 105500
    # (on the cash basis the fund paid 102000: 500 元 × 85 % = 425 元 less.)
    params = {k: v for k, v in ACCOUNT_FIRST.items() if k != "deductible_basis"}
    s = split(params, "3", Accumulators(), 50000, True, [item("1", "A", 300000, "1", 300000)])
    assert_setlinfo(s, medfee_sumamt=300000, fulamt_ownpay_amt=0, overlmt_selfpay=0, preselfpay_amt=0,
                    inscp_scp_amt=300000, act_pay_dedc=80000, hifp_pay=144500, pool_prop_selfpay=25500,
                    fund_pay_sumamt=144500, psn_part_amt=155500, acct_pay=50000, acct_mulaid_pay=0,
                    psn_cash_pay=105500, balc=0)
    assert s.acct_first_pay == 50000
    assert s.deltas == deltas(eligible_cost_fen=300000, deductible_paid_fen=80000, fund_paid_fen=144500,
                              account_fen=-50000)
    assert [(b.index, b.portion_fen, b.ratio_permille) for b in s.band_splits] == [(1, 170000, 850)]
    assert parse_params(params).deductible_basis == "cumulative_cost"
    assert parse_params(ACCOUNT_FIRST).deductible_basis == "cash_after_account"


# The Chongqing year of issue #12, bill by bill at a level-2 hospital (deductible 400 元):
# balance 332.80 元 at the year's start; three bills of 80 + 70 + 80 = 230 元, each paid by the
# account; then 120 元; then a larger bill of 12000 元. All A-class (eligible).
CHONGQING_BILLS = [8000, 7000, 8000, 12000, 1200000]
_Z = dict(fulamt_ownpay_amt=0, overlmt_selfpay=0, preselfpay_amt=0, acct_mulaid_pay=0)


def _year(params, bills=CHONGQING_BILLS, balance=33280):
    acc, rows = Accumulators(), []
    for n, amount in enumerate(bills):
        s = split(params, "2", acc, balance, True, [item(str(n + 1), "A", amount, "1", amount)])
        rows.append(s)
        acc, balance = apply_deltas(acc, balance, s.deltas)
    return rows, acc, balance


def _first_three(rows):
    # Bills 1-3 (80, 70, 80 元): the account pays each in full (a = E), nothing else on either basis:
    # balance 33280 -> 25280 -> 18280 -> 10280; cumulative cost 23000; no deductible, no fund.
    for s, amount, balc in zip(rows[:3], (8000, 7000, 8000), (25280, 18280, 10280)):
        assert_setlinfo(s, medfee_sumamt=amount, inscp_scp_amt=amount, act_pay_dedc=0, hifp_pay=0,
                        pool_prop_selfpay=0, fund_pay_sumamt=0, psn_part_amt=amount, acct_pay=amount,
                        psn_cash_pay=0, balc=balc, **_Z)
        assert s.acct_first_pay == amount
    # Bill 4, 120 元 ("累计医药费为350元 … 应该自付现金17.2元"): the account pays its 102.80 元 first
    # (a = min(10280, 12000) = 10280), covering [23000, 33280) of the axis.
    #   cumulative cost: act_pay_dedc = max(0, min(23000 + 12000, 40000) − 33280) = 1720;
    #   cash after the account: act_pay_dedc = min(12000 − 10280, 40000 − 0) = 1720.
    # Nothing reaches the pooled stage (35000 < 40000 on either reading): hifp 0.
    s = rows[3]
    assert_setlinfo(s, medfee_sumamt=12000, inscp_scp_amt=12000, act_pay_dedc=1720, hifp_pay=0,
                    pool_prop_selfpay=0, fund_pay_sumamt=0, psn_part_amt=12000, acct_pay=10280,
                    psn_cash_pay=1720, balc=0, **_Z)
    assert s.acct_first_pay == 10280 and s.to_setlinfo()["psn_cash_pay"] == Decimal("17.20")
    assert s.to_setlinfo()["acct_pay"] == Decimal("102.80") and s.band_splits == ()
    assert s.deltas == deltas(eligible_cost_fen=12000, deductible_paid_fen=1720, account_fen=-10280)


def test_chongqing_worked_example_and_its_follow_on_bill_cumulative_cost():
    rows, acc, balance = _year(CHONGQING)
    _first_three(rows)
    # Bill 5, 12000 元, account empty (a = 0); cumulative cost before it 35000.
    #   act_pay_dedc = max(0, min(35000 + 1200000, 40000) − 35000) = 5000 (the rest of the 400 元 stage)
    #   reimbursed [40000, 1235000): band 1 (to 1 万元, 80 %) 1000000 − 40000 = 960000 -> 768000
    #                                band 2 (to 5 万元, 85 %) 1235000 − 1000000 = 235000 -> 199750
    #   hifp 967750; pool_prop_selfpay 1195000 − 967750 = 227250; psn_part 1200000 − 967750 = 232250 cash.
    s = rows[4]
    assert_setlinfo(s, medfee_sumamt=1200000, inscp_scp_amt=1200000, act_pay_dedc=5000, hifp_pay=967750,
                    pool_prop_selfpay=227250, fund_pay_sumamt=967750, psn_part_amt=232250, acct_pay=0,
                    psn_cash_pay=232250, balc=0, **_Z)
    assert [(b.index, b.portion_fen, b.ratio_permille, b.fund_millifen) for b in s.band_splits] == [
        (1, 960000, 800, 768000000), (2, 235000, 850, 199750000)]
    assert s.deltas == deltas(eligible_cost_fen=1200000, deductible_paid_fen=5000, fund_paid_fen=967750)
    # The year: the self-pay stage 400 元 = account 332.80 + cash 17.20 + cash 50.00.
    assert acc == Accumulators(eligible_cost_fen=1235000, deductible_paid_fen=6720, fund_paid_fen=967750)
    assert balance == 0
    # The key left out: the same (cumulative cost is the default for account_first).
    default = {k: v for k, v in CHONGQING.items() if k != "deductible_basis"}
    again, _, _ = _year(default)
    assert [x.to_setlinfo() for x in again] == [x.to_setlinfo() for x in rows]


def test_chongqing_sequence_on_the_cash_after_account_basis_starts_pooling_later():
    rows, acc, balance = _year(CHONGQING | {"deductible_basis": "cash_after_account"})
    _first_three(rows)
    # Bill 5: the deductible still owed is the cash part: 40000 − 1720 = 38280 -> act_pay_dedc 38280;
    # reimbursed [35000 + 38280 = 73280, 1235000): band 1 1000000 − 73280 = 926720 × 80 % = 741376
    #                                             band 2 235000 × 85 % = 199750
    # hifp 941126 (= 967750 − 33280 × 80 %: the 332.80 元 the account paid is owed again in cash);
    # pool_prop_selfpay 1161720 − 941126 = 220594; psn_part 1200000 − 941126 = 258874 cash.
    s = rows[4]
    assert_setlinfo(s, medfee_sumamt=1200000, inscp_scp_amt=1200000, act_pay_dedc=38280, hifp_pay=941126,
                    pool_prop_selfpay=220594, fund_pay_sumamt=941126, psn_part_amt=258874, acct_pay=0,
                    psn_cash_pay=258874, balc=0, **_Z)
    assert [(b.index, b.portion_fen, b.ratio_permille) for b in s.band_splits] == [(1, 926720, 800), (2, 235000, 850)]
    assert acc == Accumulators(eligible_cost_fen=1235000, deductible_paid_fen=40000, fund_paid_fen=941126)
    assert balance == 0


def test_fixture_and_demo_policies_parse_and_settle():
    from common.demodata import generate

    entries = json.loads((FIXTURES / "policy_example_standard.json").read_text())["policies"]
    entries.append(json.loads((FIXTURES / "policy_example_account_first.json").read_text()))
    data = generate()
    params = [e["params"] for e in entries] + [p.params for p in data.policies]
    assert {parse_params(p).model for p in params} == {"standard", "account_first"}
    assert STANDARD == entries[0]["params"] and RESIDENT == entries[1]["params"]
    items = []
    for n, c in enumerate(data.catalogue[:40]):
        pric = (c.price_cap_fen or 5000) + 123 * (n % 3)
        items.append(LineItem(str(n), c.med_list_codg, c.list_class, c.self_pay_ratio_permille, c.price_cap_fen,
                              pric, Decimal(2), pric * 2))
    for p in params:
        for level in "1239":
            s = split(p, level, Accumulators(), 10000, True, items)
            assert s.medfee_sumamt == sum(i.amount_fen for i in items)


# --- rounding ----------------------------------------------------------------


@pytest.mark.parametrize("value, expected", [
    (0, 0), (7, 7), (Fraction(1, 2), 1), (Fraction(3, 2), 2), (Fraction(5, 2), 3), (Fraction(499, 1000), 0),
    (Fraction(4999, 1000), 5), (Decimal("2.4999"), 2), (Decimal("2.5"), 3), (Decimal("0.5"), 1),
    (Decimal("12345678901234567890.5"), 12345678901234567891),
])
def test_round_half_up(value, expected):
    assert round_half_up(value) == expected


def test_round_half_up_refuses_floats_and_negatives():
    with pytest.raises(TypeError):
        round_half_up(0.5)
    with pytest.raises(ValueError):
        round_half_up(Fraction(-1, 2))


def test_half_fen_item_amounts():
    # price 3.33 元 × 1.5 = 4.995 元 -> 500 fen; 499 is refused
    assert split(STANDARD, "9", Accumulators(), 0, False, [item("1", "A", 333, "1.5", 500)]).medfee_sumamt == 500
    with pytest.raises(EngineError) as exc:
        split(STANDARD, "9", Accumulators(), 0, False, [item("1", "A", 333, "1.5", 499)])
    assert exc.value.code == "ITEM_INVALID"
    assert exc.value.message == "费用明细 1：金额 4.99 元与单价×数量（3.33 × 1.5 = 5.00 元）不符"


def test_half_fen_price_cap_and_preselfpay():
    # cap 3.33 元 × 1.5 = 4.995 -> 500; price 4 元 × 1.5 = 600 -> overlimit 100 (not 101)
    s = split(STANDARD, "9", Accumulators(), 0, False, [item("1", "A", 400, "1.5", 600, cap=333)])
    assert s.overlmt_selfpay == 100
    # preselfpay: 12344 × 10 % = 1234.4 -> 1234; 12345 × 10 % = 1234.5 -> 1235; 10 × 5 % = 0.5 -> 1
    for amount, ratio, expected in [(12344, 100, 1234), (12345, 100, 1235), (10, 50, 1), (9, 50, 0)]:
        s = split(STANDARD, "9", Accumulators(), 0, False, [item("1", "B", amount, "1", amount, ratio=ratio)])
        assert s.preselfpay_amt == expected, (amount, ratio)


def test_fund_is_rounded_once_per_bill_not_per_band():
    params = {"model": "standard", "deductible_fen": {lv: 0 for lv in "1239"},
              "bands": [{"upto_fen": 100, "ratio_permille": {lv: 500 for lv in "1239"}},
                        {"upto_fen": None, "ratio_permille": {lv: 500 for lv in "1239"}}],
              "annual_ceiling_fen": 10**9, "account_may_pay_self_part": True}
    # cum 99, bill 2 fen: 1 × 50 % in band 1 + 1 × 50 % in band 2 = 1.0 -> 1 (per band it would be 2)
    s = split(params, "1", Accumulators(99, 0, 0), 0, False, [item("1", "A", 2, "1", 2)])
    assert (s.hifp_pay, s.pool_prop_selfpay) == (1, 1)
    assert [b.fund_millifen for b in s.band_splits] == [500, 500]
    # 3 fen: 0.5 + 1.0 = 1.5 -> 2; 1 fen: 0.5 -> 1; 1 fen at 49.9 % -> 0
    s = split(params, "1", Accumulators(99, 0, 0), 0, False, [item("1", "A", 3, "1", 3)])
    assert s.hifp_pay == 2
    s = split(params, "1", Accumulators(), 0, False, [item("1", "A", 1, "1", 1)])
    assert s.hifp_pay == 1
    low = copy.deepcopy(params)
    low["bands"][0]["ratio_permille"]["1"] = 499
    assert split(low, "1", Accumulators(), 0, False, [item("1", "A", 1, "1", 1)]).hifp_pay == 0


def test_rounding_rule_is_stated_once_and_implemented_once():
    sources = {p.name: p.read_text() for p in ENGINE.glob("*.py")}
    assert sum("ROUNDING RULE" in text for text in sources.values()) == 1
    assert "ROUNDING RULE" in sources["__init__.py"]
    for name, text in sources.items():
        tree = ast.parse(text)
        calls = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
        assert "round" not in calls and "float" not in calls, name
        assert "ROUND_HALF" not in text or name == "__init__.py", name
        assert "quantize" not in text, name


# --- refusals ----------------------------------------------------------------


def _bad(**changes):
    base = dict(feedetl_sn="1", med_list_codg="X00000001", list_class="A", self_pay_ratio_permille=0,
                price_cap_fen=None, pric_fen=1000, cnt=Decimal(1), amount_fen=1000)
    return LineItem(**(base | changes))


@pytest.mark.parametrize("line, fragment", [
    (_bad(amount_fen=1001), "与单价×数量"),
    (_bad(amount_fen=-1000, pric_fen=-1000), "单价必须是非负整数"),
    (_bad(amount_fen=-1), "金额必须是非负整数"),
    (_bad(amount_fen=True), "金额必须是非负整数"),
    (_bad(cnt=1.0), "数量必须是十进制数"),
    (_bad(cnt="abc"), "数量必须是十进制数"),
    (_bad(cnt=Decimal(0), amount_fen=0), "数量必须大于0"),
    (_bad(cnt=Decimal(-1), amount_fen=0), "数量必须大于0"),
    (_bad(cnt=Decimal("NaN")), "数量必须大于0"),
    (_bad(cnt=Decimal("1.0000001")), "数量最多6位小数"),
    (_bad(list_class="乙"), "目录类别必须是 A/B/C"),
    (_bad(list_class="D"), "目录类别必须是 A/B/C"),
    (_bad(self_pay_ratio_permille=100), "甲类项目不应有先行自付比例"),
    (_bad(list_class="B", self_pay_ratio_permille=1001), "先行自付比例必须是0-1000"),
    (_bad(price_cap_fen=0), "限价必须是正整数"),
    (_bad(feedetl_sn=""), "feedetl_sn 不能为空"),
    (_bad(med_list_codg=""), "医保目录编码"),
])
def test_invalid_items_are_refused_in_chinese(line, fragment):
    with pytest.raises(EngineError) as exc:
        split(STANDARD, "1", Accumulators(), 0, True, [line])
    assert exc.value.code == "ITEM_INVALID"
    assert fragment in exc.value.message


def test_string_and_int_quantities_become_decimal():
    assert _bad(cnt="1.5", amount_fen=1500).cnt == Decimal("1.5")
    assert _bad(cnt=2, amount_fen=2000).cnt == Decimal(2)


@pytest.mark.parametrize("args, fragment", [
    (("4", Accumulators(), 0, True, [_bad()]), "机构等级"),
    (("1", Accumulators(-1, 0, 0), 0, True, [_bad()]), "年度累计 eligible_cost_fen"),
    (("1", (0, 0, 0), 0, True, [_bad()]), "年度累计必须是 Accumulators"),
    (("1", Accumulators(), -1, True, [_bad()]), "个人账户余额必须是非负整数"),
    (("1", Accumulators(), 0, 1, [_bad()]), "acct_used_flag"),
    (("1", Accumulators(), 0, True, []), "费用明细不能为空"),
])
def test_invalid_state_is_refused(args, fragment):
    with pytest.raises(EngineError) as exc:
        split(STANDARD, *args)
    assert exc.value.code == "INPUT_INVALID" and fragment in exc.value.message


def test_duplicate_line_numbers_are_refused():
    with pytest.raises(EngineError) as exc:
        split(STANDARD, "1", Accumulators(), 0, True, [_bad(), _bad()])
    assert exc.value.code == "ITEM_INVALID" and exc.value.message == "费用明细流水号 1 重复"


@pytest.mark.parametrize("change", [
    lambda p: p.pop("model"),
    lambda p: p.update(model="channel"),
    lambda p: p.update(extra=1),
    lambda p: p["deductible_fen"].pop("9"),
    lambda p: p.update(annual_ceiling_fen=0),
    lambda p: p.update(account_may_pay_self_part="yes"),
    lambda p: p.update(bands=[]),
    lambda p: p["bands"][-1].update(upto_fen=10**9),
    lambda p: p["bands"][1].update(upto_fen=100),
    lambda p: p["bands"][0]["ratio_permille"].update({"1": 1001}),
])
def test_invalid_params_are_refused(change):
    params = copy.deepcopy(STANDARD)
    change(params)
    with pytest.raises(EngineError) as exc:
        split(params, "1", Accumulators(), 0, True, [_bad()])
    assert exc.value.code == "POLICY_INVALID" and exc.value.message.startswith("政策参数无效：")


def test_parse_params():
    p = parse_params(STANDARD)
    assert isinstance(p, PolicyParams) and parse_params(p) is p
    assert [(b.lower_fen, b.upto_fen, b.ratio_permille["3"]) for b in p.bands] == [
        (0, 5000000, 800), (5000000, 20000000, 850), (20000000, None, 900)]
    assert p.deductible_fen["3"] == 90000 and p.annual_ceiling_fen == 40000000 and p.account_may_pay_self_part


def test_apply_deltas_refuses_going_negative():
    with pytest.raises(EngineError):
        apply_deltas(Accumulators(), 0, deltas(account_fen=-1))
    with pytest.raises(EngineError):
        apply_deltas(Accumulators(), 0, deltas(maf_paid_fen=-1))


# --- purity ------------------------------------------------------------------


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.add(node.module)
    return names


def test_engine_imports_only_the_standard_library_and_common_money():
    allowed = {"common.money"}
    files = sorted(ENGINE.glob("*.py"))
    assert {p.name for p in files} >= {"__init__.py", "split.py", "params.py", "rounding.py"}
    for path in files:
        for name in _imports(path):
            top = name.split(".")[0]
            assert name in allowed or (top in sys.stdlib_module_names and top != "sqlite3"), f"{path.name}: {name}"
            assert not name.startswith(("django", "rest_framework", "core_platform", "wallet", "settlement")), name
    # and common.money itself is pure
    for name in _imports(ROOT / "common" / "money.py"):
        assert name.split(".")[0] in sys.stdlib_module_names, f"common/money.py: {name}"


def test_engine_imports_without_django():
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    code = ("import sys, core_platform.engine as e; "
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('django', 'rest_framework', 'redis', 'celery')"
            " or m.startswith(('core_platform.models', 'core_platform.services'))); "
            "assert not bad, bad; print('pure')")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "pure"
