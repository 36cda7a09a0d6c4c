"""2501 (转院备案) and 2502 (its cancellation) through the wallet's gateway:
a designated, signed-in hospital files a referral for a person; the filing
is in the person's list; the hospital cancels it. Every refusal is an
envelope answer with a stable infcode and a Chinese err_msg."""

from __future__ import annotations

import pytest

from common import demodata
from common.envelope import InfCode
from referrals.models import Filing
from settlement.models import OutboxMessage
from tests.support.terminal import Terminal
from terminal.services.institutions import institution_register

from .conftest import FILER, days, today

pytestmark = pytest.mark.django_db

DATA = demodata.generate(demodata.DEFAULT_SEED)
HOSPITAL = next(i for i in DATA.institutions if i.fixmedins_code == "H11010000002")  # 北京, designated
OTHER_HOSPITAL = next(i for i in DATA.institutions if i.fixmedins_code == "H11010000004")
UNDESIGNATED = next(i for i in DATA.institutions if i.kind == "hospital" and not i.designated)
PHARMACY = next(i for i in DATA.institutions if i.kind == "pharmacy" and i.designated)


def _terminal(client, inst, sign_in: bool = True) -> Terminal:
    institution_register(fixmedins_code=inst.fixmedins_code, name=inst.name, kind=inst.kind, level=inst.level,
                         region=inst.region, designated=inst.designated, secret=inst.secret)
    terminal = Terminal(client, inst.fixmedins_code, inst.secret)
    if sign_in:
        terminal.sign_in()
    return terminal


def refmedin(**changes) -> dict:
    node = {"psn_no": FILER.psn_no, "insutype": FILER.insutype, "tel": "13800000000", "addr": "北京市朝阳区",
            "insu_optins": "110100", "diag_code": "I21.900", "diag_name": "急性心肌梗死",
            "dise_cond_dscr": "需转上级医院介入治疗", "reflin_medins_no": "H31010000002",
            "reflin_medins_name": "上海市第二中心医院", "mdtrtarea_admdvs": "310100", "hosp_agre_refl_flag": "1",
            "refl_type": "1", "refl_date": str(today()), "refl_rea": "本院无介入条件", "refl_opnn": "同意转院",
            "begndate": str(today()), "enddate": days(60), "refl_used_flag": "0"}
    node.update(changes)
    return node


@pytest.fixture
def hospital(client, core_url, outbox_ids_above_earlier_tests):
    return _terminal(client, HOSPITAL)


def test_2501_files_a_referral_the_person_sees_and_2502_cancels_it(hospital, filer):
    answer = hospital.call("2501", {"refmedin": refmedin()})
    assert answer["infcode"] == 0, answer
    number = answer["output"]["result"]["trt_dcla_detl_sn"]
    assert number.startswith(f"BA110100{today():%Y%m%d}") and len(number) == 24
    [filing] = filer.get("/api/filings").json()
    assert filing["filing_no"] == number and filing["source"] == "hospital" and filing["type"] == "referral"
    assert filing["dest_admdvs"] == "310100" and filing["end_date"] == days(60)
    assert filing["institutions"] == ["H31010000002"]
    assert filing["referral"] == {"reflin_medins_no": HOSPITAL.fixmedins_code, "reflin_medins_name": HOSPITAL.name,
                                  "diag_code": "I21.900", "diag_name": "急性心肌梗死",
                                  "dise_cond_dscr": "需转上级医院介入治疗"}
    row = Filing.objects.get(filing_no=number)
    assert row.fixmedins_code == HOSPITAL.fixmedins_code and row.referral["refl_rea"] == "本院无介入条件"

    # Another hospital may not cancel it; the wrong person neither.
    other = _terminal(hospital.client, OTHER_HOSPITAL)
    refused = other.call("2502", {"data": {"trt_dcla_detl_sn": number, "psn_no": FILER.psn_no}})
    assert refused["infcode"] == InfCode.INPUT_INVALID and "本机构" in refused["err_msg"]
    refused = hospital.call("2502", {"data": {"trt_dcla_detl_sn": number, "psn_no": "11010000000000000099"}})
    assert refused["infcode"] == InfCode.INPUT_INVALID

    cancelled = hospital.call("2502", {"data": {"trt_dcla_detl_sn": number, "psn_no": FILER.psn_no, "memo": "病情好转"}})
    assert cancelled["infcode"] == 0, cancelled
    assert filer.get(f"/api/filings/{filing['id']}").json()["status"] == "cancelled"
    again = hospital.call("2502", {"data": {"trt_dcla_detl_sn": number, "psn_no": FILER.psn_no}})
    assert again["infcode"] == InfCode.INPUT_INVALID and "已撤销" in again["err_msg"]
    kinds = list(OutboxMessage.objects.filter(person_key=FILER.psn_no, kind__startswith="filing.")
                 .order_by("id").values_list("kind", flat=True))
    assert kinds == ["filing.created", "filing.cancelled"]


def test_2501_replay_of_the_msgid_gives_the_same_number(hospital, filer):
    first = hospital.call("2501", {"refmedin": refmedin()}, msgid="REFL000000001")
    again = hospital.call("2501", {"refmedin": refmedin()}, msgid="REFL000000001")
    assert first["infcode"] == 0 and again == first
    assert Filing.objects.count() == 1


def test_2501_needs_a_signed_in_designated_hospital(client, core_url):
    not_signed_in = _terminal(client, HOSPITAL, sign_in=False)
    answer = not_signed_in.call("2501", {"refmedin": refmedin()})
    assert answer["infcode"] == InfCode.NOT_SIGNED_IN
    answer = _terminal(client, UNDESIGNATED).call("2501", {"refmedin": refmedin()})
    assert answer["infcode"] == InfCode.INSTITUTION_NOT_DESIGNATED and "非定点" in answer["err_msg"]
    answer = _terminal(client, PHARMACY).call("2501", {"refmedin": refmedin()})
    assert answer["infcode"] == InfCode.INSTITUTION_NOT_DESIGNATED and "药店" in answer["err_msg"]
    assert not Filing.objects.exists()


@pytest.mark.parametrize("changes, fragment", [
    ({"diag_code": "I21900"}, "FILING_DIAGNOSIS_INVALID"),
    ({"diag_code": "心梗"}, "FILING_DIAGNOSIS_INVALID"),
    ({"refl_date": days(61)}, "FILING_DATES_INVALID"),
    ({"refl_date": days(-1)}, "FILING_DATES_INVALID"),
    ({"enddate": days(-1)}, "FILING_DATES_INVALID"),
    ({"enddate": days(400)}, "FILING_DATES_INVALID"),
    ({"mdtrtarea_admdvs": "110100"}, "FILING_DEST_SAME_PROVINCE"),
    ({"mdtrtarea_admdvs": "12345x"}, "FILING_DEST_INVALID"),
    ({"begndate": days(-40), "refl_date": days(-40)}, "FILING_LATE_TOO_OLD"),
    ({"begndate": "2026/01/01"}, "yyyy-MM-dd"),
    ({"hosp_agre_refl_flag": "0"}, "hosp_agre_refl_flag"),
    ({"insutype": "31"}, "insutype"),
    ({"insutype": "310"}, "险种"),
    ({"psn_no": 12345}, "psn_no"),
    ({"reflin_medins_no": "转往医院"}, "reflin_medins_no"),
    ({"diag_name": ""}, "diag_name"),
])
def test_2501_refusals(hospital, changes, fragment):
    answer = hospital.call("2501", {"refmedin": refmedin(**changes)})
    assert answer["infcode"] == InfCode.INPUT_INVALID, answer
    assert fragment in answer["err_msg"]
    assert not Filing.objects.exists()


def test_2501_unknown_person_and_missing_node(hospital):
    answer = hospital.call("2501", {"refmedin": refmedin(psn_no="11019999999999999999")})
    assert answer["infcode"] == InfCode.PERSON_NOT_FOUND
    answer = hospital.call("2501", {"data": refmedin()})
    assert answer["infcode"] == InfCode.INPUT_INVALID and "refmedin" in answer["err_msg"]
    answer = hospital.call("2502", {"data": "x"})
    assert answer["infcode"] == InfCode.INPUT_INVALID
