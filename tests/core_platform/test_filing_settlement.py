"""Issue #14 at the settlement core: cross-province filings held from the
wallet's events (9201) and their effect on 2101/2102, through the core's
envelope against a real database, with hand-worked examples.

Demo data (common/demodata.py, ``_cross_province``): 130100 石家庄市 (河北省)
employees at a pharmacy (level 9): no deductible, 80 % up to 50 000 yuan of
the year's eligible cost, 85 % above; level 3 hospital: deductible 900, 80 %.
Adjustments (the defaults, stated in its policy): long-term 0, referral and
emergency −10 points, other temporary −20 points; unfiled refused; 130600
保定市 (same province) local. Residents (390) at a pharmacy: 60 %, account not
for the self part. 210100 沈阳市: pharmacy 70 %, unfiled settled at the lowest
temporary ratio (other temporary −15 points), 210200 大连市 (same province)
needs a filing. 150100 呼和浩特市: not open.
"""

from __future__ import annotations

import itertools
import uuid
from decimal import Decimal as D

import pytest

from common import demodata
from common.envelope import InfCode
from core_platform.models import AnnualAccumulator, Filing, Posting, Settlement
from core_platform.services.demo import demo_seed
from core_platform.services.policy import policy_load
from core_platform.services.registry import person_enrol, region_register
from tests.core_platform.signing import call, envelope

pytestmark = pytest.mark.django_db(databases=["default", "core"])

P = demodata.DEMO_PERSONAS
FILER, RETIREE, RESIDENT = (P["cross_filer"].psn_no, P["cross_retiree"].psn_no, P["cross_resident"].psn_no)
LOWEST, NOT_OPEN = P["cross_lowest"].psn_no, P["cross_not_open"].psn_no
SZ_PHARMACY, SZ_HOSPITAL, CD_PHARMACY, WH_PHARMACY = "P44030000011", "H44030000012", "P51010000011", "P42010000011"
SJZ_PHARMACY, BD_PHARMACY, DL_PHARMACY, HHHT_PHARMACY = "P13010000001", "P13060000001", "P21020000001", "P15010000001"
PLAIN = "X00000002"  # 甲类, no price cap, in every region
REGIONS = {"130100", "130600", "210100", "210200", "150100", "440300", "510100", "420100"}
_msgids = itertools.count(1)
_sequences = itertools.count(1)


@pytest.fixture
def cross():
    demo_seed(regions=REGIONS)


def send(client, infno, input_, institution="YIBAO-WALLET"):
    return call(client, envelope(infno, input_, msgid=f"XF{next(_msgids):06d}", fixmedins_code=institution))


def event(client, psn_no, kind, payload):
    answer = send(client, "9201", {"events": [{"message_id": str(uuid.uuid4()), "person_key": psn_no,
                                               "sequence": next(_sequences), "kind": kind, "payload": payload}]})
    assert answer["infcode"] == 0, answer
    return answer["output"]["results"][0]


def file(client, psn_no, number, type_, dest, begin="2026-03-01", end=None, institutions=()):
    kinds = {"retired_resettled": "long_term", "long_term_residence": "long_term", "stationed_work": "long_term",
             "referral": "referral", "emergency": "emergency", "temporary_other": "temporary_other"}
    if end is None and kinds[type_] != "long_term":
        end = "2026-08-31"
    result = event(client, psn_no, "filing.created", {
        "filing_no": number, "psn_no": psn_no, "type": type_, "kind": kinds[type_], "basis": "commitment",
        "dest_admdvs": dest, "begin_date": begin, "end_date": end, "institutions": list(institutions),
        "referral": None})
    assert result["result"] == "applied", result


def bill(psn_no, lines, *, on="2026-03-10", med_type="41", insutype="310"):
    """``lines``: [(med_list_codg, unit price yuan, count)]."""
    details = [{"feedetl_sn": str(n), "med_list_codg": code, "pric": price, "cnt": str(cnt),
                "det_item_fee_sumamt": str(D(price) * cnt)} for n, (code, price, cnt) in enumerate(lines, 1)]
    total = str(sum(D(d["det_item_fee_sumamt"]) for d in details))
    return {"druginfo": {"psn_no": psn_no, "mdtrt_cert_type": "99", "mdtrt_cert_no": psn_no, "insutype": insutype,
                         "begntime": f"{on} 10:00:00", "medfee_sumamt": total, "acct_used_flag": "1",
                         "med_type": med_type},
            "drugdetail": details}


def settle(client, institution, psn_no, yuan="100.00", *, code=PLAIN, infno="2102", **kwargs):
    return send(client, infno, bill(psn_no, [(code, yuan, 1)], **kwargs), institution)


def money(answer, *names):
    assert answer["infcode"] == 0, answer
    info = answer["output"]["setlinfo"]
    return {name: info[name] for name in names}


SPLIT = ("medfee_sumamt", "inscp_scp_amt", "hifp_pay", "fund_pay_sumamt", "acct_pay", "psn_cash_pay")


def split(*values):
    return dict(zip(SPLIT, (D(v) for v in values)))


# --- each filing type against hand-worked examples --------------------------------------------------


def test_long_term_filing_settles_at_the_insured_regions_ratio_unadjusted(client, cross):
    """100.00 of an A-class drug at a Shenzhen pharmacy under 异地长期居住: 80 % + 0 points = 80.00 from the
    fund, the 20.00 left from the account (Hebei employees' account pays the self part)."""
    file(client, FILER, "BA13010020260301000001", "long_term_residence", "440300")
    answer = settle(client, SZ_PHARMACY, FILER)
    assert money(answer, *SPLIT) == split("100.00", "100.00", "80.00", "80.00", "20.00", "0.00")
    info = answer["output"]["setlinfo"]
    assert (info["trt_dcla_detl_sn"], info["filing_kind"], info["filing_name"], info["mdtrtarea_admvs"]) == (
        "BA13010020260301000001", "long_term", "异地长期居住", "440300")
    assert "异地就医：按异地长期居住结算（备案号BA13010020260301000001）；执行参保地政策、就医地目录，报销比例不作调整。" \
        in answer["output"]["explanation"]
    assert "异地就医备案：异地长期居住，备案号BA13010020260301000001" in \
        answer["output"]["setldetail"][0]["setl_proc_info"]
    stored = Settlement.objects.get(setl_id=info["setl_id"])
    assert stored.setlinfo["trt_dcla_detl_sn"] == "BA13010020260301000001"


def test_other_temporary_filing_lowers_the_ratio_by_20_points(client, cross):
    """The same bill in Chengdu under 其他临时外出: 80 % − 20 points = 60 % → 60.00; 40.00 from the account."""
    file(client, FILER, "BA13010020260301000002", "temporary_other", "510100")
    answer = settle(client, CD_PHARMACY, FILER)
    assert money(answer, *SPLIT) == split("100.00", "100.00", "60.00", "60.00", "40.00", "0.00")
    assert any("按其他临时外出结算（备案号BA13010020260301000002）" in line and "报销比例−20个百分点" in line
               for line in answer["output"]["explanation"])


def test_referral_filing_covers_only_the_receiving_institutions(client, cross):
    """异地转诊转院 to 深圳市人民医院 (level 3): 1000.00, deductible 900.00, the 100.00 above it at
    80 % − 10 points = 70 % → 70.00; the retiree's account pays the other 930.00. The same person at a
    Shenzhen pharmacy the referral does not name: not filed, refused."""
    file(client, RETIREE, "BA13010020260301000003", "referral", "440300", institutions=[SZ_HOSPITAL])
    answer = settle(client, SZ_HOSPITAL, RETIREE, "1000.00", med_type="11")
    assert money(answer, *SPLIT, "act_pay_dedc") == {**split("1000.00", "1000.00", "70.00", "70.00", "930.00", "0.00"),
                                                     "act_pay_dedc": D("900.00")}
    assert answer["output"]["setlinfo"]["filing_kind"] == "referral"
    refused = settle(client, SZ_PHARMACY, RETIREE)
    assert refused["infcode"] == InfCode.NOT_FILED == 4011


def test_emergency_counts_as_filed_without_a_filing(client, cross):
    """med_type 13 (急诊) in Wuhan, no filing: a resident (390) at a pharmacy, 60 % − 10 points = 50 % →
    50.00; residents' accounts do not pay the self part → 50.00 cash."""
    answer = settle(client, WH_PHARMACY, RESIDENT, med_type="13", insutype="390")
    assert money(answer, *SPLIT) == split("100.00", "100.00", "50.00", "50.00", "0.00", "50.00")
    info = answer["output"]["setlinfo"]
    assert (info["trt_dcla_detl_sn"], info["filing_kind"]) == ("", "emergency")
    assert any("按急诊抢救结算（无需事先备案）" in line and "−10个百分点" in line
               for line in answer["output"]["explanation"])


def test_the_most_favourable_covering_filing_is_used(client, cross):
    """A long-term filing to the whole province of 广东 (440000) and an emergency visit in Shenzhen: the
    long-term filing (0 points) beats emergency without a filing (−10 points) → 80.00."""
    file(client, FILER, "BA13010020260301000004", "stationed_work", "440000")
    answer = settle(client, SZ_PHARMACY, FILER, med_type="13")
    assert money(answer, "hifp_pay")["hifp_pay"] == D("80.00")
    assert answer["output"]["setlinfo"]["trt_dcla_detl_sn"] == "BA13010020260301000004"


def test_ratio_adjustment_is_applied_at_the_band_level(client, cross):
    """49 900.00 of eligible cost already this year, then 200.00 under 其他临时外出: the first 100.00 in
    band 1 at 80 − 20 = 60 % (60.00), the next 100.00 in band 2 at 85 − 20 = 65 % (65.00) → 125.00.
    (One ratio for the whole bill would give 120.00 or 130.00.)"""
    AnnualAccumulator.objects.create(psn_no=FILER, year=2026, eligible_cost_fen=4_990_000)
    file(client, FILER, "BA13010020260301000005", "temporary_other", "510100")
    answer = settle(client, CD_PHARMACY, FILER, "200.00")
    assert money(answer, *SPLIT) == split("200.00", "200.00", "125.00", "125.00", "75.00", "0.00")


def test_adjustment_is_bounded_at_zero(client, cross):
    """A region (130900) whose pharmacy ratio is 15 %: other temporary −20 points → max(0, −5 %) = 0:
    nothing from the fund, the account pays it all; long-term keeps 15 % → 15.00."""
    region_register("130900", "沧州市", "河北省")
    params = {"model": "standard", "deductible_fen": {"1": 0, "2": 0, "3": 0, "9": 0},
              "bands": [{"upto_fen": None, "ratio_permille": {"1": 150, "2": 150, "3": 150, "9": 150}}],
              "annual_ceiling_fen": 10_000_000, "account_may_pay_self_part": True}
    policy_load([{"region": "130900", "insutype": "310", "version": 1, "effective_from": "2026-01-01",
                  "params": params}])
    person, _ = person_enrol(name="韩立", id_number="130900198001010011", insutype="310", region="130900",
                           employer="沧州渤海化工有限公司")
    event(client, person.psn_no, "filing.created", {
        "filing_no": "BA13090020260301000001", "type": "temporary_other", "dest_admdvs": "510100",
        "begin_date": "2026-03-01", "end_date": "2026-08-31"})
    event(client, person.psn_no, "filing.created", {
        "filing_no": "BA13090020260301000002", "type": "long_term_residence", "dest_admdvs": "440300",
        "begin_date": "2026-03-01", "end_date": None})
    zero = settle(client, CD_PHARMACY, person.psn_no, infno="2101")
    assert money(zero, "hifp_pay", "fund_pay_sumamt", "psn_part_amt") == {
        "hifp_pay": D("0.00"), "fund_pay_sumamt": D("0.00"), "psn_part_amt": D("100.00")}
    assert any("−20个百分点（调整后不低于0）" in line for line in zero["output"]["explanation"])
    kept = settle(client, SZ_PHARMACY, person.psn_no, infno="2101")
    assert money(kept, "hifp_pay")["hifp_pay"] == D("15.00")


def test_treatment_regions_catalogue_applies_at_its_institutions(client, cross):
    """X00000005 (national 乙类 20 %, cap 108.00; Shenzhen 甲类) at 100.00 and X00000011 (national 乙类 20 %,
    no cap; Shenzhen 乙类 10 %, cap 30.00) at 40.00. In Shenzhen: 100.00 eligible; 40 − 30 = 10.00 over the
    cap, 3.00 self-pay first, 27.00 eligible → 127.00 eligible, 80 % = 101.60. At home (石家庄, national
    terms): 20.00 + 8.00 self-pay first, 112.00 eligible, 80 % = 89.60."""
    file(client, FILER, "BA13010020260301000006", "long_term_residence", "440300")
    lines = [("X00000005", "100.00", 1), ("X00000011", "40.00", 1)]
    there = send(client, "2102", bill(FILER, lines), SZ_PHARMACY)
    assert money(there, "medfee_sumamt", "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt", "hifp_pay") == {
        "medfee_sumamt": D("140.00"), "overlmt_selfpay": D("10.00"), "preselfpay_amt": D("3.00"),
        "inscp_scp_amt": D("127.00"), "hifp_pay": D("101.60")}
    rows = {r["med_list_codg"]: r for r in there["output"]["detlcutinfo"]}
    assert (rows["X00000005"]["selfpay_prop"], rows["X00000011"]["selfpay_prop"]) == (D("0.0000"), D("0.1000"))
    assert rows["X00000011"]["pric_uplmt_amt"] == D("30.00")
    assert "就医地目录：按就医地深圳市（440300）的目录执行 — X00000005 甲类，最高支付限价108.00元；" \
           "X00000011 乙类先行自付10%，最高支付限价30.00元。" in there["output"]["explanation"]
    home = send(client, "2101", bill(FILER, lines), SJZ_PHARMACY)
    assert money(home, "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt", "hifp_pay") == {
        "overlmt_selfpay": D("0.00"), "preselfpay_amt": D("28.00"), "inscp_scp_amt": D("112.00"),
        "hifp_pay": D("89.60")}
    assert not any(line.startswith("就医地目录") for line in home["output"]["explanation"])


# --- unfiled, lower ratio, same province, not open ----------------------------------------------------


def test_unfiled_bill_in_another_province_is_refused_with_how_to_file(client, cross):
    before = Posting.objects.count()
    for infno in ("2101", "2102"):
        answer = settle(client, WH_PHARMACY, FILER, infno=infno)
        assert answer["infcode"] == InfCode.NOT_FILED
        assert answer["err_msg"].startswith("异地就医未备案，不能直接结算")
        assert "办理异地就医备案" in answer["err_msg"] and "补办" in answer["err_msg"]
    assert Posting.objects.count() == before and not Settlement.objects.filter(psn_no=FILER).exists()


def test_unfiled_bill_settles_at_the_lowest_ratio_where_the_insured_region_says_so(client, cross):
    """沈阳 (unfiled = lowest_ratio; other temporary −15 points, the lowest) at a Shenzhen pharmacy:
    70 % − 15 = 55 % → 55.00."""
    answer = settle(client, SZ_PHARMACY, LOWEST)
    assert money(answer, *SPLIT) == split("100.00", "100.00", "55.00", "55.00", "45.00", "0.00")
    info = answer["output"]["setlinfo"]
    assert (info["filing_kind"], info["trt_dcla_detl_sn"], info["filing_name"]) == ("unfiled", "", "异地就医未备案")
    assert any("未办理备案，参保地规定按最低的临时外出报销比例结算，报销比例−15个百分点" in line
               for line in answer["output"]["explanation"])


def test_same_province_rule_both_ways(client, cross):
    """河北 (same_province local): 保定 is settled as local — 80 %, no filing named. 辽宁 (same_province
    filed): 大连 needs a filing like another province — unfiled, so the lowest ratio (55 %)."""
    local = settle(client, BD_PHARMACY, FILER)
    assert money(local, "hifp_pay")["hifp_pay"] == D("80.00")
    assert "filing_kind" not in local["output"]["setlinfo"]
    assert not any("异地就医" in line for line in local["output"]["explanation"])
    filed = settle(client, DL_PHARMACY, LOWEST)
    assert money(filed, "hifp_pay")["hifp_pay"] == D("55.00")
    assert filed["output"]["setlinfo"]["filing_kind"] == "unfiled"
    # with a filing to 大连 the same bill is long-term: 70 % → 70.00
    event(client, LOWEST, "filing.created", {"filing_no": "BA21010020260301000001", "type": "stationed_work",
                                             "dest_admdvs": "210200", "begin_date": "2026-03-01"})
    assert money(settle(client, DL_PHARMACY, LOWEST), "hifp_pay")["hifp_pay"] == D("70.00")


def test_region_not_open_is_refused_even_with_a_filing(client, cross):
    event(client, NOT_OPEN, "filing.created", {"filing_no": "BA15010020260301000001", "type": "long_term_residence",
                                               "dest_admdvs": "440300", "begin_date": "2026-03-01"})
    answer = settle(client, SZ_PHARMACY, NOT_OPEN)
    assert answer["infcode"] == InfCode.CROSS_PROVINCE_NOT_OPEN == 4012
    assert answer["err_msg"].startswith("参保地尚未开通跨省异地就医直接结算")
    assert money(settle(client, HHHT_PHARMACY, NOT_OPEN), "hifp_pay")["hifp_pay"] == D("75.00")  # at home: fine


# --- life cycle: cancellation, late filing, validity ------------------------------------------------


def test_cancelled_filing_is_never_used_after_the_cancellation_is_applied(client, cross):
    file(client, FILER, "BA13010020260301000007", "long_term_residence", "440300")
    assert money(settle(client, SZ_PHARMACY, FILER), "hifp_pay")["hifp_pay"] == D("80.00")
    result = event(client, FILER, "filing.cancelled", {"filing_no": "BA13010020260301000007",
                                                        "cancelled_on": "2026-11-27"})
    assert result["result"] == "applied"
    # the same treatment date as the bill settled before: still not used
    for infno in ("2101", "2102"):
        assert settle(client, SZ_PHARMACY, FILER, infno=infno)["infcode"] == InfCode.NOT_FILED
    row = Filing.objects.get(filing_no="BA13010020260301000007")
    assert (row.status, str(row.cancelled_on)) == ("cancelled", "2026-11-27") and row.cancelled_at is not None
    # a change after the cancellation is refused, and the filing stays cancelled
    changed = event(client, FILER, "filing.changed", {"filing_no": "BA13010020260301000007",
                                                       "type": "long_term_residence", "dest_admdvs": "440300",
                                                       "begin_date": "2026-03-01"})
    assert changed["result"] == "error" and "cancelled" in changed["error"]
    assert settle(client, SZ_PHARMACY, FILER)["infcode"] == InfCode.NOT_FILED


def test_late_filing_before_settlement_counts(client, cross):
    """Treatment began on 2026-03-10 without a filing: refused. A filing made afterwards whose period
    begins on the treatment date (补办) covers the same bill; one beginning the day after does not."""
    assert settle(client, CD_PHARMACY, FILER, on="2026-03-10")["infcode"] == InfCode.NOT_FILED
    file(client, FILER, "BA13010020260311000001", "temporary_other", "510100", begin="2026-03-11")
    assert settle(client, CD_PHARMACY, FILER, on="2026-03-10")["infcode"] == InfCode.NOT_FILED
    file(client, FILER, "BA13010020260310000001", "temporary_other", "510100", begin="2026-03-10")
    answer = settle(client, CD_PHARMACY, FILER, on="2026-03-10")
    assert money(answer, "hifp_pay")["hifp_pay"] == D("60.00")
    assert answer["output"]["setlinfo"]["trt_dcla_detl_sn"] == "BA13010020260310000001"


def test_temporary_filing_past_its_end_date_no_longer_covers(client, cross):
    file(client, FILER, "BA13010020260301000008", "temporary_other", "510100", end="2026-03-31")
    assert money(settle(client, CD_PHARMACY, FILER, on="2026-03-31"), "hifp_pay")["hifp_pay"] == D("60.00")
    assert settle(client, CD_PHARMACY, FILER, on="2026-04-01")["infcode"] == InfCode.NOT_FILED


def test_change_of_destination_moves_the_cover(client, cross):
    file(client, FILER, "BA13010020260301000009", "long_term_residence", "440300")
    result = event(client, FILER, "filing.changed", {"filing_no": "BA13010020260301000009",
                                                      "type": "long_term_residence", "dest_admdvs": "510100",
                                                      "begin_date": "2026-03-01", "end_date": None})
    assert result["result"] == "applied"
    assert settle(client, SZ_PHARMACY, FILER)["infcode"] == InfCode.NOT_FILED
    assert money(settle(client, CD_PHARMACY, FILER), "hifp_pay")["hifp_pay"] == D("80.00")


def test_a_change_takes_effect_from_its_date_and_earlier_bills_keep_the_old_destination(client, cross):
    """异地长期居住 to 深圳 from 2026-03-01, moved to 成都 from 2026-06-01 (dest_since), then to the whole of
    广东 from 2026-09-01 (changed_on only). Each bill is covered by the destination in force on its own
    date — a bill dated before a change, settled after it, is still covered by the old destination — and
    by no other."""
    number = "BA13010020260301000010"
    file(client, FILER, number, "long_term_residence", "440300")
    moved = event(client, FILER, "filing.changed", {
        "filing_no": number, "type": "long_term_residence", "dest_admdvs": "510100", "begin_date": "2026-03-01",
        "end_date": None, "dest_since": "2026-06-01", "changed_on": "2026-06-01", "previous_dest_admdvs": "440300"})
    assert moved["result"] == "applied"
    assert Filing.objects.get(filing_no=number).dest_admdvs == "510100"  # the current destination

    def fund(institution, on):
        answer = settle(client, institution, FILER, on=on, infno="2101")
        return answer["infcode"] if answer["infcode"] else money(answer, "hifp_pay")["hifp_pay"]

    assert fund(SZ_PHARMACY, "2026-05-31") == D("80.00")  # before the change: the old destination
    assert fund(CD_PHARMACY, "2026-05-31") == InfCode.NOT_FILED  # the new one not yet
    assert fund(CD_PHARMACY, "2026-06-01") == D("80.00")
    assert fund(SZ_PHARMACY, "2026-06-01") == InfCode.NOT_FILED  # the old one no more
    settled = settle(client, SZ_PHARMACY, FILER, on="2026-05-20")  # 2102 too, under the filing's number
    assert money(settled, "hifp_pay")["hifp_pay"] == D("80.00")
    assert settled["output"]["setlinfo"]["trt_dcla_detl_sn"] == number

    again = event(client, FILER, "filing.changed", {
        "filing_no": number, "type": "long_term_residence", "dest_admdvs": "440000", "begin_date": "2026-03-01",
        "end_date": None, "changed_on": "2026-09-01"})
    assert again["result"] == "applied"
    assert fund(SZ_PHARMACY, "2026-05-31") == D("80.00")
    assert fund(CD_PHARMACY, "2026-08-31") == D("80.00")
    assert fund(CD_PHARMACY, "2026-09-01") == InfCode.NOT_FILED
    assert fund(SZ_PHARMACY, "2026-07-01") == InfCode.NOT_FILED
    assert fund(SZ_PHARMACY, "2026-09-01") == D("80.00")  # 440000: any city of 广东

    # A change that names no date corrects the whole filing: one destination for every date.
    corrected = event(client, FILER, "filing.changed", {
        "filing_no": number, "type": "long_term_residence", "dest_admdvs": "510100", "begin_date": "2026-03-01",
        "end_date": None})
    assert corrected["result"] == "applied"
    assert fund(CD_PHARMACY, "2026-04-01") == D("80.00") and fund(CD_PHARMACY, "2026-10-01") == D("80.00")
    assert fund(SZ_PHARMACY, "2026-04-01") == InfCode.NOT_FILED
