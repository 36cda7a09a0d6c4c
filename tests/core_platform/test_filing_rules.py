"""Issue #14 at the settlement core: 9501 (the insured region's filing
rules), the filing events' validation at 9201 (applied once, nothing changed
by a bad one), and the treatment region's catalogue loaded with a region
column."""

from __future__ import annotations

import itertools
import uuid

import pytest
from django.core.management import CommandError, call_command

from common import demodata
from common.envelope import InfCode
from core_platform.models import Filing, RegionCatalogueItem
from core_platform.services.demo import demo_seed
from tests.core_platform.signing import call, envelope

pytestmark = pytest.mark.django_db(databases=["default", "core"])

FILER = demodata.DEMO_PERSONAS["cross_filer"].psn_no
OTHER = demodata.DEMO_PERSONAS["cross_retiree"].psn_no
_msgids = itertools.count(1)


@pytest.fixture
def cross():
    demo_seed(regions={"130100", "210100", "150100"}, catalogue=False)


def send(client, infno, input_):
    return call(client, envelope(infno, input_, msgid=f"FR{next(_msgids):06d}"))


def rules(client, region, insutype="310"):
    return send(client, "9501", {"data": {"insuplc_admdvs": region, "insutype": insutype}})


def test_9501_answers_each_regions_rules(client, cross):
    hebei = rules(client, "130100")
    assert hebei["infcode"] == 0
    assert hebei["output"]["rules"] == {
        "insuplc_admdvs": "130100", "insutype": "310", "open": "1", "long_term_min_months": 6,
        "temporary_valid_months": 6, "unfiled": "refuse", "same_province": "local",
        "adjust": {"long_term": 0, "referral": -100, "emergency": -100, "temporary_other": -200},
        "policy_version": 1, "effective_from": "2026-01-01"}
    liaoning = rules(client, "210100", "390")["output"]["rules"]
    assert (liaoning["unfiled"], liaoning["same_province"], liaoning["adjust"]["temporary_other"]) == (
        "lowest_ratio", "filed", -150)
    assert rules(client, "150100")["output"]["rules"]["open"] == "0"


def test_9501_refusals(client, cross):
    missing = rules(client, "440300")  # not loaded here: no policy
    assert (missing["infcode"], missing["err_msg"]) == (InfCode.POLICY_MISSING, "参保地未配置该险种的待遇政策")
    for data, message in [({"insuplc_admdvs": "１３0100", "insutype": "310"}, "insuplc_admdvs 须为6位数字行政区划代码"),
                          ({"insuplc_admdvs": "130100", "insutype": "320"}, "insutype 须为 310 或 390")]:
        answer = send(client, "9501", {"data": data})
        assert (answer["infcode"], answer["err_msg"]) == (InfCode.INPUT_INVALID, message)
    assert send(client, "9501", {})["err_msg"] == "缺少 input.data"


def events(client, *items):
    answer = send(client, "9201", {"events": [
        {"message_id": message_id, "person_key": psn_no, "sequence": sequence, "kind": kind, "payload": payload}
        for message_id, psn_no, sequence, kind, payload in items]})
    assert answer["infcode"] == 0, answer
    return [(r["result"], r.get("error", "")) for r in answer["output"]["results"]]


GOOD = {"filing_no": "BA13010020260301000001", "type": "temporary_other", "kind": "temporary_other",
        "basis": "commitment", "dest_admdvs": "510100", "begin_date": "2026-03-01", "end_date": "2026-08-31",
        "institutions": [], "referral": None}


@pytest.mark.parametrize("change, error", [
    ({"type": "holiday"}, "type must be one of"),
    ({"kind": "long_term"}, "does not match type"),
    ({"dest_admdvs": "51010"}, "dest_admdvs must be 6 ASCII digits"),
    ({"dest_admdvs": "５10100"}, "dest_admdvs must be 6 ASCII digits"),
    ({"end_date": None}, "end_date must be a YYYY-MM-DD date"),  # a temporary filing needs its end
    ({"end_date": "2026-02-28"}, "end_date is before begin_date"),
    ({"begin_date": "2026/03/01"}, "begin_date must be a YYYY-MM-DD date"),
    ({"institutions": ["h44030000012"]}, "institutions must be a list"),
    ({"filing_no": ""}, "filing_no must be"),
    ({"psn_no": OTHER}, "payload psn_no differs"),
])
def test_bad_filing_events_change_nothing(client, cross, change, error):
    [(result, message)] = events(client, (str(uuid.uuid4()), FILER, 1, "filing.created", {**GOOD, **change}))
    assert result == "error" and error in message
    assert not Filing.objects.exists()


def test_filing_events_applied_once_and_owned_by_one_person(client, cross):
    first = str(uuid.uuid4())
    assert events(client, (first, FILER, 1, "filing.created", GOOD)) == [("applied", "")]
    assert events(client, (first, FILER, 1, "filing.created", GOOD)) == [("duplicate", "")]
    # another person's event naming this filing changes nothing
    [(result, message)] = events(client, (str(uuid.uuid4()), OTHER, 1, "filing.cancelled",
                                          {"filing_no": GOOD["filing_no"]}))
    assert result == "error" and "belongs to another person" in message
    # a cancellation that arrives before the change it follows is refused as out of order
    [(result, message)] = events(client, (str(uuid.uuid4()), FILER, 1, "filing.cancelled",
                                          {"filing_no": GOOD["filing_no"]}))
    assert result == "error" and "out of order" in message
    row = Filing.objects.get()
    assert (row.psn_no, row.status, row.kind, row.dest_admdvs, str(row.end_date)) == (
        FILER, "active", "temporary_other", "510100", "2026-08-31")


def test_catalogue_file_with_a_region_column(tmp_path):
    path = tmp_path / "catalogue.csv"
    path.write_text("med_list_codg,name,kind,list_class,self_pay_ratio_permille,price_cap_fen,unit,spec,region\n"
                    "X1,阿莫西林胶囊,drug,B,200,,盒,,\n"
                    "X1,,,A,,1500,,,440300\n"
                    "X1,,,乙,100,3000,,,510100\n", encoding="utf-8")
    call_command("core_load_catalogue", str(path))
    terms = {(r.region, r.list_class, r.self_pay_ratio_permille, r.price_cap_fen)
             for r in RegionCatalogueItem.objects.all()}
    assert terms == {("440300", "A", 0, 1500), ("510100", "B", 100, 3000)}
    bad = tmp_path / "bad.csv"
    bad.write_text("med_list_codg,name,kind,list_class,self_pay_ratio_permille,price_cap_fen,unit,spec,region\n"
                   "X9,,,A,,,,,440300\n"
                   "X1,,,A,,,,,44030\n"
                   "X1,,,B,,,,,510100\n", encoding="utf-8")
    with pytest.raises(CommandError) as refused:
        call_command("core_load_catalogue", str(bad))
    text = str(refused.value)
    assert "region 必须是6位数字统筹区代码" in text and "乙类项目必须给出" in text
    assert "统筹区 440300 的编码 X9 不在目录中" in text
    assert RegionCatalogueItem.objects.count() == 2  # all or nothing
