"""Filings end to end: a person files in the app (the wallet's rules from the
core's 9501), the outbox carries the filing to the core (9201), and a
pharmacy's 2102 through the wallet's gateway is settled under it (or
refused) by the core — the real wallet, the core as its own HTTP service.

- Same province (issue #14 §2): 沈阳 (210100) treats another region of 辽宁
  as needing a filing (``same_province`` ``filed``), so the wallet accepts a
  filing to 大连 (210200) — never to 沈阳 itself nor to the whole province —
  and the bill in 大连 is settled under it; 石家庄 (130100) treats 河北 as
  local, so the wallet refuses 保定 (130600) and the bill there is local.
- A change of destination takes effect from its date: a bill dated before
  it stays covered by the old destination, later ones only by the new.
- A region that has not opened cross-province settlement (150100 呼和浩特,
  ``open`` false at the core) is refused by the wallet.

Each test cancels what it filed, so the session's core keeps no active
filing of the demo personas."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from common import demodata
from common.envelope import InfCode
from settlement.models import OutboxMessage
from settlement.services.outbox import outbox_relay
from tests.support.pos import DATA, Pos

from .conftest import Filer

pytestmark = pytest.mark.django_db

P = demodata.DEMO_PERSONAS
PLAIN = "X00000002"  # 甲类, no price cap, no region's own terms
INSTITUTIONS = {i.fixmedins_code: i for i in DATA.institutions}


def _day(n: int = 0) -> dt.date:
    return timezone.localdate() + dt.timedelta(days=n)


def deliver() -> None:
    """Relay the outbox to the live core until everything is applied."""
    for _ in range(10):
        outbox_relay(budget_seconds=10)
        if not OutboxMessage.objects.exclude(status="sent").exists():
            return
        OutboxMessage.objects.update(next_attempt_at=timezone.now())
    raise AssertionError(list(OutboxMessage.objects.exclude(status="sent").values("kind", "status", "last_error")))


def pay(client, app: Filer, pharmacy: str, on: dt.date) -> dict:
    """100.00 of a 甲类 drug, treatment dated ``on``, at ``pharmacy`` through the wallet's gateway."""
    pos = Pos(client, INSTITUTIONS[pharmacy])
    assert pos.decode(app.get("/api/voucher/code").json()["code"])["code"] == 0
    return pos.settle(pos.bill([(PLAIN, "100.00", "1")], begntime=f"{on} 10:00:00"))


def fund(answer: dict):
    """The fund's part, or the infcode of a refusal."""
    return answer["output"]["setlinfo"]["hifp_pay"] if answer["infcode"] == 0 else answer["infcode"]


def file(app: Filer, **body) -> dict:
    response = app.file({"basis": "commitment", "commitment_accepted": True, **body})
    assert response.status_code == 201, response.content
    return response.json()


def test_same_province_region_that_needs_a_filing_accepts_another_city_and_settles_under_it(client, activated):
    """高建华 of 沈阳 (辽宁: same_province filed; pharmacy 70 %; unfiled at the lowest, −15 points). In 大连
    unfiled: 55.00. The wallet refuses 沈阳 itself and the whole of 辽宁, accepts 大连; filed there
    (常驻异地工作, long-term 0 points) the same bill is 70.00 under the filing's number."""
    app = activated(P["cross_lowest"])
    rules = app.get("/api/filings/rules").json()
    assert (rules["insured_region"], rules["same_province"], rules["unfiled"]) == ("210100", "filed", "lowest_ratio")
    assert fund(pay(client, app, "P21020000001", _day())) == Decimal("55.00")
    for dest in ("210100", "210000"):
        refused = app.file({"type": "stationed_work", "dest_admdvs": dest, "begin_date": str(_day()),
                            "basis": "commitment", "commitment_accepted": True})
        assert refused.status_code == 400 and refused.json()["code"] == "FILING_DEST_SAME_PROVINCE", refused.content
    filing = file(app, type="stationed_work", dest_admdvs="210200", begin_date=str(_day()))
    assert (filing["dest_admdvs"], filing["dest_name"]) == ("210200", "辽宁省大连市")
    deliver()
    answer = pay(client, app, "P21020000001", _day())
    assert fund(answer) == Decimal("70.00"), answer
    info = answer["output"]["setlinfo"]
    assert (info["trt_dcla_detl_sn"], info["filing_kind"], info["filing_name"], info["mdtrtarea_admvs"]) == (
        filing["filing_no"], "long_term", "常驻异地工作", "210200")
    # the record detail names the filing used
    record = app.get("/api/records").json()[0]  # newest first
    detail = app.get(f"/api/records/{record['id']}").json()
    assert detail["setl_id"] == info["setl_id"]
    assert detail["filing"] == {"trt_dcla_detl_sn": filing["filing_no"], "filing_name": "常驻异地工作",
                                "filing_kind": "long_term", "mdtrtarea_admvs": "210200"}
    # at home the bill is local: no filing named
    home = pay(client, app, "P21010000001", _day())
    assert fund(home) == Decimal("70.00") and "filing_kind" not in home["output"]["setlinfo"]
    assert app.post(f"/api/filings/{filing['id']}/cancel", {"reason": "info_error"}).status_code == 200
    deliver()
    assert fund(pay(client, app, "P21020000001", _day())) == Decimal("55.00")  # unfiled again


def test_same_province_region_that_is_local_refuses_the_filing_and_settles_as_local(client, activated):
    """林志远 of 石家庄 (河北: same_province local; pharmacy 80 %): 保定 cannot be a destination, and the
    bill in 保定 is a local bill — 80.00, no filing named."""
    app = activated(P["cross_filer"])
    assert app.get("/api/filings/rules").json()["same_province"] == "local"
    refused = app.file({"type": "temporary_other", "dest_admdvs": "130600", "begin_date": str(_day()),
                        "basis": "commitment", "commitment_accepted": True})
    assert refused.status_code == 400 and refused.json()["code"] == "FILING_DEST_SAME_PROVINCE", refused.content
    assert "同一省份" in refused.json()["message"]
    answer = pay(client, app, "P13060000001", _day())
    assert fund(answer) == Decimal("80.00")
    assert "filing_kind" not in answer["output"]["setlinfo"]
    record = app.get("/api/records").json()[0]
    assert app.get(f"/api/records/{record['id']}").json()["filing"] is None


def test_a_change_of_destination_takes_effect_from_its_date(client, activated):
    """林志远 files 异地长期居住 to 深圳 from 20 days ago (补办), then moves it to 成都 today. A 深圳 bill
    dated 5 days ago is still covered (80.00); a 深圳 bill dated today is not (4011); a 成都 bill dated
    today is (80.00), one dated 5 days ago is not. The app shows both destinations with their dates."""
    app = activated(P["cross_filer"])
    filing = file(app, type="long_term_residence", dest_admdvs="440300", begin_date=str(_day(-20)))
    assert filing["late"] is True
    deliver()
    assert fund(pay(client, app, "P44030000011", _day(-5))) == Decimal("80.00")
    changed = app.post(f"/api/filings/{filing['id']}/change", {"dest_admdvs": "510100", "reason": "work_change"})
    assert changed.status_code == 200, changed.content
    view = changed.json()
    assert (view["dest_admdvs"], view["dest_since"]) == ("510100", str(_day()))
    assert view["destinations"] == [
        {"dest_admdvs": "440300", "dest_name": "广东省深圳市", "since": str(_day(-20)), "until": str(_day(-1))},
        {"dest_admdvs": "510100", "dest_name": "四川省成都市", "since": str(_day()), "until": None}]
    assert app.get(f"/api/filings/{filing['id']}").json()["destinations"] == view["destinations"]
    deliver()
    before = pay(client, app, "P44030000011", _day(-5))
    assert fund(before) == Decimal("80.00") and before["output"]["setlinfo"]["trt_dcla_detl_sn"] == filing["filing_no"]
    assert fund(pay(client, app, "P44030000011", _day())) == InfCode.NOT_FILED
    assert fund(pay(client, app, "P51010000011", _day())) == Decimal("80.00")
    assert fund(pay(client, app, "P51010000011", _day(-5))) == InfCode.NOT_FILED
    assert app.post(f"/api/filings/{filing['id']}/cancel", {"reason": "info_error"}).status_code == 200
    deliver()


def test_region_not_open_is_refused_by_the_real_core_rules(client, activated):
    """包丽娜 of 呼和浩特 (150100): the core's policy says cross-province settlement is not open; the rules
    say so, every filing is refused, and a bill elsewhere is refused at the core (4012)."""
    app = activated(P["cross_not_open"])
    rules = app.get("/api/filings/rules").json()
    assert rules["insured_region"] == "150100" and rules["open"] is False
    refused = app.file({"type": "temporary_other", "dest_admdvs": "440300", "begin_date": str(_day()),
                        "basis": "commitment", "commitment_accepted": True})
    assert refused.status_code == 409 and refused.json()["code"] == "FILING_REGION_NOT_OPEN", refused.content
    assert "尚未开通" in refused.json()["message"]
    assert not OutboxMessage.objects.filter(kind__startswith="filing.").exists()
    answer = pay(client, app, "P44030000011", _day())
    assert answer["infcode"] == InfCode.CROSS_PROVINCE_NOT_OPEN and "尚未开通" in answer["err_msg"]
