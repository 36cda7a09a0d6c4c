"""The person's filing API (/api/filings) against the settlement core as its
own HTTP service: the rules per type, every refusal code (a 4xx in the one
error shape, never a 500), IDOR, idempotency, late filing, cancel/change with
the minimum period, the outbox rows for the core, the expiry reminder."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from accounts.models import AuditEvent
from referrals.models import Filing, FilingEvent
from referrals.services.filings import add_months, filing_cancel, filing_change, filing_expire_sweep
from referrals.services.reminders import filing_reminders_send
from settlement.models import OutboxMessage

from .conftest import FILER, LONG_TERM, REFERRAL, TEMPORARY, P, body, days, today

pytestmark = pytest.mark.django_db


def _error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    payload = response.json()
    assert payload["code"] == code, payload
    assert payload["message"] and re.search(r"[\u4e00-\u9fff]", payload["message"]), payload
    return payload


def _outbox(kind: str) -> list[OutboxMessage]:
    return list(OutboxMessage.objects.filter(person_key=FILER.psn_no, kind=kind).order_by("id"))


# --- long-term ------------------------------------------------------------------------------------

def test_long_term_by_commitment_is_valid_until_cancelled_and_tells_the_core(filer):
    response = filer.file(body(LONG_TERM))
    assert response.status_code == 201, response.content
    filing = response.json()
    assert filing["type"] == "long_term_residence" and filing["type_name"] == "异地长期居住"
    assert filing["kind"] == "long_term" and filing["status"] == "active" and filing["status_name"] == "有效"
    assert filing["basis"] == "commitment" and filing["source"] == "app"
    assert filing["end_date"] is None and filing["begin_date"] == str(today()) and filing["late"] is False
    assert filing["insured_region"] == "110100" and filing["dest_name"] == "广东省深圳市"
    assert re.fullmatch(rf"BA110100{today():%Y%m%d}\d{{8}}", filing["filing_no"])
    assert filing["can_cancel"] and filing["can_change"] and filing["reason_required"] is True
    assert filing["change_free_from"] == str(add_months(today(), 6))
    assert "满6个月" in filing["cancel_rule"]
    assert filer.get("/api/filings").json() == [filing]
    assert filer.get(f"/api/filings/{filing['id']}").json() == filing
    [message] = _outbox("filing.created")
    assert message.payload == {
        "filing_no": filing["filing_no"], "psn_no": FILER.psn_no, "insutype": "390", "insured_region": "110100",
        "type": "long_term_residence", "kind": "long_term", "basis": "commitment", "dest_admdvs": "440300",
        "dest_since": str(today()), "begin_date": str(today()), "end_date": None, "late": False,
        "institutions": [], "referral": None}
    row = Filing.objects.get(public_id=filing["id"])
    assert row.commitment_accepted_at is not None
    assert list(row.events.values_list("kind", flat=True)) == ["created"]
    assert AuditEvent.objects.filter(action="filing.created", detail__filing_no=filing["filing_no"]).exists()


def test_one_long_term_filing_at_a_time(filer):
    first = filer.file(body(LONG_TERM)).json()
    _error(filer.file(body(LONG_TERM, type="retired_resettled", dest_admdvs="510100")), 409, "FILING_LONG_TERM_EXISTS")
    # A temporary filing beside it is fine.
    assert filer.file(body(TEMPORARY)).status_code == 201
    # Cancelled (with a reason the region accepts, before the minimum period), another may be filed.
    cancelled = filer.post(f"/api/filings/{first['id']}/cancel", {"reason": "info_error"})
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    again = filer.file(body(LONG_TERM, type="stationed_work", dest_admdvs="330100"))
    assert again.status_code == 201 and again.json()["dest_name"] == "浙江省杭州市"


def test_cancel_and_change_before_the_minimum_period_need_an_accepted_reason(filer):
    filing = filer.file(body(LONG_TERM)).json()
    for path, extra in (("cancel", {}), ("change", {"dest_admdvs": "440100"})):
        for reason in ("", "other", "returned"):
            refused = _error(filer.post(f"/api/filings/{filing['id']}/{path}", {**extra, "reason": reason} if reason
                                        else extra), 409, "FILING_TOO_EARLY")
            assert refused["detail"]["earliest"] == str(add_months(today(), 6))
            assert refused["detail"]["accepted_reasons"] == ["info_error", "work_change", "family_change"]
    changed = filer.post(f"/api/filings/{filing['id']}/change", {"dest_admdvs": "440100", "reason": "work_change"})
    assert changed.status_code == 200, changed.content
    assert changed.json()["dest_admdvs"] == "440100" and changed.json()["filing_no"] == filing["filing_no"]
    [message] = _outbox("filing.changed")
    assert message.payload["dest_admdvs"] == "440100" and message.payload["previous_dest_admdvs"] == "440300"
    assert message.payload["changed_on"] == str(today())
    _error(filer.post(f"/api/filings/{filing['id']}/change", {"dest_admdvs": "440100", "reason": "work_change"}),
           400, "FILING_DEST_UNCHANGED")


def test_after_the_minimum_period_no_reason_is_needed(filer):
    filing = Filing.objects.get(public_id=filer.file(body(LONG_TERM)).json()["id"])
    later = add_months(today(), 6)
    with pytest.raises(Exception) as early:
        filing_change(filing=filing, dest_admdvs="440100", actor="t", now=later - dt.timedelta(days=1))
    assert early.value.code == "FILING_TOO_EARLY"
    moved = filing_change(filing=filing, dest_admdvs="440100", actor="t", now=later)
    assert moved.dest_since == later
    # The period restarts at the change.
    with pytest.raises(Exception) as again:
        filing_cancel(filing=moved, actor="t", now=later + dt.timedelta(days=30))
    assert again.value.code == "FILING_TOO_EARLY"
    done = filing_cancel(filing=moved, actor="t", now=add_months(later, 6))
    assert done.status == "cancelled" and done.cancelled_on == add_months(later, 6)
    assert [m.payload["cancelled_on"] for m in _outbox("filing.cancelled")] == [str(add_months(later, 6))]


# --- temporary ------------------------------------------------------------------------------------

def test_temporary_validity_defaults_to_the_region_period_and_may_be_shorter(filer):
    filing = filer.file(body(TEMPORARY)).json()
    assert filing["kind"] == "temporary_other" and filing["end_date"] == str(add_months(today(), 6) - dt.timedelta(days=1))
    assert "可随时撤销" in filing["cancel_rule"] and filing["change_free_from"] is None
    short = filer.file(body(TEMPORARY, dest_admdvs="420100", end_date=days(20))).json()
    assert short["end_date"] == days(20) and short["dest_name"] == "湖北省武汉市"
    # Temporary filings cancel at any time, no reason needed.
    assert filer.post(f"/api/filings/{short['id']}/cancel", {}).json()["status"] == "cancelled"
    _error(filer.post(f"/api/filings/{short['id']}/cancel", {}), 409, "FILING_NOT_ACTIVE")


@pytest.mark.parametrize("changes, code, detail", [
    ({"end_date": days(-1)}, "FILING_DATES_INVALID", {"field": "end_date"}),
    ({"end_date": str(add_months(today(), 6))}, "FILING_DATES_INVALID",
     {"field": "end_date", "latest": str(add_months(today(), 6) - dt.timedelta(days=1))}),
    ({"begin_date": days(91)}, "FILING_DATES_INVALID", {"field": "begin_date"}),
    ({"begin_date": days(-31)}, "FILING_LATE_TOO_OLD", {"field": "begin_date", "earliest": days(-30)}),
])
def test_date_refusals(filer, changes, code, detail):
    refused = _error(filer.file(body(TEMPORARY, **changes)), 400, code)
    assert refused["detail"] == detail


def test_long_term_takes_no_end_date(filer):
    refused = _error(filer.file(body(LONG_TERM, end_date=days(30))), 400, "FILING_DATES_INVALID")
    assert "无需填写结束日期" in refused["message"]


def test_late_filing_after_treatment_began(filer):
    late = filer.file(body(TEMPORARY, begin_date=days(-30)))
    assert late.status_code == 201, late.content
    assert late.json()["late"] is True and late.json()["begin_date"] == days(-30)
    assert _outbox("filing.created")[0].payload["late"] is True


def test_emergency_counts_as_filed_and_needs_no_material(filer):
    filing = filer.file({"type": "emergency", "dest_admdvs": "440300", "begin_date": days(-3)})
    assert filing.status_code == 201, filing.content
    assert filing.json()["basis"] == "not_required" and filing.json()["kind"] == "emergency"
    types = {t["type"]: t for t in filer.get("/api/filings/types").json()}
    assert "视同已备案" in types["emergency"]["help"] and types["long_term_residence"]["long_term"] is True
    rules = filer.get("/api/filings/rules").json()
    assert "视同已备案" in rules["emergency_note"] and rules["open"] is True
    assert rules["temporary_valid_months"] == 6 and rules["long_term_min_months"] == 6 and rules["late_filing_days"] == 30
    assert rules["max_days_ahead"] == 90
    assert rules["insured_region_name"] == "北京市"
    assert [r["code"] for r in rules["reasons"] if r["accepted_early"]] == ["info_error", "work_change", "family_change"]
    assert "承诺" in rules["commitment_text"]


# --- referral -------------------------------------------------------------------------------------

def test_referral_records_the_referring_institution_and_diagnosis(filer):
    filing = filer.file(body(REFERRAL))
    assert filing.status_code == 201, filing.content
    out = filing.json()
    assert out["kind"] == "referral" and out["institutions"] == ["H31010000002"] and out["basis"] == "proof"
    assert out["referral"] == {"reflin_medins_no": "H11010000002", "reflin_medins_name": "北京市第二人民医院",
                               "diag_code": "J18.900", "diag_name": "肺炎", "dise_cond_dscr": "需转上级医院"}
    assert out["can_change"] is False
    _error(filer.post(f"/api/filings/{out['id']}/change", {"dest_admdvs": "320100"}), 409, "FILING_CHANGE_NOT_ALLOWED")
    row = Filing.objects.get(public_id=out["id"])
    assert row.proof_doc_type == "referral_certificate" and row.proof_doc_no == "ZZ20260001"


@pytest.mark.parametrize("diag_code", ["J18900", "j18.900", "肺炎", "J１8.900", "J18.900x0000000", "18.900"])
def test_referral_diagnosis_code_format(filer, diag_code):
    bad = body(REFERRAL, referral={**REFERRAL["referral"], "diag_code": diag_code})
    refused = _error(filer.file(bad), 400, "FILING_DIAGNOSIS_INVALID")
    assert refused["detail"] == {"field": "diag_code"}


def test_referral_details_are_required_and_only_for_referrals(filer):
    _error(filer.file(body(REFERRAL, referral=None)), 400, "FILING_REFERRAL_REQUIRED")
    _error(filer.file(body(TEMPORARY, referral=REFERRAL["referral"])), 400, "FILING_REFERRAL_NOT_ALLOWED")
    bad_inst = body(REFERRAL, referral={**REFERRAL["referral"], "institutions": ["not a code"]})
    _error(filer.file(bad_inst), 400, "FILING_INSTITUTION_INVALID")


# --- destination, basis, region -------------------------------------------------------------------

@pytest.mark.parametrize("dest, code", [
    ("110100", "FILING_DEST_SAME_PROVINCE"), ("110000", "FILING_DEST_SAME_PROVINCE"),
    ("999999", "FILING_DEST_INVALID"), ("４４０３００", "FILING_DEST_INVALID"), ("4403a0", "FILING_DEST_INVALID"),
])
def test_destination_refusals(filer, dest, code):
    refused = _error(filer.file(body(TEMPORARY, dest_admdvs=dest)), 400, code)
    assert refused["detail"] == {"field": "dest_admdvs"}


def test_a_whole_province_is_a_destination(filer):
    out = filer.file(body(TEMPORARY, dest_admdvs="440000")).json()
    assert out["dest_admdvs"] == "440000" and out["dest_name"] == "广东省"


@pytest.mark.parametrize("changes, code", [
    ({"basis": None, "commitment_accepted": None}, "FILING_BASIS_REQUIRED"),
    ({"commitment_accepted": False}, "FILING_COMMITMENT_REQUIRED"),
    ({"basis": "proof"}, "FILING_PROOF_REQUIRED"),
    ({"basis": "proof", "proof": {"doc_type": "residence_permit", "doc_no": "证件号"}}, "FILING_PROOF_REQUIRED"),
])
def test_basis_refusals(filer, changes, code):
    _error(filer.file(body(LONG_TERM, **changes)), 400, code)


def test_proof_basis_records_the_document(filer):
    out = filer.file(body(LONG_TERM, basis="proof", commitment_accepted=None,
                          proof={"doc_type": "residence_permit", "doc_no": "gd440300abc"})).json()
    assert out["basis"] == "proof" and out["basis_name"] == "证明材料"
    assert Filing.objects.get(public_id=out["id"]).proof_doc_no == "GD440300ABC"


def test_region_not_open_is_refused(activated):
    """包丽娜 of 呼和浩特 (150100): the core's policy for her region says cross-province settlement is not
    open (9501 open "0"), so every filing is refused and nothing reaches the outbox."""
    person = activated(P["cross_not_open"])
    assert person.get("/api/filings/rules").json()["open"] is False
    for template in (TEMPORARY, LONG_TERM):
        refused = _error(person.file(body(template)), 409, "FILING_REGION_NOT_OPEN")
        assert "尚未开通" in refused["message"]
    assert not OutboxMessage.objects.filter(kind__startswith="filing.").exists() and not Filing.objects.exists()


def test_same_province_other_city_when_the_region_treats_it_as_filed(activated):
    """高建华 of 沈阳 (210100): 辽宁's policy says another region of the province needs a filing
    (same_province "filed"), so 大连 is a destination; 沈阳 itself and the whole of 辽宁 are not."""
    person = activated(P["cross_lowest"])
    assert person.get("/api/filings/rules").json()["same_province"] == "filed"
    for dest in ("210100", "210000"):
        _error(person.file(body(TEMPORARY, dest_admdvs=dest)), 400, "FILING_DEST_SAME_PROVINCE")
    out = person.file(body(TEMPORARY, dest_admdvs="210200"))
    assert out.status_code == 201 and out.json()["dest_name"] == "辽宁省大连市", out.content
    assert person.file(body(LONG_TERM)).status_code == 201  # another province, as for anyone


def test_same_province_is_refused_where_the_region_treats_it_as_local(activated):
    """林志远 of 石家庄 (130100): 河北 settles 保定 as local (same_province "local"): no filing there."""
    person = activated(P["cross_filer"])
    assert person.get("/api/filings/rules").json()["same_province"] == "local"
    for dest in ("130600", "130100", "130000"):
        _error(person.file(body(TEMPORARY, dest_admdvs=dest)), 400, "FILING_DEST_SAME_PROVINCE")


def test_rules_unavailable_when_the_core_is_down(filer, settings):
    settings.SETTLEMENT_CORE_URL = "http://127.0.0.1:9/core"
    settings.SETTLEMENT_CORE_RETRIES = 0
    refused = _error(filer.file(body(TEMPORARY)), 503, "FILING_RULES_UNAVAILABLE")
    assert "稍后" in refused["message"]
    assert not Filing.objects.exists() and not _outbox("filing.created")


# --- who may see what -----------------------------------------------------------------------------

def test_another_persons_filing_is_not_found(filer, stranger):
    mine = filer.file(body(TEMPORARY)).json()
    for method, path, data in (("get", "", None), ("post", "/cancel", {}), ("post", "/change", {"dest_admdvs": "420100"})):
        theirs = getattr(stranger, method)(f"/api/filings/{mine['id']}{path}", *([data] if data is not None else []))
        nothing = getattr(stranger, method)(f"/api/filings/flnothere{path}", *([data] if data is not None else []))
        assert _error(theirs, 404, "FILING_NOT_FOUND") == _error(nothing, 404, "FILING_NOT_FOUND")
    assert stranger.get("/api/filings").json() == []
    assert Filing.objects.get(public_id=mine["id"]).status == "active"


def test_not_activated(client):
    from tests.support.app import AppClient

    app = AppClient(client).login()
    _error(app.get("/api/filings"), 403, "NOT_ACTIVATED")
    _error(app.post("/api/filings", body(TEMPORARY)), 403, "NOT_ACTIVATED")
    assert client.get("/api/filings").json()["code"] == "UNAUTHENTICATED"


def test_idempotency_key_replays_the_first_filing(filer):
    first = filer.file(body(TEMPORARY), key="k-1")
    again = filer.file(body(TEMPORARY), key="k-1")
    assert first.status_code == again.status_code == 201 and first.json() == again.json()
    assert Filing.objects.count() == 1 and len(_outbox("filing.created")) == 1
    _error(filer.file(body(TEMPORARY, dest_admdvs="420100"), key="k-1"), 409, "IDEMPOTENCY_KEY_REUSED")
    _error(filer.file(body(TEMPORARY), key="键"), 400, "VALIDATION_ERROR")


@pytest.mark.parametrize("raw", [
    {"type": "temporary_other", "dest_admdvs": "510100", "begin_date": "2026/01/01"},
    {"type": "temporary_other", "dest_admdvs": "510100", "begin_date": "２０２６-01-01"},
    {"type": "temporary_other", "dest_admdvs": "510100", "begin_date": "2026-W01-1"},
    {"type": "temporary_other", "dest_admdvs": "510100", "begin_date": "2026-02-30"},
    {"type": "temporary_other", "dest_admdvs": 510100, "begin_date": "2026-01-01"},
    {"type": "temporary_other", "dest_admdvs": "44030", "begin_date": "2026-01-01"},
    {"type": "nope", "dest_admdvs": "510100", "begin_date": "2026-01-01"},
    {"type": "long_term_residence", "dest_admdvs": "440300", "begin_date": "2026-01-01", "basis": "commitment",
     "commitment_accepted": "true"},
    {"type": "referral", "dest_admdvs": "310100", "begin_date": "2026-01-01", "referral": "J18.900"},
    {},
])
def test_bad_bodies_are_validation_errors(filer, raw):
    payload = _error(filer.post("/api/filings", raw), 400, "VALIDATION_ERROR")
    assert payload["detail"]["fields"]
    assert not Filing.objects.exists()


# --- expiry ---------------------------------------------------------------------------------------

def test_expiry_reminder_is_sent_once_and_the_sweep_expires(filer):
    soon = filer.file(body(TEMPORARY, end_date=days(10))).json()
    later = filer.file(body(TEMPORARY, dest_admdvs="420100", end_date=days(40))).json()
    assert soon["expiring"] is True and later["expiring"] is False
    assert filing_reminders_send() == {"sent": 1, "more": False}
    assert filing_reminders_send() == {"sent": 0, "more": False}
    [notice] = filer.get("/api/filings/notices").json()
    assert notice["filing_id"] == soon["id"] and notice["end_date"] == days(10) and notice["kind"] == "filing.expiring"
    assert "四川省成都市" in notice["message"] and "到期" in notice["message"]
    assert FilingEvent.objects.filter(kind="reminded").count() == 1
    # Twenty-five days on, the second one is due; the first is not reminded again.
    assert filing_reminders_send(now=today() + dt.timedelta(days=25)) == {"sent": 1, "more": False}
    assert filing_expire_sweep(now=today() + dt.timedelta(days=11)) == 1
    assert Filing.objects.get(public_id=soon["id"]).status == "expired"
    assert filer.get(f"/api/filings/{soon['id']}").json()["status_name"] == "已过期"
    _error(filer.post(f"/api/filings/{soon['id']}/cancel", {}), 409, "FILING_NOT_ACTIVE")


def test_regions_picker(filer):
    provinces = filer.get("/api/filings/regions").json()["provinces"]
    assert len(provinces) == 31
    guangdong = next(p for p in provinces if p["code"] == "440000")
    assert {"code": "440300", "name": "深圳市"} in guangdong["cities"]
