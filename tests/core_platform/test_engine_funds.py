"""The national split beyond the basic pooled fund (issue #12), against examples
worked out by hand from the rules of docs/subsystems/policy-engine.md:
employee outpatient pooling (职工门诊共济) with its own counters, retirees'
ratios, the supplementary funds (职工大额 hifob, 居民大病 hifmi, 公务员补助
cvlserv, 医疗救助 maf) each crossing its deductible, a band boundary and its
ceiling within one bill, the chain of supplements, and the policy year.

Every example asserts every setlinfo money field (fen) and the deltas; the
arithmetic is in the comment above it. The engine is never used to compute an
expected number.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from core_platform.engine import (
    COUNTERS,
    Accumulators,
    Patient,
    Visit,
    apply_deltas,
    parse_params,
    policy_year,
    split,
)
from core_platform.engine.params import params_errors

from .test_engine import RESIDENT, STANDARD, assert_setlinfo, deltas, item

Z = dict(fulamt_ownpay_amt=0, overlmt_selfpay=0, preselfpay_amt=0, acct_mulaid_pay=0)

FUND_NAMES = {
    "310100": "职工基本医疗保险统筹基金",
    "390100": "城乡居民基本医疗保险基金",
    "330100": "职工大额医疗费用补助基金",
    "390200": "城乡居民大病医疗保险基金",
    "320100": "公务员医疗补助基金",
    "610100": "医疗救助基金",
}

# --- policies of the examples ------------------------------------------------

# 职工大额医疗费用补助: above the basic fund's annual ceiling. 1000 元 deductible,
# 85 % up to 1 万元 of its own annual base, 90 % above; at most 2 万元 a year.
HIFOB = {"fund": "hifob", "basis": "over_basic_ceiling", "deductible_fen": 50000,
         "bands": [{"upto_fen": 1000000, "ratio_permille": 850}, {"upto_fen": None, "ratio_permille": 900}],
         "annual_ceiling_fen": 2000000}
# 公务员医疗补助: on the person's eligible burden. 300 元 deductible, 60 % up to 2000 元, 80 % above;
# at most 2000 元 a year.
CVLSERV = {"fund": "cvlserv", "basis": "personal_eligible", "deductible_fen": 30000,
           "bands": [{"upto_fen": 200000, "ratio_permille": 600}, {"upto_fen": None, "ratio_permille": 800}],
           "annual_ceiling_fen": 200000}
# 城乡居民大病保险: 1.5 万元 deductible, 60 % up to 3 万元, 70 % above; at most 2 万元 (small, to reach it).
HIFMI = {"fund": "hifmi", "basis": "personal_eligible", "deductible_fen": 1500000,
         "bands": [{"upto_fen": 3000000, "ratio_permille": 600}, {"upto_fen": None, "ratio_permille": 700}],
         "annual_ceiling_fen": 2000000}
# 医疗救助 for 特困 (2101) and 低保 (2201): 1000 元 deductible, 70 % up to 1 万元, 60 % above; 1 万元 a year.
MAF = {"fund": "maf", "basis": "personal_eligible", "deductible_fen": 100000,
       "bands": [{"upto_fen": 1000000, "ratio_permille": 700}, {"upto_fen": None, "ratio_permille": 600}],
       "annual_ceiling_fen": 1000000, "identities": ["2101", "2201"]}
# A smaller assistance scheme for the employee example: 200 元, 50 % up to 500 元, 80 % above; 300 元.
MAF_SMALL = {"fund": "maf", "basis": "personal_eligible", "deductible_fen": 20000,
             "bands": [{"upto_fen": 50000, "ratio_permille": 500}, {"upto_fen": None, "ratio_permille": 800}],
             "annual_ceiling_fen": 30000, "identities": ["2101"]}

# Beijing-like employees with outpatient pooling and retirees' ratios:
#   main (inpatient) stage: STANDARD (deductible 300/600/900/0 元; 90/85/80/70 % to 5 万元,
#   92/88/85/70 % to 20 万元, 95/92/90/70 % above; ceiling 40 万元); retirees 97/91/88/80 % and
#   98/93/90/80 % in the first two bands, the third band has no retired ratio (same as in service);
#   outpatient: deductible 1800 元 in service, 1300 元 retired; 90 % at level 1, 70 % above (in service),
#   90 % / 85 % (retired); ceiling 2 万元 each.
OUTPATIENT = {
    "deductible_fen": {"in_service": 180000, "retired": 130000},
    "ratio_permille": {"in_service": {"1": 900, "2": 700, "3": 700, "9": 700},
                       "retired": {"1": 900, "2": 850, "3": 850, "9": 850}},
    "annual_ceiling_fen": {"in_service": 2000000, "retired": 2000000},
}
EMPLOYEE = STANDARD | {
    "bands": [
        STANDARD["bands"][0] | {"retired_ratio_permille": {"1": 970, "2": 910, "3": 880, "9": 800}},
        STANDARD["bands"][1] | {"retired_ratio_permille": {"1": 980, "2": 930, "3": 900, "9": 800}},
        STANDARD["bands"][2],
    ],
    "outpatient": OUTPATIENT,
}
RETIRED = Patient(psn_type="21")
IN_SERVICE = Patient(psn_type="11")
OUT = Visit(inpatient=False)
IN = Visit(inpatient=True)


def acc(**counters) -> Accumulators:
    return Accumulators(**counters)


def fund(s, name):
    (f,) = [f for f in s.funds if f.fund == name]
    return f


def fund_rows(s, insutype):
    return [(r["fund_pay_type"], r["fund_pay_type_name"], r["fund_payamt"]) for r in s.to_setldetail(insutype)]


def test_example_policies_are_valid():
    assert params_errors(EMPLOYEE, insutype="310") == []
    assert params_errors(STANDARD | {"supplements": [HIFOB, CVLSERV, MAF_SMALL]}, insutype="310") == []
    assert params_errors(RESIDENT | {"supplements": [MAF, HIFMI]}, insutype="390") == []
    assert len(COUNTERS) == 18 and COUNTERS[:3] == ("eligible_cost_fen", "deductible_paid_fen", "fund_paid_fen")
    assert COUNTERS == tuple(f"{p}{c}" for p in ("", "outpatient_") for c in (
        "eligible_cost_fen", "deductible_paid_fen", "fund_paid_fen")) + tuple(
        f"{f}_{c}" for f in ("hifob", "hifmi", "cvlserv", "maf") for c in ("base_fen", "deductible_paid_fen",
                                                                         "paid_fen"))


# --- 职工大额医疗费用补助 (hifob), basis: over the basic ceiling ------------------


def test_hifob_crosses_its_deductible_a_band_and_its_ceiling():
    # Employee, level 3; this year: cumulative eligible 45 万元 (band 3, 90 %), deductible paid,
    # basic fund paid 399000 元 of its 400000 元 ceiling. Balance 500 元. One A-class bill of 3 万元.
    # Basic: R = 3000000 at [45000000, 48000000), band 3 90 % -> 2700000 by ratio; 100000 left -> hifp 100000;
    #   pool_prop_selfpay 3000000 − 100000 = 2900000.
    #   Cost beyond the ceiling: the fund reaches the 100000 left after 100000 × 1000 / 900 = 111111.11 of cost;
    #   3000000 − 111111.11 = 2888888.89 -> 2888889 (half-up).
    # hifob: remaining burden 0 + 2900000; base = min(2888889, 2900000) = 2888889.
    #   deductible 50000 (none paid) -> 50000; bands over [50000, 2888889):
    #   band 1 (to 1000000, 85 %) 950000 -> 807500; band 2 (90 %) 1888889 -> 1700000.1;
    #   Σ 2507500.1 -> 2507500 by ratio; ceiling 2000000 -> hifob 2000000.
    # fund_pay_sumamt 2100000; psn_part 900000: account 50000, cash 850000.
    params = STANDARD | {"supplements": [HIFOB]}
    before = acc(eligible_cost_fen=45000000, deductible_paid_fen=90000, fund_paid_fen=39900000)
    s = split(params, "3", before, 50000, True, [item("1", "A", 3000000, "1", 3000000)])
    assert_setlinfo(s, medfee_sumamt=3000000, inscp_scp_amt=3000000, act_pay_dedc=0, hifp_pay=100000,
                    pool_prop_selfpay=2900000, hifob_pay=2000000, fund_pay_sumamt=2100000, psn_part_amt=900000,
                    acct_pay=50000, psn_cash_pay=850000, balc=0, **Z)
    f = fund(s, "hifob")
    assert (f.fund_pay_type, f.base_fen, f.deductible_year_fen, f.deductible_left_fen, f.act_pay_dedc_fen,
            f.fund_by_ratio_fen, f.ceiling_left_fen, f.pay_fen, f.eligible) == (
        "330100", 2888889, 50000, 50000, 50000, 2507500, 2000000, 2000000, True)
    assert [(b.portion_fen, b.ratio_permille, b.fund_millifen) for b in f.band_splits] == [
        (950000, 850, 807500000), (1888889, 900, 1700000100)]
    assert s.deltas == deltas(eligible_cost_fen=3000000, fund_paid_fen=100000, hifob_base_fen=2888889,
                              hifob_deductible_paid_fen=50000, hifob_paid_fen=2000000, account_fen=-50000)
    assert fund_rows(s, "310") == [("310100", FUND_NAMES["310100"], Decimal("1000.00")),
                                   ("330100", FUND_NAMES["330100"], Decimal("20000.00"))]
    assert all(r["setl_proc_info"] for r in s.to_setldetail("310"))
    assert any("大额" in line for line in s.explanation)
    # The year's hifob is now at its ceiling: the next bill above the basic ceiling gets nothing from it.
    after, balance = apply_deltas(before, 50000, s.deltas)
    assert (after.fund_paid_fen, after.hifob_paid_fen) == (40000000, 2000000)
    again = split(params, "3", after, balance, True, [item("1", "A", 10000, "1", 10000)])
    assert (again.hifp_pay, again.hifob_pay, again.psn_cash_pay) == (0, 0, 10000)
    assert fund(again, "hifob").base_fen == 10000 and fund(again, "hifob").ceiling_left_fen == 0


def test_hifob_pays_nothing_below_the_basic_ceiling():
    # Level 1, fresh year, 1000 元: deductible 30000, R 70000 × 90 % = 63000, co-pay 7000; the basic
    # ceiling is far: cost beyond it 0 -> hifob base 0, pay 0, its counters unchanged.
    s = split(STANDARD | {"supplements": [HIFOB]}, "1", acc(), 0, True, [item("1", "A", 100000, "1", 100000)])
    assert_setlinfo(s, medfee_sumamt=100000, inscp_scp_amt=100000, act_pay_dedc=30000, hifp_pay=63000,
                    pool_prop_selfpay=7000, fund_pay_sumamt=63000, psn_part_amt=37000, acct_pay=0,
                    psn_cash_pay=37000, balc=0, **Z)
    assert (fund(s, "hifob").base_fen, fund(s, "hifob").pay_fen) == (0, 0)
    assert s.deltas == deltas(eligible_cost_fen=100000, deductible_paid_fen=30000, fund_paid_fen=63000)
    assert fund_rows(s, "310") == [("310100", FUND_NAMES["310100"], Decimal("630.00"))]


# --- 公务员医疗补助 (cvlserv), basis: the person's eligible burden -------------


def test_cvlserv_crosses_its_deductible_a_band_and_its_ceiling_only_for_civil_servants():
    # Employee, level 2, fresh year, balance 1000 元. A-class 2 万元 + C-class 100 元.
    # Basic: deductible 60000; R 1940000 at [60000, 2000000), band 1 85 % -> 1649000; co-pay 291000.
    # cvlserv: remaining eligible burden 60000 + 291000 = 351000 (the 丙类 100 元 is not eligible);
    #   deductible 30000; bands over [30000, 351000): band 1 (to 200000, 60 %) 170000 -> 102000;
    #   band 2 (80 %) 151000 -> 120800; Σ 222800; ceiling 200000 -> cvlserv 200000.
    # fund_pay_sumamt 1849000; medfee 2010000; psn_part 161000: account 100000, cash 61000.
    params = STANDARD | {"supplements": [CVLSERV]}
    bill = [item("1", "A", 2000000, "1", 2000000), item("2", "C", 10000, "1", 10000, ratio=1000)]
    s = split(params, "2", acc(), 100000, True, bill, patient=Patient(cvlserv=True))
    assert_setlinfo(s, medfee_sumamt=2010000, fulamt_ownpay_amt=10000, overlmt_selfpay=0, preselfpay_amt=0,
                    inscp_scp_amt=2000000, act_pay_dedc=60000, hifp_pay=1649000, pool_prop_selfpay=291000,
                    cvlserv_pay=200000, fund_pay_sumamt=1849000, psn_part_amt=161000, acct_pay=100000,
                    acct_mulaid_pay=0, psn_cash_pay=61000, balc=0)
    f = fund(s, "cvlserv")
    assert (f.fund_pay_type, f.base_fen, f.act_pay_dedc_fen, f.fund_by_ratio_fen, f.ceiling_left_fen, f.pay_fen,
            f.eligible) == ("320100", 351000, 30000, 222800, 200000, 200000, True)
    assert [(b.portion_fen, b.ratio_permille) for b in f.band_splits] == [(170000, 600), (151000, 800)]
    assert s.deltas == deltas(eligible_cost_fen=2000000, deductible_paid_fen=60000, fund_paid_fen=1649000,
                              cvlserv_base_fen=351000, cvlserv_deductible_paid_fen=30000, cvlserv_paid_fen=200000,
                              account_fen=-100000)
    assert fund_rows(s, "310") == [("310100", FUND_NAMES["310100"], Decimal("16490.00")),
                                   ("320100", FUND_NAMES["320100"], Decimal("2000.00"))]
    # Not a civil servant (cvlserv_flag 0): the fund is considered and skipped, with its reason.
    s = split(params, "2", acc(), 100000, True, bill)
    assert_setlinfo(s, medfee_sumamt=2010000, fulamt_ownpay_amt=10000, overlmt_selfpay=0, preselfpay_amt=0,
                    inscp_scp_amt=2000000, act_pay_dedc=60000, hifp_pay=1649000, pool_prop_selfpay=291000,
                    fund_pay_sumamt=1649000, psn_part_amt=361000, acct_pay=100000, acct_mulaid_pay=0,
                    psn_cash_pay=261000, balc=0)
    f = fund(s, "cvlserv")
    assert (f.eligible, f.pay_fen) == (False, 0) and f.reason and "公务员" in f.reason
    assert s.deltas == deltas(eligible_cost_fen=2000000, deductible_paid_fen=60000, fund_paid_fen=1649000,
                              account_fen=-100000)


def test_hifob_then_cvlserv_chain_in_canonical_order():
    # The hifob example with the civil-servant supplement too (listed first in the file; computed after
    # hifob regardless). cvlserv's base is the burden hifob left: 2900000 − 2000000 = 900000.
    #   deductible 30000; bands over [30000, 900000): 170000 × 60 % = 102000, 700000 × 80 % = 560000;
    #   Σ 662000; ceiling 200000 -> cvlserv 200000.
    # fund_pay_sumamt 100000 + 2000000 + 200000 = 2300000; psn_part 700000: account 50000, cash 650000.
    params = STANDARD | {"supplements": [CVLSERV, HIFOB]}
    before = acc(eligible_cost_fen=45000000, deductible_paid_fen=90000, fund_paid_fen=39900000)
    s = split(params, "3", before, 50000, True, [item("1", "A", 3000000, "1", 3000000)],
              patient=Patient(cvlserv=True))
    assert_setlinfo(s, medfee_sumamt=3000000, inscp_scp_amt=3000000, act_pay_dedc=0, hifp_pay=100000,
                    pool_prop_selfpay=2900000, hifob_pay=2000000, cvlserv_pay=200000, fund_pay_sumamt=2300000,
                    psn_part_amt=700000, acct_pay=50000, psn_cash_pay=650000, balc=0, **Z)
    assert [f.fund for f in s.funds] == ["hifob", "cvlserv"]
    assert (fund(s, "cvlserv").base_fen, fund(s, "cvlserv").fund_by_ratio_fen) == (900000, 662000)
    assert [r[0] for r in fund_rows(s, "310")] == ["310100", "330100", "320100"]


# --- 城乡居民大病保险 (hifmi) and 医疗救助 (maf): the chain ------------------------


RESIDENT_SERIOUS = RESIDENT | {"supplements": [MAF, HIFMI]}
# Earlier this year: one level-3 bill of 10800 元: deductible 80000, R 1000000 × 55 % = 550000, co-pay
# 450000, so 530000 of personal eligible burden went to hifmi's base (all of it within its deductible).
RESIDENT_BEFORE = dict(eligible_cost_fen=1080000, deductible_paid_fen=80000, fund_paid_fen=550000,
                       hifmi_base_fen=530000, hifmi_deductible_paid_fen=530000)


def test_hifmi_then_maf_cross_deductible_band_and_ceiling_in_one_bill():
    # Resident, level 3, the state above, a 低保 (2201) person; balance 50 元 (the account may not pay).
    # Bill: A-class 10 万元. Basic: deductible paid; R 10000000 at [1080000, 11080000):
    #   band 1 (to 5 万元, 55 %) 3920000 -> 2156000; band 2 (60 %) 6080000 -> 3648000; hifp 5804000
    #   (ceiling 20 万元, 550000 paid: not reached); co-pay 4196000.
    # hifmi (personal eligible): base 0 + 4196000; deductible left 1500000 − 530000 = 970000;
    #   bands over [530000 + 970000, 530000 + 4196000) = [1500000, 4726000):
    #   band 1 (to 3 万元, 60 %) 1500000 -> 900000; band 2 (70 %) 1726000 -> 1208200; Σ 2108200;
    #   ceiling 2000000 -> hifmi 2000000.
    # maf (listed first, computed after hifmi): remaining 4196000 − 2000000 = 2196000; deductible 100000;
    #   bands over [100000, 2196000): band 1 (to 1 万元, 70 %) 900000 -> 630000; band 2 (60 %) 1196000 -> 717600;
    #   Σ 1347600; ceiling 1000000 -> maf 1000000.
    # fund_pay_sumamt 5804000 + 2000000 + 1000000 = 8804000; psn_part 1196000, all cash; balance stays 5000.
    s = split(RESIDENT_SERIOUS, "3", acc(**RESIDENT_BEFORE), 5000, True, [item("1", "A", 10000000, "1", 10000000)],
              patient=Patient(identities=frozenset({"2201"})))
    assert_setlinfo(s, medfee_sumamt=10000000, inscp_scp_amt=10000000, act_pay_dedc=0, hifp_pay=5804000,
                    pool_prop_selfpay=4196000, hifmi_pay=2000000, maf_pay=1000000, fund_pay_sumamt=8804000,
                    psn_part_amt=1196000, acct_pay=0, psn_cash_pay=1196000, balc=5000, **Z)
    assert [f.fund for f in s.funds] == ["hifmi", "maf"]
    h, m = fund(s, "hifmi"), fund(s, "maf")
    assert (h.fund_pay_type, h.base_fen, h.deductible_year_fen, h.deductible_left_fen, h.act_pay_dedc_fen,
            h.fund_by_ratio_fen, h.ceiling_left_fen, h.pay_fen) == (
        "390200", 4196000, 1500000, 970000, 970000, 2108200, 2000000, 2000000)
    assert [(b.portion_fen, b.ratio_permille) for b in h.band_splits] == [(1500000, 600), (1726000, 700)]
    assert (m.fund_pay_type, m.base_fen, m.act_pay_dedc_fen, m.fund_by_ratio_fen, m.pay_fen, m.eligible) == (
        "610100", 2196000, 100000, 1347600, 1000000, True)
    assert [(b.portion_fen, b.ratio_permille) for b in m.band_splits] == [(900000, 700), (1196000, 600)]
    assert s.deltas == deltas(eligible_cost_fen=10000000, fund_paid_fen=5804000, hifmi_base_fen=4196000,
                              hifmi_deductible_paid_fen=970000, hifmi_paid_fen=2000000, maf_base_fen=2196000,
                              maf_deductible_paid_fen=100000, maf_paid_fen=1000000)
    assert fund_rows(s, "390") == [("390100", FUND_NAMES["390100"], Decimal("58040.00")),
                                   ("390200", FUND_NAMES["390200"], Decimal("20000.00")),
                                   ("610100", FUND_NAMES["610100"], Decimal("10000.00"))]
    assert any("大病" in line for line in s.explanation) and any("医疗救助" in line for line in s.explanation)


@pytest.mark.parametrize("identities", [frozenset(), frozenset({"2301"})])
def test_maf_only_with_a_listed_identity(identities):
    # The same bill without an identity maf lists: hifmi as above, maf considered and skipped;
    # psn_part 10000000 − 5804000 − 2000000 = 2196000 cash; maf's counters unchanged.
    s = split(RESIDENT_SERIOUS, "3", acc(**RESIDENT_BEFORE), 5000, True, [item("1", "A", 10000000, "1", 10000000)],
              patient=Patient(identities=identities))
    assert_setlinfo(s, medfee_sumamt=10000000, inscp_scp_amt=10000000, act_pay_dedc=0, hifp_pay=5804000,
                    pool_prop_selfpay=4196000, hifmi_pay=2000000, fund_pay_sumamt=7804000,
                    psn_part_amt=2196000, acct_pay=0, psn_cash_pay=2196000, balc=5000, **Z)
    m = fund(s, "maf")
    assert (m.eligible, m.pay_fen) == (False, 0) and m.reason
    assert s.deltas == deltas(eligible_cost_fen=10000000, fund_paid_fen=5804000, hifmi_base_fen=4196000,
                              hifmi_deductible_paid_fen=970000, hifmi_paid_fen=2000000)


def test_maf_alone_crosses_its_deductible_a_band_and_its_ceiling():
    # Employee, level 1, fresh year, 特困 (2101), balance 0. A-class 5000 元.
    # Basic: deductible 30000; R 470000 × 90 % = 423000; co-pay 47000; burden 77000.
    # maf: deductible 20000; bands over [20000, 77000): band 1 (to 500 元, 50 %) 30000 -> 15000;
    #   band 2 (80 %) 27000 -> 21600; Σ 36600; ceiling 30000 -> maf 30000.
    # fund_pay_sumamt 453000; psn_part 47000 cash.
    s = split(STANDARD | {"supplements": [MAF_SMALL]}, "1", acc(), 0, True, [item("1", "A", 500000, "1", 500000)],
              patient=Patient(identities=frozenset({"2101", "2401"})))
    assert_setlinfo(s, medfee_sumamt=500000, inscp_scp_amt=500000, act_pay_dedc=30000, hifp_pay=423000,
                    pool_prop_selfpay=47000, maf_pay=30000, fund_pay_sumamt=453000, psn_part_amt=47000,
                    acct_pay=0, psn_cash_pay=47000, balc=0, **Z)
    assert (fund(s, "maf").base_fen, fund(s, "maf").fund_by_ratio_fen) == (77000, 36600)
    assert s.deltas == deltas(eligible_cost_fen=500000, deductible_paid_fen=30000, fund_paid_fen=423000,
                              maf_base_fen=77000, maf_deductible_paid_fen=20000, maf_paid_fen=30000)
    assert fund_rows(s, "310") == [("310100", FUND_NAMES["310100"], Decimal("4230.00")),
                                   ("610100", FUND_NAMES["610100"], Decimal("300.00"))]


# --- 职工门诊共济 (outpatient pooling) -----------------------------------------


def test_outpatient_in_service_and_retired_deductibles_and_ratios():
    # Level 2 hospital, outpatient, fresh year, 2000 元 eligible, balance 1000 元.
    # In service: deductible 180000; R 20000 × 70 % = 14000; co-pay 6000; psn_part 186000:
    #   account 100000 (the account pays the person's part), cash 86000.
    s = split(EMPLOYEE, "2", acc(), 100000, True, [item("1", "A", 200000, "1", 200000)], patient=IN_SERVICE,
              visit=OUT)
    assert s.stage == "outpatient"
    assert_setlinfo(s, medfee_sumamt=200000, inscp_scp_amt=200000, act_pay_dedc=180000, hifp_pay=14000,
                    pool_prop_selfpay=6000, fund_pay_sumamt=14000, psn_part_amt=186000, acct_pay=100000,
                    psn_cash_pay=86000, balc=0, **Z)
    assert s.deltas == deltas(outpatient_eligible_cost_fen=200000, outpatient_deductible_paid_fen=180000,
                              outpatient_fund_paid_fen=14000, account_fen=-100000)
    # Retired: deductible 130000; R 70000 × 85 % = 59500; co-pay 10500; psn_part 140500: account 100000, cash 40500.
    s = split(EMPLOYEE, "2", acc(), 100000, True, [item("1", "A", 200000, "1", 200000)], patient=RETIRED, visit=OUT)
    assert s.stage == "outpatient"
    assert_setlinfo(s, medfee_sumamt=200000, inscp_scp_amt=200000, act_pay_dedc=130000, hifp_pay=59500,
                    pool_prop_selfpay=10500, fund_pay_sumamt=59500, psn_part_amt=140500, acct_pay=100000,
                    psn_cash_pay=40500, balc=0, **Z)
    assert s.deltas == deltas(outpatient_eligible_cost_fen=200000, outpatient_deductible_paid_fen=130000,
                              outpatient_fund_paid_fen=59500, account_fen=-100000)


def test_outpatient_and_inpatient_counters_are_kept_apart():
    # In service; one year: outpatient 2000 元 at level 2 (as above), then an inpatient stay of 1000 元
    # at level 2, then outpatient 500 元 at level 1. Balance 0.
    #  1 outpatient: deductible 180000, 20000 × 70 % = 14000 -> outpatient counters (200000, 180000, 14000)
    #  2 inpatient: the main deductible is untouched by the outpatient one: 60000; R 40000 × 85 % = 34000;
    #    co-pay 6000 -> main counters (100000, 60000, 34000)
    #  3 outpatient: outpatient deductible already met (180000 of 180000); R 50000 × 90 % = 45000; co-pay 5000
    bills = [("2", OUT, 200000), ("2", IN, 100000), ("1", OUT, 50000)]
    a, balance, got = acc(), 0, []
    for level, visit, amount in bills:
        s = split(EMPLOYEE, level, a, balance, True, [item("1", "A", amount, "1", amount)], visit=visit)
        got.append((s.stage, s.act_pay_dedc, s.hifp_pay, s.pool_prop_selfpay, s.psn_cash_pay))
        a, balance = apply_deltas(a, balance, s.deltas)
    assert got == [("outpatient", 180000, 14000, 6000, 186000), ("inpatient", 60000, 34000, 6000, 66000),
                   ("outpatient", 0, 45000, 5000, 5000)]
    assert a == acc(eligible_cost_fen=100000, deductible_paid_fen=60000, fund_paid_fen=34000,
                    outpatient_eligible_cost_fen=250000, outpatient_deductible_paid_fen=180000,
                    outpatient_fund_paid_fen=59000)
    # Without an outpatient section every bill uses the main rules (stage "general"):
    s = split(STANDARD, "2", acc(), 0, True, [item("1", "A", 200000, "1", 200000)], visit=OUT)
    assert (s.stage, s.act_pay_dedc, s.hifp_pay) == ("general", 60000, 119000)  # 140000 × 85 %


def test_outpatient_ceiling_and_no_hifob_from_the_outpatient_stage():
    # In service, level 1, outpatient; deductible met; outpatient fund paid 19900 元 of 2 万元. 300 元 bill:
    # R 30000 × 90 % = 27000 by ratio; 10000 left -> hifp 10000; co-pay 20000. hifob's basis is the cost
    # over the *basic (main)* ceiling: nothing from the outpatient stage -> base 0.
    params = EMPLOYEE | {"supplements": [HIFOB]}
    before = acc(outpatient_eligible_cost_fen=2400000, outpatient_deductible_paid_fen=180000,
                 outpatient_fund_paid_fen=1990000)
    s = split(params, "1", before, 0, True, [item("1", "A", 30000, "1", 30000)], visit=OUT)
    assert s.stage == "outpatient"
    assert_setlinfo(s, medfee_sumamt=30000, inscp_scp_amt=30000, act_pay_dedc=0, hifp_pay=10000,
                    pool_prop_selfpay=20000, fund_pay_sumamt=10000, psn_part_amt=20000, acct_pay=0,
                    psn_cash_pay=20000, balc=0, **Z)
    assert (fund(s, "hifob").base_fen, fund(s, "hifob").pay_fen) == (0, 0)
    assert s.deltas == deltas(outpatient_eligible_cost_fen=30000, outpatient_fund_paid_fen=10000)


def test_pharmacy_outpatient_pooling_only_where_designated():
    # Level 9 (pharmacy), in service, outpatient deductible already met; 300 元 bill, balance 1000 元.
    # Designated for outpatient pooling: 30000 × 70 % = 21000; co-pay 9000; account pays 9000.
    met = acc(outpatient_eligible_cost_fen=300000, outpatient_deductible_paid_fen=180000)
    bill = [item("1", "A", 30000, "1", 30000)]
    s = split(EMPLOYEE, "9", met, 100000, True, bill, visit=Visit(inpatient=False, outpatient_pooling=True))
    assert s.stage == "outpatient"
    assert_setlinfo(s, medfee_sumamt=30000, inscp_scp_amt=30000, act_pay_dedc=0, hifp_pay=21000,
                    pool_prop_selfpay=9000, fund_pay_sumamt=21000, psn_part_amt=9000, acct_pay=9000,
                    psn_cash_pay=0, balc=91000, **Z)
    assert s.deltas == deltas(outpatient_eligible_cost_fen=30000, outpatient_fund_paid_fen=21000, account_fen=-9000)
    # Not designated: no pooling at all (stage "none"): fund 0, the eligible cost is all co-pay, no counter
    # moves; the account still pays the person's part.
    s = split(EMPLOYEE, "9", met, 100000, True, bill, visit=Visit(inpatient=False, outpatient_pooling=False))
    assert s.stage == "none"
    assert_setlinfo(s, medfee_sumamt=30000, inscp_scp_amt=30000, act_pay_dedc=0, hifp_pay=0,
                    pool_prop_selfpay=30000, fund_pay_sumamt=0, psn_part_amt=30000, acct_pay=30000,
                    psn_cash_pay=0, balc=70000, **Z)
    assert s.deltas == deltas(account_fen=-30000)
    assert s.to_setldetail("310") == []


def test_retired_band_ratios_on_the_main_stage():
    # Inpatient, level 2, deductible met, cumulative 49000 元, fund paid 38000 元; 3000 元, balance 0.
    # In service: 100000 × 85 % + 200000 × 88 % = 85000 + 176000 = 261000; co-pay 39000.
    # Retired:    100000 × 91 % + 200000 × 93 % = 91000 + 186000 = 277000; co-pay 23000.
    before = acc(eligible_cost_fen=4900000, deductible_paid_fen=60000, fund_paid_fen=3800000)
    bill = [item("1", "A", 300000, "1", 300000)]
    for patient, hifp in [(IN_SERVICE, 261000), (RETIRED, 277000)]:
        s = split(EMPLOYEE, "2", before, 0, True, bill, patient=patient, visit=IN)
        assert s.stage == "inpatient"
        assert_setlinfo(s, medfee_sumamt=300000, inscp_scp_amt=300000, act_pay_dedc=0, hifp_pay=hifp,
                        pool_prop_selfpay=300000 - hifp, fund_pay_sumamt=hifp, psn_part_amt=300000 - hifp,
                        acct_pay=0, psn_cash_pay=300000 - hifp, balc=0, **Z)
    assert [(b.index, b.portion_fen, b.ratio_permille) for b in s.band_splits] == [(1, 100000, 910), (2, 200000, 930)]
    # A band without retired ratios: the in-service ratio. Retired, cumulative 199000 元, 2000 元:
    # band 2 100000 × 93 % = 93000; band 3 100000 × 92 % (no retired ratio) = 92000; hifp 185000; co-pay 15000.
    s = split(EMPLOYEE, "2", acc(eligible_cost_fen=19900000, deductible_paid_fen=60000, fund_paid_fen=10000000), 0,
              True, [item("1", "A", 200000, "1", 200000)], patient=RETIRED, visit=IN)
    assert_setlinfo(s, medfee_sumamt=200000, inscp_scp_amt=200000, act_pay_dedc=0, hifp_pay=185000,
                    pool_prop_selfpay=15000, fund_pay_sumamt=185000, psn_part_amt=15000, acct_pay=0,
                    psn_cash_pay=15000, balc=0, **Z)
    assert [(b.index, b.ratio_permille) for b in s.band_splits] == [(2, 930), (3, 920)]


# --- the policy year ---------------------------------------------------------


@pytest.mark.parametrize("year_start, day, expected", [
    (None, dt.date(2025, 12, 31), 2025),
    (None, dt.date(2026, 1, 1), 2026),
    ("01-01", dt.date(2025, 12, 31), 2025),
    ("01-01", dt.date(2026, 1, 1), 2026),
    ("01-01", dt.date(2026, 12, 31), 2026),
    ("07-01", dt.date(2026, 6, 30), 2025),
    ("07-01", dt.date(2026, 7, 1), 2026),
    ("07-01", dt.date(2026, 12, 31), 2026),
    ("07-01", dt.date(2027, 1, 1), 2026),
    ("07-01", dt.date(2027, 6, 30), 2026),
    ("07-01", dt.date(2027, 7, 1), 2027),
])
def test_policy_year(year_start, day, expected):
    params = STANDARD if year_start is None else STANDARD | {"year_start": year_start}
    assert params_errors(params) == []
    assert policy_year(params, day) == expected
    assert policy_year(parse_params(params), day) == expected


def test_hifob_base_is_all_the_cost_beyond_the_point_where_the_ceiling_is_reached():
    # The contract: over_ceiling_cost is "the part of R lying beyond the point where the exact band fund
    # reaches the ceiling left". A 0 % band lying beyond that point is beyond it too.
    # Policy: no deductible; 90 % up to 1000 元 cumulative, 0 % above; basic ceiling 90 元.
    # hifob: no deductible, 100 %, ceiling 1 万元. Level 1, fresh year, A-class 2000 元, balance 0.
    # Basic: band 1 100000 × 90 % = 90000, band 2 100000 × 0 % = 0 -> 90000 by ratio; ceiling 9000 -> hifp 9000;
    #   co-pay 200000 − 9000 = 191000. The ceiling is reached after 9000 × 1000 / 900 = 10000 of cost:
    #   cost beyond it 200000 − 10000 = 190000 (the 0 % band included).
    # hifob: base min(190000, 191000) = 190000 × 100 % = 190000; psn_part 200000 − 199000 = 1000.
    params = {"model": "standard", "deductible_fen": {lv: 0 for lv in "1239"},
              "bands": [{"upto_fen": 100000, "ratio_permille": {lv: 900 for lv in "1239"}},
                        {"upto_fen": None, "ratio_permille": {lv: 0 for lv in "1239"}}],
              "annual_ceiling_fen": 9000, "account_may_pay_self_part": True,
              "supplements": [{"fund": "hifob", "basis": "over_basic_ceiling", "deductible_fen": 0,
                               "bands": [{"upto_fen": None, "ratio_permille": 1000}], "annual_ceiling_fen": 1000000}]}
    s = split(params, "1", acc(), 0, True, [item("1", "A", 200000, "1", 200000)])
    assert fund(s, "hifob").base_fen == 190000
    assert_setlinfo(s, medfee_sumamt=200000, inscp_scp_amt=200000, act_pay_dedc=0, hifp_pay=9000,
                    pool_prop_selfpay=191000, hifob_pay=190000, fund_pay_sumamt=199000, psn_part_amt=1000,
                    acct_pay=0, psn_cash_pay=1000, balc=0, **Z)
