"""Issue #12 at the settlement core: each policy form through the core's
envelope against a real database — the account-first worked example of the
source (Chongqing) and its follow-on, the bill's date choosing the policy
version and the policy year, outpatient pooling apart from inpatient care,
retiree ratios, the supplementary funds paying from their own ledger
accounts, settle-then-reverse restoring every counter, 1101 identities, and
bad policy files refused.

The demo regions come from common.demodata (loaded with
``demo_seed(regions=...)``): 500100 重庆市 and 320100 南京市; their params
are in common/demodata.py (``_policy_form_params``)."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from decimal import Decimal as D

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from common import demodata, idnumber
from common.envelope import InfCode
from core_platform import engine
from core_platform.errors import InvalidInput
from core_platform.models import (
    AnnualAccumulator,
    Entry,
    Institution,
    InsuredPerson,
    LedgerAccount,
    PersonIdentity,
    PolicyParameters,
    Settlement,
)
from core_platform.selectors import ledger_discrepancies, personal_balance_fen
from core_platform.services.catalogue import catalogue_load
from core_platform.services.demo import demo_seed
from core_platform.services.ledger import personal_account_credit
from core_platform.services.policy import policy_load
from core_platform.services.registry import institution_register, person_enrol, region_register
from tests.core_platform.signing import call, envelope

pytestmark = pytest.mark.django_db(databases=["default", "core"])

DATA = demodata.generate()
CQ_PERSONA = demodata.DEMO_PERSONAS["chongqing"]
CQ_PHARMACY, CQ_LEVEL2 = "P50010000001", "H50010000004"
NJ_POOLING_PHARMACY, NJ_PLAIN_PHARMACY, NJ_LEVEL2, NJ_LEVEL3 = "P32010000001", "P32010000002", "H32010000004", \
    "H32010000003"
NJ_CIVIL_SERVANT, NJ_RETIREE, NJ_TEKUN, NJ_FORMER_DIBAO = ("32010000000000000001", "32010000000000000002",
                                                           "32010000000000000003", "32010000000000000004")
DRUG = "XA0001"
_msgids = itertools.count(1)


@pytest.fixture
def drug():
    catalogue_load([{"med_list_codg": DRUG, "name": "阿莫西林胶囊", "kind": "drug", "list_class": "A", "unit": "盒"}])


@pytest.fixture
def chongqing(drug):
    demo_seed(regions={"500100"}, catalogue=False)


@pytest.fixture
def nanjing(drug):
    demo_seed(regions={"320100"}, catalogue=False)


def bill(psn_no, yuan: str, *, on: str, med_type: str = "41", insutype: str = "310") -> dict:
    """One A-class line (fully eligible) of ``yuan``, begun on ``on``."""
    return {"druginfo": {"psn_no": psn_no, "mdtrt_cert_type": "99", "mdtrt_cert_no": psn_no,
                         "begntime": f"{on} 10:00:00", "medfee_sumamt": yuan, "insutype": insutype,
                         "acct_used_flag": "1", "med_type": med_type},
            "drugdetail": [{"feedetl_sn": "1", "med_list_codg": DRUG, "det_item_fee_sumamt": yuan, "cnt": "1",
                            "pric": yuan}]}


def send(client, infno, input_, institution, msgid=None):
    return call(client, envelope(infno, input_, msgid=msgid or f"PF{next(_msgids):06d}", fixmedins_code=institution))


def settle(client, institution, psn_no, yuan, *, on, med_type="41", insutype="310") -> dict:
    answer = send(client, "2102", bill(psn_no, yuan, on=on, med_type=med_type, insutype=insutype), institution)
    assert answer["infcode"] == 0, answer
    return answer["output"]["setlinfo"]


def money(info: dict, *names) -> dict:
    return {name: info[name] for name in names}


def counters(psn_no: str, year: int) -> dict:
    row = AnnualAccumulator.objects.filter(psn_no=psn_no, year=year).first()
    return {name: getattr(row, name) if row else 0 for name in engine.COUNTERS}


def nonzero(values: dict) -> dict:
    return {name: value for name, value in values.items() if value}


SPLIT = ("medfee_sumamt", "inscp_scp_amt", "act_pay_dedc", "hifp_pay", "pool_prop_selfpay", "hifob_pay", "hifmi_pay",
         "cvlserv_pay", "maf_pay", "fund_pay_sumamt", "psn_part_amt", "acct_pay", "psn_cash_pay", "balc")


# --- the source's worked example (issue #12, part 1) ----------------------------------------------


def test_chongqing_worked_example_and_the_next_bill(client, chongqing):
    """The source: "本年度前3次看病已花去230元医药费，本次医药费为120元，累计医药费为350元，
    此时个人医疗IC卡中的钱已不够支付，进入了个人自付段（但尚未进入统筹段），所以应该自付现金17.2元"
    (account 332.80). 500100 employees: account_first, deductible basis cumulative_cost,
    400 yuan at every level; band 1 (cumulative eligible cost up to 10 000 yuan) at 85 % at a
    level-2 hospital.

    Bills 1-3 (80 + 100 + 50 = 230 yuan at a pharmacy): the account pays each in full
    (332.80 → 102.80); cumulative cost 230, below 400, nothing from the fund.

    Bill 4 (120 yuan): on the cumulative axis it occupies [230, 350). The account pays first
    what is left, 102.80, covering [230, 332.80); the rest [332.80, 350) lies below 400, the
    self-pay stage: act_pay_dedc = psn_cash_pay = 17.20, hifp_pay 0, balance 0.

    Bill 5, the next and larger one (1000 yuan at the level-2 hospital H50010000004): it occupies
    [350, 1350). The account is empty (a = 0). [350, 400) is still the self-pay stage: 50.00 in
    cash (act_pay_dedc). [400, 1350) = 950.00 is in the pooled stage, all inside band 1 (up to
    10 000): hifp_pay = 950.00 × 85 % = 807.50; pool_prop_selfpay = 950.00 − 807.50 = 142.50.
    psn_part_amt = 1000 − 807.50 = 192.50, all cash (balance 0). inscp_scp_amt 1000.00.
    The basic ceiling (150 000) is far away: hifob_pay 0.
    Counters of 2026: eligible cost 1350.00; deductible_paid 17.20 + 50.00 = 67.20; fund 807.50.
    """
    psn = CQ_PERSONA.psn_no
    assert personal_balance_fen(psn) == 33_280
    for n, (yuan, on) in enumerate([("80.00", "2026-03-01"), ("100.00", "2026-03-15"), ("50.00", "2026-04-02")]):
        info = settle(client, CQ_PHARMACY, psn, yuan, on=on)
        assert money(info, "acct_pay", "psn_cash_pay", "hifp_pay", "act_pay_dedc", "fund_pay_sumamt") == {
            "acct_pay": D(yuan), "psn_cash_pay": D("0.00"), "hifp_pay": D("0.00"), "act_pay_dedc": D("0.00"),
            "fund_pay_sumamt": D("0.00")}, n
    assert personal_balance_fen(psn) == 10_280

    fourth = settle(client, CQ_PHARMACY, psn, "120.00", on="2026-04-20")
    assert money(fourth, *SPLIT) == {
        "medfee_sumamt": D("120.00"), "inscp_scp_amt": D("120.00"), "act_pay_dedc": D("17.20"),
        "hifp_pay": D("0.00"), "pool_prop_selfpay": D("0.00"), "hifob_pay": D("0.00"), "hifmi_pay": D("0.00"),
        "cvlserv_pay": D("0.00"), "maf_pay": D("0.00"), "fund_pay_sumamt": D("0.00"), "psn_part_amt": D("120.00"),
        "acct_pay": D("102.80"), "psn_cash_pay": D("17.20"), "balc": D("0.00")}

    fifth = settle(client, CQ_LEVEL2, psn, "1000.00", on="2026-05-06", med_type="11")
    assert money(fifth, *SPLIT) == {
        "medfee_sumamt": D("1000.00"), "inscp_scp_amt": D("1000.00"), "act_pay_dedc": D("50.00"),
        "hifp_pay": D("807.50"), "pool_prop_selfpay": D("142.50"), "hifob_pay": D("0.00"), "hifmi_pay": D("0.00"),
        "cvlserv_pay": D("0.00"), "maf_pay": D("0.00"), "fund_pay_sumamt": D("807.50"), "psn_part_amt": D("192.50"),
        "acct_pay": D("0.00"), "psn_cash_pay": D("192.50"), "balc": D("0.00")}
    assert nonzero(counters(psn, 2026)) == {"eligible_cost_fen": 135_000, "deductible_paid_fen": 6_720,
                                            "fund_paid_fen": 80_750}
    # The basic fund paid from the region's employee pool.
    assert LedgerAccount.objects.get(kind="pooled_fund", owner="500100-310").balance_fen == -80_750
    assert ledger_discrepancies() == []


def test_cash_after_account_basis_starts_the_pooled_stage_later(client, chongqing):
    """The same person and bills under the Shanghai-style basis (cash paid after the account):
    the only change to 500100's employee policy is deductible_basis = cash_after_account
    (a test region 500199 holds it).

    Bills 1-3: the account pays 230.00; no cash, so nothing counts toward the deductible.
    Bill 4 (120): account 102.80, cash 17.20 -> act_pay_dedc 17.20 (same as cumulative_cost).
    Bill 5 (1000 at level 2): 400 − 17.20 = 382.80 of deductible is still owed, so
    act_pay_dedc = 382.80 (cumulative_cost: 50.00); pooled part 1000 − 382.80 = 617.20 ×
    85 % = 524.62 (cumulative_cost: 807.50); pool_prop_selfpay 92.58; cash 475.38."""
    region_register("500199", "重庆测试区", "重庆市")
    params = next(p.params for p in DATA.policies if (p.region, p.insutype) == ("500100", "310"))
    policy_load({"region": "500199", "insutype": "310", "version": 1, "effective_from": "2026-01-01",
                 "params": {**params, "deductible_basis": "cash_after_account"}})
    institution_register(code="P50019900001", name="测试药店", kind="pharmacy", level="9", region="500199")
    institution_register(code="H50019900002", name="测试二级医院", kind="hospital", level="2", region="500199")
    person, _ = person_enrol(name="陈国强", id_number=idnumber.make("500100", dt.date(1985, 3, 12), 51),
                             insutype="310", region="500199", employer="重庆长江航运有限公司")
    personal_account_credit(person.psn_no, 33_280, "opening")
    for yuan, on in [("80.00", "2026-03-01"), ("100.00", "2026-03-15"), ("50.00", "2026-04-02")]:
        settle(client, "P50019900001", person.psn_no, yuan, on=on)
    fourth = settle(client, "P50019900001", person.psn_no, "120.00", on="2026-04-20")
    assert money(fourth, "acct_pay", "act_pay_dedc", "psn_cash_pay", "hifp_pay") == {
        "acct_pay": D("102.80"), "act_pay_dedc": D("17.20"), "psn_cash_pay": D("17.20"), "hifp_pay": D("0.00")}
    fifth = settle(client, "H50019900002", person.psn_no, "1000.00", on="2026-05-06", med_type="11")
    assert money(fifth, "act_pay_dedc", "hifp_pay", "pool_prop_selfpay", "fund_pay_sumamt", "acct_pay",
                 "psn_cash_pay") == {
        "act_pay_dedc": D("382.80"), "hifp_pay": D("524.62"), "pool_prop_selfpay": D("92.58"),
        "fund_pay_sumamt": D("524.62"), "acct_pay": D("0.00"), "psn_cash_pay": D("475.38")}
    assert nonzero(counters(person.psn_no, 2026)) == {"eligible_cost_fen": 135_000, "deductible_paid_fen": 40_000,
                                                      "fund_paid_fen": 52_462}


# --- the bill's date: policy version and policy year ---------------------------------------------

STANDARD = {
    "model": "standard",
    "deductible_fen": {"1": 30000, "2": 60000, "3": 90000, "9": 0},
    "bands": [{"upto_fen": None, "ratio_permille": {"1": 900, "2": 850, "3": 800, "9": 700}}],
    "annual_ceiling_fen": 40000000,
    "account_may_pay_self_part": False,
}


@pytest.fixture
def beijing(drug):
    region_register("110100", "北京市", "北京市")
    institution_register(code="P11010000009", name="北京同仁堂药店", kind="pharmacy", level="9", region="110100")
    institution_register(code="H11010000008", name="北京社区卫生服务中心", kind="hospital", level="1", region="110100")
    person, _ = person_enrol(name="王芳", id_number=idnumber.make("110105", dt.date(1980, 1, 1), 22), insutype="310", region="110100",
                             employer="北京恒信科技有限公司")
    return person


def test_policy_version_in_force_on_the_bill_date(client, beijing):
    policy_load([{"region": "110100", "insutype": "310", "version": 1, "effective_from": "2026-01-01",
                  "params": STANDARD},
                 {"region": "110100", "insutype": "310", "version": 2, "effective_from": "2026-07-01",
                  "params": {**STANDARD, "bands": [{"upto_fen": None,
                                                    "ratio_permille": {"1": 900, "2": 850, "3": 800, "9": 800}}]}}])
    before = settle(client, "P11010000009", beijing.psn_no, "100.00", on="2026-06-30")
    after = settle(client, "P11010000009", beijing.psn_no, "100.00", on="2026-07-02")
    assert (before["hifp_pay"], after["hifp_pay"]) == (D("70.00"), D("80.00"))  # v1 70 %, v2 80 %

    answer = send(client, "2102", bill(beijing.psn_no, "100.00", on="2025-12-31"), "P11010000009")
    assert answer["infcode"] == InfCode.POLICY_MISSING
    assert answer["err_msg"] == "就诊日期 2025-12-31 早于参保地该险种首个待遇政策的生效日期"
    assert Settlement.objects.count() == 2


def test_a_bill_dated_in_the_future_is_refused(client, beijing):
    policy_load({"region": "110100", "insutype": "310", "version": 1, "effective_from": "2026-01-01",
                 "params": STANDARD})
    later = (timezone.localdate() + dt.timedelta(days=3)).isoformat()
    answer = send(client, "2101", bill(beijing.psn_no, "100.00", on=later), "P11010000009")
    assert answer["infcode"] == InfCode.INPUT_INVALID
    assert answer["err_msg"] == f"就诊开始时间 begntime {later} 晚于当前日期，不能结算"
    tomorrow = (timezone.localdate() + dt.timedelta(days=1)).isoformat()  # clocks differ: one day is allowed
    assert send(client, "2101", bill(beijing.psn_no, "100.00", on=tomorrow), "P11010000009")["infcode"] == 0


def test_the_policy_year_boundary_resets_the_counters(client, beijing):
    """Level-1 deductible 300 yuan. A calendar policy year: the bill of 2025-12-31 and the one of
    2026-01-01 land in rows 2025 and 2026, each owes the deductible. (Dates before today: a
    bill dated in the future is refused.)"""
    policy_load({"region": "110100", "insutype": "310", "version": 1, "effective_from": "2025-01-01",
                 "params": STANDARD})
    old = settle(client, "H11010000008", beijing.psn_no, "500.00", on="2025-12-31", med_type="11")
    new = settle(client, "H11010000008", beijing.psn_no, "500.00", on="2026-01-01", med_type="11")
    assert (old["act_pay_dedc"], old["hifp_pay"]) == (D("300.00"), D("180.00"))
    assert (new["act_pay_dedc"], new["hifp_pay"]) == (D("300.00"), D("180.00"))
    assert nonzero(counters(beijing.psn_no, 2025)) == nonzero(counters(beijing.psn_no, 2026)) == {
        "eligible_cost_fen": 50_000, "deductible_paid_fen": 30_000, "fund_paid_fen": 18_000}
    assert sorted(Settlement.objects.values_list("accumulator_year", flat=True)) == [2025, 2026]


def test_year_start_moves_the_boundary(client, beijing):
    """year_start 07-01: 2025-12-31 and 2026-01-01 are in the same policy year (2025, row 2025):
    the second bill owes no deductible; 2026-07-01 starts policy year 2026, owed again."""
    policy_load({"region": "110100", "insutype": "310", "version": 1, "effective_from": "2025-01-01",
                 "params": {**STANDARD, "year_start": "07-01"}})
    first = settle(client, "H11010000008", beijing.psn_no, "500.00", on="2025-12-31", med_type="11")
    second = settle(client, "H11010000008", beijing.psn_no, "500.00", on="2026-01-01", med_type="11")
    third = settle(client, "H11010000008", beijing.psn_no, "500.00", on="2026-07-01", med_type="11")
    assert [(s["act_pay_dedc"], s["hifp_pay"]) for s in (first, second, third)] == [
        (D("300.00"), D("180.00")), (D("0.00"), D("450.00")), (D("300.00"), D("180.00"))]
    assert nonzero(counters(beijing.psn_no, 2025)) == {"eligible_cost_fen": 100_000, "deductible_paid_fen": 30_000,
                                                       "fund_paid_fen": 63_000}
    assert nonzero(counters(beijing.psn_no, 2026)) == {"eligible_cost_fen": 50_000, "deductible_paid_fen": 30_000,
                                                       "fund_paid_fen": 18_000}


# --- outpatient pooling, retirees (320100 employees) ---------------------------------------------


def test_outpatient_and_inpatient_counters_are_kept_apart(client, nanjing):
    """320100 employees (in service): outpatient deductible 700, level-2 outpatient ratio 60 %,
    level-9 50 %; inpatient level-2 deductible 600, ratio 88 %.

    1. H level 2, med_type 11, 1000: outpatient: dedc 700, fund 300 × 60 % = 180.00.
    2. H level 2, med_type 21 (inpatient), 1000: dedc 600, fund 400 × 88 % = 352.00; the
       outpatient counters do not move.
    3. P32010000002 (not designated for outpatient pooling), 100: no pooling at all, fund 0,
       the 100.00 is pool_prop_selfpay; no counter moves.
    4. P32010000001 (designated), 100: outpatient deductible already met: 100 × 50 % = 50.00."""
    person, _ = person_enrol(name="李文博", id_number=idnumber.make("320100", dt.date(1988, 2, 2), 71),
                             insutype="310", region="320100", employer="南京软件有限公司")
    psn = person.psn_no
    first = settle(client, NJ_LEVEL2, psn, "1000.00", on="2026-02-01", med_type="11")
    assert money(first, "act_pay_dedc", "hifp_pay", "pool_prop_selfpay") == {
        "act_pay_dedc": D("700.00"), "hifp_pay": D("180.00"), "pool_prop_selfpay": D("120.00")}
    assert nonzero(counters(psn, 2026)) == {"outpatient_eligible_cost_fen": 100_000,
                                            "outpatient_deductible_paid_fen": 70_000,
                                            "outpatient_fund_paid_fen": 18_000}
    second = settle(client, NJ_LEVEL2, psn, "1000.00", on="2026-02-10", med_type="21")
    assert money(second, "act_pay_dedc", "hifp_pay", "pool_prop_selfpay") == {
        "act_pay_dedc": D("600.00"), "hifp_pay": D("352.00"), "pool_prop_selfpay": D("48.00")}
    after_inpatient = {"outpatient_eligible_cost_fen": 100_000, "outpatient_deductible_paid_fen": 70_000,
                       "outpatient_fund_paid_fen": 18_000, "eligible_cost_fen": 100_000,
                       "deductible_paid_fen": 60_000, "fund_paid_fen": 35_200}
    assert nonzero(counters(psn, 2026)) == after_inpatient
    plain = settle(client, NJ_PLAIN_PHARMACY, psn, "100.00", on="2026-02-11")
    assert money(plain, "act_pay_dedc", "hifp_pay", "pool_prop_selfpay", "fund_pay_sumamt") == {
        "act_pay_dedc": D("0.00"), "hifp_pay": D("0.00"), "pool_prop_selfpay": D("100.00"),
        "fund_pay_sumamt": D("0.00")}
    assert nonzero(counters(psn, 2026)) == after_inpatient
    pooled = settle(client, NJ_POOLING_PHARMACY, psn, "100.00", on="2026-02-12")
    assert money(pooled, "act_pay_dedc", "hifp_pay", "pool_prop_selfpay") == {
        "act_pay_dedc": D("0.00"), "hifp_pay": D("50.00"), "pool_prop_selfpay": D("50.00")}
    assert nonzero(counters(psn, 2026)) == {**after_inpatient, "outpatient_eligible_cost_fen": 110_000,
                                            "outpatient_fund_paid_fen": 23_000}


def test_retiree_and_in_service_ratios(client, nanjing):
    """The same bills for an in-service employee and the retiree 吴桂兰 (psn_type 21):
    outpatient at level 2, 1000: in service dedc 700, 300 × 60 % = 180.00; retired dedc 500,
    500 × 70 % = 350.00. Inpatient at level 2, 1000: dedc 600 for both; 400 × 88 % = 352.00
    in service, 400 × 93 % (the band's retired_ratio_permille) = 372.00 retired."""
    worker, _ = person_enrol(name="李文博", id_number=idnumber.make("320100", dt.date(1988, 2, 2), 71),
                             insutype="310", region="320100", employer="南京软件有限公司")
    results = {}
    for psn in (worker.psn_no, NJ_RETIREE):
        outpatient = settle(client, NJ_LEVEL2, psn, "1000.00", on="2026-03-01", med_type="11")
        inpatient = settle(client, NJ_LEVEL2, psn, "1000.00", on="2026-03-02", med_type="21")
        results[psn] = [(s["psn_type"], s["act_pay_dedc"], s["hifp_pay"]) for s in (outpatient, inpatient)]
    assert results == {
        worker.psn_no: [("11", D("700.00"), D("180.00")), ("11", D("600.00"), D("352.00"))],
        NJ_RETIREE: [("21", D("500.00"), D("350.00")), ("21", D("600.00"), D("372.00"))],
    }


# --- supplementary funds, their ledger accounts, reversal -------------------------------------------


def pool_balances() -> dict:
    return dict(LedgerAccount.objects.filter(kind="pooled_fund").values_list("owner", "balance_fen"))


def test_settle_then_reverse_restores_every_counter_and_balance(client, nanjing):
    """The civil servant 孙立新 (cvlserv): an outpatient bill (outpatient counters, cvlserv
    counters) and an inpatient bill of 400 000 yuan past the basic ceiling (main, hifob and
    cvlserv counters). Each supplementary fund pays from its own ledger account
    (320100-330100 大额补助, 320100-320100 公务员补助). Reversing both (newest first) brings every
    counter and every balance back exactly, and the 2103 answer carries each fund negated."""
    psn = NJ_CIVIL_SERVANT
    balances_before = pool_balances()
    opening = personal_balance_fen(psn)
    assert counters(psn, 2026) == dict.fromkeys(engine.COUNTERS, 0)

    small = send(client, "2102", bill(psn, "2000.00", on="2026-04-01", med_type="11"), NJ_LEVEL2)
    assert small["infcode"] == 0, small
    after_small = counters(psn, 2026)
    assert after_small["outpatient_eligible_cost_fen"] == 200_000 and after_small["cvlserv_base_fen"] > 0
    assert after_small["eligible_cost_fen"] == 0

    big = send(client, "2102", bill(psn, "400000.00", on="2026-04-05", med_type="21"), NJ_LEVEL3)
    assert big["infcode"] == 0, big
    info = big["output"]["setlinfo"]
    assert info["hifp_pay"] == D("300000.00")  # the basic annual ceiling
    assert info["hifob_pay"] > 0 and info["cvlserv_pay"] > 0
    assert info["fund_pay_sumamt"] == info["hifp_pay"] + info["hifob_pay"] + info["cvlserv_pay"]
    assert info["fund_pay_sumamt"] + info["acct_pay"] + info["acct_mulaid_pay"] + info["psn_cash_pay"] == \
        info["medfee_sumamt"]
    after_big = counters(psn, 2026)
    assert after_big["hifob_paid_fen"] == int(info["hifob_pay"] * 100)
    assert after_big["cvlserv_paid_fen"] - after_small["cvlserv_paid_fen"] == int(info["cvlserv_pay"] * 100)
    # The posting: one line per fund that paid, from its own account.
    settlement = Settlement.objects.get(setl_id=info["setl_id"])
    lines = {(e.account.kind, e.account.owner): e.amount_fen for e in
             Entry.objects.filter(posting=settlement.posting).select_related("account")}
    assert lines[("pooled_fund", "320100-310")] == -int(info["hifp_pay"] * 100)
    assert lines[("pooled_fund", "320100-330100")] == -int(info["hifob_pay"] * 100)
    assert lines[("pooled_fund", "320100-320100")] == -int(info["cvlserv_pay"] * 100)
    assert sum(lines.values()) == 0
    assert set(settlement.deltas) == set(engine.COUNTERS)
    details = {row["fund_pay_type"]: row["fund_payamt"] for row in big["output"]["setldetail"]}
    assert details == {"310100": info["hifp_pay"], "330100": info["hifob_pay"], "320100": info["cvlserv_pay"]}

    undo_big = send(client, "2103", {"data": {"setl_id": info["setl_id"], "psn_no": psn}}, NJ_LEVEL3)
    assert undo_big["infcode"] == 0, undo_big
    back = undo_big["output"]["setlinfo"]
    assert (back["hifob_pay"], back["cvlserv_pay"], back["hifp_pay"], back["fund_pay_sumamt"]) == (
        -info["hifob_pay"], -info["cvlserv_pay"], -info["hifp_pay"], -info["fund_pay_sumamt"])
    assert {row["fund_pay_type"]: row["fund_payamt"] for row in undo_big["output"]["setldetail"]} == {
        code: -amount for code, amount in details.items()}
    assert counters(psn, 2026) == after_small

    undo_small = send(client, "2103", {"data": {"setl_id": small["output"]["setlinfo"]["setl_id"]}}, NJ_LEVEL2)
    assert undo_small["infcode"] == 0, undo_small
    assert counters(psn, 2026) == dict.fromkeys(engine.COUNTERS, 0)
    assert personal_balance_fen(psn) == opening
    assert {owner: value for owner, value in pool_balances().items() if value} == \
        {owner: value for owner, value in balances_before.items() if value}
    assert ledger_discrepancies() == []


def test_an_older_settlement_record_without_the_new_counters_reverses(client, nanjing):
    """A settlement stored before issue #12 kept only the three main counters: reversing it takes
    those back and counts every other counter as 0."""
    psn = NJ_RETIREE
    answer = send(client, "2102", bill(psn, "1000.00", on="2026-04-01", med_type="21"), NJ_LEVEL2)
    settlement = Settlement.objects.get(setl_id=answer["output"]["setlinfo"]["setl_id"])
    settlement.deltas = {name: settlement.deltas[name] for name in ("eligible_cost_fen", "deductible_paid_fen",
                                                                    "fund_paid_fen")}
    settlement.save(update_fields=["deltas"])
    assert send(client, "2103", {"data": {"setl_id": settlement.setl_id}}, NJ_LEVEL2)["infcode"] == 0
    assert counters(psn, 2026) == dict.fromkeys(engine.COUNTERS, 0)


def test_medical_assistance_pays_only_for_an_identity_held_on_the_bill_date(client, nanjing):
    """320100 residents, inpatient at level 2, 1000 yuan: deductible 500, basic 500 × 65 % = 325.00,
    pool_prop_selfpay 175.00; the personal burden 675.00 is below 大病保险's 15 000 deductible
    (hifmi 0, its base counter takes the 675.00); medical assistance (identities 2101, 2201; no
    deductible; 70 %) pays 675.00 × 70 % = 472.50 for 钱大勇 (2101 特困供养人员, open-ended):
    fund 797.50, cash 202.50. 赵秀英's 2201 identity ended 2025-12-31: no assistance, cash 675.00."""
    tekun = settle(client, NJ_LEVEL2, NJ_TEKUN, "1000.00", on="2026-05-01", med_type="21", insutype="390")
    former = settle(client, NJ_LEVEL2, NJ_FORMER_DIBAO, "1000.00", on="2026-05-01", med_type="21", insutype="390")
    assert money(tekun, "act_pay_dedc", "hifp_pay", "pool_prop_selfpay", "hifmi_pay", "maf_pay", "fund_pay_sumamt",
                 "psn_cash_pay") == {
        "act_pay_dedc": D("500.00"), "hifp_pay": D("325.00"), "pool_prop_selfpay": D("175.00"),
        "hifmi_pay": D("0.00"), "maf_pay": D("472.50"), "fund_pay_sumamt": D("797.50"), "psn_cash_pay": D("202.50")}
    assert money(former, "hifp_pay", "maf_pay", "fund_pay_sumamt", "psn_cash_pay") == {
        "hifp_pay": D("325.00"), "maf_pay": D("0.00"), "fund_pay_sumamt": D("325.00"), "psn_cash_pay": D("675.00")}
    assert nonzero(counters(NJ_TEKUN, 2026)) == {
        "eligible_cost_fen": 100_000, "deductible_paid_fen": 50_000, "fund_paid_fen": 32_500,
        "hifmi_base_fen": 67_500, "hifmi_deductible_paid_fen": 67_500, "maf_base_fen": 67_500,
        "maf_paid_fen": 47_250}
    assert pool_balances()["320100-610100"] == -47_250
    check = send(client, "2001", {"data": {"psn_no": NJ_TEKUN, "insutype": "390"}}, NJ_LEVEL2)
    assert [(r["fund_pay_type"], r["trt_enjymnt_flag"]) for r in check["output"]["trtinfo"]] == [
        ("390100", "1"), ("390200", "1"), ("610100", "1")]
    check = send(client, "2001", {"data": {"psn_no": NJ_FORMER_DIBAO, "insutype": "390"}}, NJ_LEVEL2)
    assert [(r["fund_pay_type"], r["trt_enjymnt_flag"]) for r in check["output"]["trtinfo"]] == [
        ("390100", "1"), ("390200", "1"), ("610100", "0")]
    assert check["output"]["trtinfo"][2]["trt_chk_rslt"].startswith("无医疗救助对象身份")


def test_1101_answers_identities_and_the_civil_servant_flag(client, nanjing):
    from tests.support.national_schema import OUT_1101, assert_conforms

    def info(psn_no):
        answer = send(client, "1101", {"data": {"mdtrt_cert_type": "99", "mdtrt_cert_no": psn_no}}, NJ_LEVEL2)
        assert answer["infcode"] == 0, answer
        assert_conforms(answer["output"], OUT_1101)
        return answer["output"]

    assert info(NJ_TEKUN)["idetinfo"] == [{"psn_idet_type": "2101", "psn_type_lv": "", "memo": "特困供养人员",
                                           "begntime": "2024-01-01 00:00:00", "endtime": ""}]
    assert info(NJ_FORMER_DIBAO)["idetinfo"][0]["endtime"] == "2025-12-31 23:59:59"
    assert info(NJ_CIVIL_SERVANT)["insuinfo"][0]["cvlserv_flag"] == "1"
    assert info(NJ_RETIREE)["insuinfo"][0]["cvlserv_flag"] == "0" and info(NJ_RETIREE)["idetinfo"] == []
    settled = settle(client, NJ_LEVEL2, NJ_CIVIL_SERVANT, "100.00", on="2026-05-02", med_type="11")
    assert settled["cvlserv_flag"] == "1"


def test_operator_commands_set_the_flags_and_identities(nanjing):
    call_command("core_register_institution", code="P32010000009", name="南京门诊统筹药店", kind="pharmacy",
                 level="9", region="320100", outpatient_pooling=True)
    assert Institution.objects.get(fixmedins_code="P32010000009").outpatient_pooling is True
    call_command("core_person_benefits", psn_no=NJ_RETIREE, cvlserv="1", identity="2201", begin="2026-01-01",
                 end="2026-12-31", memo="低保")
    assert InsuredPerson.objects.get(psn_no=NJ_RETIREE).cvlserv_flag is True
    row = PersonIdentity.objects.get(psn_no=NJ_RETIREE)
    assert (row.psn_idet_type, row.begntime, row.endtime) == ("2201", dt.date(2026, 1, 1), dt.date(2026, 12, 31))
    with pytest.raises(CommandError, match="INVALID_INPUT: 人员身份类别 '9999' 不在本地区字典中"):
        call_command("core_person_benefits", psn_no=NJ_RETIREE, identity="9999", begin="2026-01-01")
    with pytest.raises(CommandError, match="INVALID_INPUT: 身份结束日期早于开始日期"):
        call_command("core_person_benefits", psn_no=NJ_RETIREE, identity="2101", begin="2026-02-01",
                     end="2026-01-01")
    with pytest.raises(CommandError, match="CONFLICT"):
        call_command("core_person_benefits", psn_no=NJ_RETIREE, identity="2201", begin="2026-01-01")


# --- bad policy files -----------------------------------------------------------------------------

GOOD = {**STANDARD, "supplements": [{"fund": "hifob", "basis": "over_basic_ceiling", "deductible_fen": 0,
                                     "bands": [{"upto_fen": None, "ratio_permille": 800}],
                                     "annual_ceiling_fen": 5000000}]}
BAD_POLICIES = {
    "unknown_fund": ({**GOOD, "supplements": [{**GOOD["supplements"][0], "fund": "bogus"}]}, "未知基金 'bogus'"),
    "overlapping_bands": ({**STANDARD, "bands": [
        {"upto_fen": 500000, "ratio_permille": {"1": 900, "2": 850, "3": 800, "9": 700}},
        {"upto_fen": 400000, "ratio_permille": {"1": 900, "2": 850, "3": 800, "9": 700}},
        {"upto_fen": None, "ratio_permille": {"1": 900, "2": 850, "3": 800, "9": 700}}]}, "各档不得重叠"),
    "supplement_bands_overlap": ({**GOOD, "supplements": [{**GOOD["supplements"][0], "bands": [
        {"upto_fen": 500000, "ratio_permille": 800}, {"upto_fen": 500000, "ratio_permille": 900},
        {"upto_fen": None, "ratio_permille": 900}]}]}, "（hifob）.bands[1].upto_fen"),
    "ratio_above_1000": ({**STANDARD, "bands": [
        {"upto_fen": None, "ratio_permille": {"1": 1001, "2": 850, "3": 800, "9": 700}}]}, "不超过100%），实为 1001"),
    "supplement_ratio_above_1000": ({**GOOD, "supplements": [{**GOOD["supplements"][0], "bands": [
        {"upto_fen": None, "ratio_permille": 1200}]}]}, "不超过100%），实为 1200"),
    "ceiling_below_deductible": ({**STANDARD, "annual_ceiling_fen": 50000}, "不得低于起付线 deductible_fen.3"),
    "supplement_ceiling_below_deductible": ({**GOOD, "supplements": [{**GOOD["supplements"][0],
                                                                      "deductible_fen": 6000000}]},
                                            "（hifob）.annual_ceiling_fen（5000000）不得低于起付线"),
    "hifmi_for_employees": ({**GOOD, "supplements": [{**GOOD["supplements"][0], "fund": "hifmi"}]}, "只适用于险种 390"),
}


@pytest.mark.parametrize("case", sorted(BAD_POLICIES))
def test_bad_policy_files_are_refused_and_nothing_is_loaded(case, tmp_path, beijing):
    params, fragment = BAD_POLICIES[case]
    entries = [{"region": "110100", "insutype": "390", "version": 1, "effective_from": "2026-01-01",
                "params": {**STANDARD, "account_may_pay_self_part": False}},  # a good entry alongside
               {"region": "110100", "insutype": "310", "version": 1, "effective_from": "2026-01-01",
                "params": params}]
    with pytest.raises(InvalidInput) as refused:
        policy_load(entries)
    assert refused.value.code == "INVALID_INPUT"
    assert refused.value.message.startswith("政策参数 110100/310/v1 无效：") and fragment in refused.value.message
    path = tmp_path / "policy.json"
    path.write_text(json.dumps({"policies": entries}, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(CommandError) as failed:
        call_command("core_load_policy", str(path))
    assert str(failed.value).startswith("INVALID_INPUT: 政策参数 110100/310/v1 无效：") and fragment in str(failed.value)
    assert not PolicyParameters.objects.exists()


def test_the_demo_policy_forms_load_and_validate():
    """Every demo policy passes the one validator with its insutype (the seed loads them)."""
    for policy in DATA.policies:
        assert engine.params_errors(policy.params, insutype=policy.insutype) == [], (policy.region, policy.insutype)
    forms = {(p.region, p.insutype): p.params for p in DATA.policies if p.region in {"500100", "320100"}}
    assert forms[("500100", "310")]["deductible_basis"] == "cumulative_cost"
    assert forms[("500100", "310")]["deductible_fen"] == {"1": 40_000, "2": 40_000, "3": 40_000, "9": 40_000}
    assert forms[("500100", "390")]["deductible_basis"] == "cash_after_account"
    assert "outpatient" in forms[("320100", "310")]
    assert {s["fund"] for s in forms[("320100", "310")]["supplements"]} == {"hifob", "cvlserv"}
    assert {s["fund"] for s in forms[("320100", "390")]["supplements"]} == {"hifmi", "maf"}


# --- property: any bill of the 320100 forms, settled then reversed ------------------------------------

NJ_INSTITUTIONS = [NJ_POOLING_PHARMACY, NJ_PLAIN_PHARMACY, NJ_LEVEL2, NJ_LEVEL3, "H32010000005"]


def _everything(psn_no) -> tuple:
    rows = AnnualAccumulator.objects.filter(psn_no=psn_no)
    return (personal_balance_fen(psn_no), {r.year: tuple(getattr(r, n) for n in engine.COUNTERS) for r in rows
                                           if any(getattr(r, n) for n in engine.COUNTERS)},
            {owner: value for owner, value in pool_balances().items() if value})


@given(psn=st.sampled_from([(NJ_CIVIL_SERVANT, "310"), (NJ_RETIREE, "310"), (NJ_TEKUN, "390")]),
       institution=st.sampled_from(NJ_INSTITUTIONS), med_type=st.sampled_from(["11", "21", "41", "52"]),
       fen=st.integers(1, 60_000_000), day=st.sampled_from(["2026-02-01", "2026-08-15"]),
       earlier=st.integers(0, 40_000_000))
@hsettings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_bill_settled_then_reversed_restores_every_counter_and_fund(client, nanjing, psn, institution,
                                                                        med_type, fen, day, earlier):
    """Over the employee (outpatient pooling, hifob, cvlserv) and resident (hifmi, maf) forms, with
    an earlier bill already counted: the parts sum to the total, each fund's ledger line is its
    setlinfo amount, and reversing restores the balance, every counter row and every fund."""
    psn_no, insutype = psn
    if earlier:
        first = send(client, "2102", bill(psn_no, f"{earlier / 100:.2f}", on="2026-01-20", med_type="21",
                                          insutype=insutype), NJ_LEVEL3)
        assert first["infcode"] == 0, first
    before = _everything(psn_no)
    answer = send(client, "2102", bill(psn_no, f"{fen / 100:.2f}", on=day, med_type=med_type, insutype=insutype),
                  institution)
    assert answer["infcode"] == 0, answer
    info = answer["output"]["setlinfo"]
    assert info["fund_pay_sumamt"] + info["acct_pay"] + info["acct_mulaid_pay"] + info["psn_cash_pay"] == \
        info["medfee_sumamt"]
    funds = {"hifp_pay": "320100-" + insutype, "hifob_pay": "320100-330100", "hifmi_pay": "320100-390200",
             "cvlserv_pay": "320100-320100", "maf_pay": "320100-610100"}
    assert info["fund_pay_sumamt"] == sum(info[name] for name in funds)
    lines = {e.account.owner: e.amount_fen for e in Entry.objects.filter(
        posting=Settlement.objects.get(setl_id=info["setl_id"]).posting, account__kind="pooled_fund").select_related(
        "account")}
    assert lines == {owner: -int(info[name] * 100) for name, owner in funds.items() if info[name]}
    undo = send(client, "2103", {"data": {"setl_id": info["setl_id"]}}, institution)
    assert undo["infcode"] == 0, undo
    assert _everything(psn_no) == before
    if earlier:
        send(client, "2103", {"data": {"setl_id": first["output"]["setlinfo"]["setl_id"]}}, NJ_LEVEL3)
    assert ledger_discrepancies() == []
