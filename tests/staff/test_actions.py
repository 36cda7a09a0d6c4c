"""Every staff rule at the service level, through the API: lookup (hash, psn_no,
name + birth date; reason mandatory; audited; limit and alert), the actions
(reset ticket, freeze, revoke, note, unlock / unfreeze with four eyes), and
what staff can never see."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.utils import timezone

from accounts.models import AuditEvent, Person, PinResetTicket
from accounts.services.reset_tickets import reset_ticket_complete, reset_ticket_for_person
from common import demodata
from staff.models import StaffAlert
from wallet.models import Voucher

from .conftest import EMPLOYEE

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("core_url")]
OTHER = demodata.DEMO_PERSONAS["resident"]


def _no_full_ids(staff) -> None:
    secrets_ = [p.id_number for p in demodata.DEMO_PERSONAS.values()]
    for client in vars(staff).values():
        for body in client.bodies:
            text = body.decode()
            for id_number in secrets_:
                assert id_number not in text and id_number[:17] not in text, text[:300]
            assert "pin_hash" not in text and "$argon2" not in text


def test_lookup_three_ways_masked_and_audited(staff, person_app):
    agent = staff.agent_a
    person = Person.objects.get(psn_no=EMPLOYEE.psn_no)
    by_id = agent.post("/api/staff/lookup", {"by": "id_number", "id_number": EMPLOYEE.id_number, "reason": "来电咨询"})
    assert by_id.status_code == 200, by_id.content
    [result] = by_id.json()["results"]
    assert result["psn_no"] == EMPLOYEE.psn_no
    assert result["id_number_masked"] == EMPLOYEE.id_number[:3] + "*" * 11 + EMPLOYEE.id_number[-4:]
    assert result["voucher_status"] == "active"
    by_psn = agent.post("/api/staff/lookup", {"by": "psn_no", "psn_no": EMPLOYEE.psn_no, "reason": "来电咨询"})
    assert by_psn.json()["results"][0]["psn_no"] == EMPLOYEE.psn_no
    by_name = agent.post("/api/staff/lookup", {"by": "name_birth", "name": person.name,
                                               "birth_date": person.birth_date.isoformat(), "reason": "柜台办理"})
    assert [r["psn_no"] for r in by_name.json()["results"]] == [EMPLOYEE.psn_no]
    # a near miss of the ID number (last digit changed, check digit then wrong) never matches by prefix
    near = EMPLOYEE.id_number[:16] + ("0" if EMPLOYEE.id_number[16] != "0" else "1") + EMPLOYEE.id_number[17]
    miss = agent.post("/api/staff/lookup", {"by": "id_number", "id_number": near, "reason": "来电咨询"})
    assert miss.status_code == 400 and miss.json()["code"] == "STAFF_LOOKUP_INVALID"
    events = AuditEvent.objects.filter(action="staff.lookup", outcome="success", person=person).order_by("id")
    assert [e.detail["reason"] for e in events] == ["来电咨询", "来电咨询", "柜台办理"]
    assert events[0].detail["id_number"] == result["id_number_masked"] and events[0].actor == "staff:agent_a"
    case = agent.get(f"/api/staff/cases/{result['case_id']}").json()
    assert case["voucher"]["status"] == "active" and case["voucher"]["pin_locked"] is False
    assert [a["channel"] for a in case["authorizations"]] == ["wechat"]
    assert case["family"] == [] and case["filings"] == [] and case["phone_masked"] is None
    _no_full_ids(staff)


def test_lookup_needs_a_reason(staff, person_app):
    for reason in ("", "  ", "ab"):
        response = staff.agent_a.post("/api/staff/lookup", {"by": "psn_no", "psn_no": EMPLOYEE.psn_no,
                                                            "reason": reason})
        assert response.status_code == 400 and response.json()["code"] == "STAFF_REASON_REQUIRED"
    assert not AuditEvent.objects.filter(action="staff.lookup").exists()


def test_lookup_limit_alerts_supervisors(staff, person_app, settings):
    settings.STAFF_LOOKUPS_PER_HOUR = 2
    for _ in range(2):
        staff.agent_a.lookup()
    refused = staff.agent_a.post("/api/staff/lookup", {"by": "psn_no", "psn_no": EMPLOYEE.psn_no, "reason": "再查一次"})
    assert refused.status_code == 429 and refused.json()["code"] == "STAFF_LOOKUP_LIMIT"
    staff.agent_a.post("/api/staff/lookup", {"by": "psn_no", "psn_no": EMPLOYEE.psn_no, "reason": "再查一次"})
    assert StaffAlert.objects.filter(kind="lookup_limit", subject="agent_a").count() == 1  # once per window
    alerts = staff.supervisor_a.get("/api/staff/alerts").json()
    assert [a["subject"] for a in alerts] == ["agent_a"]
    assert staff.supervisor_b.get("/api/staff/alerts").json() == []  # another team's supervisor
    assert staff.agent_b.lookup()  # another agent's allowance is their own


def test_reset_ticket_completed_once_by_the_person_only(staff, person_app):
    case_id = staff.agent_a.lookup()
    created = staff.agent_a.post(f"/api/staff/cases/{case_id}/reset-tickets", {"reason": "本人来电忘记密码"})
    assert created.status_code == 201, created.content
    ticket_id = created.json()["id"]
    again = staff.agent_a.post(f"/api/staff/cases/{case_id}/reset-tickets", {"reason": "本人来电忘记密码"})
    assert again.status_code == 409 and again.json()["code"] == "RESET_TICKET_ALREADY_OPEN"
    person = Person.objects.get(psn_no=EMPLOYEE.psn_no)
    assert reset_ticket_for_person(person).public_id == ticket_id
    other = Person.objects.create(psn_no="X1", name="某人", id_number_encrypted="v1.x", id_number_hash="h" * 64,
                                  gender="1", birth_date=dt.date(1990, 1, 1), insutype="310", insured_region="110000")
    with pytest.raises(Exception) as foreign:
        reset_ticket_complete(ticket_id=ticket_id, person=other, actor="wechat:x")
    assert foreign.value.code == "RESET_TICKET_NOT_FOUND"
    done = reset_ticket_complete(ticket_id=ticket_id, person=person, actor="wechat:me", channel="wechat")
    assert done.status == "completed" and done.channel == "wechat"
    with pytest.raises(Exception) as twice:
        reset_ticket_complete(ticket_id=ticket_id, person=person, actor="wechat:me")
    assert twice.value.code == "RESET_TICKET_USED"
    assert reset_ticket_for_person(person) is None
    actions = list(AuditEvent.objects.filter(action__startswith="pin.reset_ticket").values_list("action", flat=True))
    assert sorted(actions) == ["pin.reset_ticket.complete", "pin.reset_ticket.create"]


def test_reset_ticket_expires(staff, person_app):
    case_id = staff.agent_a.lookup()
    ticket_id = staff.agent_a.post(f"/api/staff/cases/{case_id}/reset-tickets", {"reason": "本人来电忘记密码"}).json()["id"]
    PinResetTicket.objects.filter(public_id=ticket_id).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    person = Person.objects.get(psn_no=EMPLOYEE.psn_no)
    assert reset_ticket_for_person(person) is None
    with pytest.raises(Exception) as expired:
        reset_ticket_complete(ticket_id=ticket_id, person=person, actor="wechat:me")
    assert expired.value.code == "RESET_TICKET_EXPIRED"
    # a new one may be started once the old one has expired
    assert staff.agent_a.post(f"/api/staff/cases/{case_id}/reset-tickets", {"reason": "重新发起工单"}).status_code == 201


def test_reset_ticket_cancel_by_the_team_only(staff, person_app):
    case_id = staff.agent_a.lookup()
    ticket_id = staff.agent_a.post(f"/api/staff/cases/{case_id}/reset-tickets", {"reason": "本人来电忘记密码"}).json()["id"]
    other_team = staff.agent_b.post(f"/api/staff/reset-tickets/{ticket_id}/cancel", {"reason": "误操作撤销"})
    assert other_team.status_code == 404 and other_team.json()["code"] == "RESET_TICKET_NOT_FOUND"
    cancelled = staff.supervisor_a.post(f"/api/staff/reset-tickets/{ticket_id}/cancel", {"reason": "误操作撤销"})
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    again = staff.agent_a.post(f"/api/staff/reset-tickets/{ticket_id}/cancel", {"reason": "误操作撤销"})
    assert again.status_code == 409 and again.json()["code"] == "RESET_TICKET_USED"


def test_another_teams_open_items_show_only_as_counts(staff, person_app):
    """agent_b (二组) opens the person 一组 is working on: 一组's open ticket and
    pending request are counted, never shown (no id, author, team or reason),
    and cannot be acted on; 一组 still sees them in full."""
    case_a = staff.agent_a.lookup()
    ticket = staff.agent_a.post(f"/api/staff/cases/{case_a}/reset-tickets", {"reason": "一组工单原因甲"}).json()
    staff.agent_a.post(f"/api/staff/cases/{case_a}/freeze", {"reason": "本人来电手机丢失"})
    request = staff.agent_a.post(f"/api/staff/cases/{case_a}/requests",
                                 {"kind": "unfreeze", "reason": "一组申请原因乙"}).json()

    case_b = staff.agent_b.lookup()
    seen = staff.agent_b.get(f"/api/staff/cases/{case_b}")
    assert seen.status_code == 200, seen.content
    body = seen.json()
    assert body["reset_tickets"] == [] and body["requests"] == []
    assert body["other_teams_open"] == {"reset_tickets": 1, "requests": 1}
    text = seen.content.decode()
    for secret in (ticket["id"], request["id"], "agent_a", "一组", "一组工单原因甲", "一组申请原因乙"):
        assert secret not in text, secret
    cancel = staff.agent_b.post(f"/api/staff/reset-tickets/{ticket['id']}/cancel", {"reason": "跨组撤销工单"})
    assert cancel.status_code == 404 and cancel.json()["code"] == "RESET_TICKET_NOT_FOUND"
    withdraw = staff.agent_b.post(f"/api/staff/requests/{request['id']}/withdraw", {"reason": "跨组撤回申请"})
    assert withdraw.status_code == 404 and withdraw.json()["code"] == "REQUEST_NOT_FOUND"
    assert staff.agent_b.get("/api/staff/requests").json() == []

    for member, case_id in ((staff.agent_a, case_a), (staff.supervisor_a, staff.supervisor_a.lookup())):
        own = member.get(f"/api/staff/cases/{case_id}").json()
        assert [(t["id"], t["reason"], t["team"]) for t in own["reset_tickets"]] == [(ticket["id"], "一组工单原因甲", "一组")]
        assert [(r["id"], r["reason"], r["requested_by"]) for r in own["requests"]] == [
            (request["id"], "一组申请原因乙", "agent_a")]
        assert own["other_teams_open"] == {"reset_tickets": 0, "requests": 0}


def test_freeze_then_unfreeze_with_four_eyes(staff, person_app):
    case_id = staff.agent_a.lookup()
    frozen = staff.agent_a.post(f"/api/staff/cases/{case_id}/freeze", {"reason": "本人来电手机丢失"})
    assert frozen.status_code == 200 and frozen.json() == {"status": "frozen"}
    assert person_app.get("/api/voucher/code").json()["code"] == "VOUCHER_UNAVAILABLE"
    again = staff.agent_a.post(f"/api/staff/cases/{case_id}/freeze", {"reason": "本人来电手机丢失"})
    assert again.status_code == 409 and again.json()["code"] == "VOUCHER_STATUS_CONFLICT"
    asked = staff.agent_a.post(f"/api/staff/cases/{case_id}/requests", {"kind": "unfreeze", "reason": "本人找回手机"})
    assert asked.status_code == 201 and asked.json()["status"] == "pending"
    request_id = asked.json()["id"]
    dup = staff.agent_a.post(f"/api/staff/cases/{case_id}/requests", {"kind": "unfreeze", "reason": "本人找回手机"})
    assert dup.status_code == 409 and dup.json()["code"] == "STAFF_REQUEST_PENDING"
    queue = staff.supervisor_a.get("/api/staff/requests", status="pending").json()
    assert [r["id"] for r in queue] == [request_id]
    assert staff.supervisor_b.get("/api/staff/requests").json() == []
    approved = staff.supervisor_a.post(f"/api/staff/requests/{request_id}/approve", {"reason": "核实无误同意"})
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    assert approved.json()["decided_by"] == "supervisor_a"
    assert Voucher.objects.get(person__psn_no=EMPLOYEE.psn_no).status == "active"
    assert person_app.get("/api/voucher/code").status_code == 200
    twice = staff.supervisor_a2.post(f"/api/staff/requests/{request_id}/approve", {"reason": "核实无误同意"})
    assert twice.status_code == 409 and twice.json()["code"] == "STAFF_REQUEST_DECIDED"
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"voucher.freeze", "staff.voucher_freeze", "staff.request.unfreeze", "staff.request.unfreeze.approve",
            "voucher.unfreeze"} <= actions


def test_unlock_needs_id_check_and_another_supervisor(staff, person_app):
    for _ in range(5):
        person_app.post("/api/payments/none/confirm", {})  # no such payment: counts nothing
    voucher = Voucher.objects.get(person__psn_no=EMPLOYEE.psn_no)
    Voucher.objects.filter(pk=voucher.pk).update(pin_failures=5,
                                                 pin_locked_until=timezone.now() + dt.timedelta(hours=24))
    case_id = staff.supervisor_a.lookup()
    assert staff.supervisor_a.get(f"/api/staff/cases/{case_id}").json()["voucher"]["pin_locked"] is True
    unchecked = staff.supervisor_a.post(f"/api/staff/cases/{case_id}/requests", {"kind": "unlock", "reason": "柜台办理解锁"})
    assert unchecked.status_code == 400 and unchecked.json()["code"] == "STAFF_ID_CHECK_REQUIRED"
    asked = staff.supervisor_a.post(f"/api/staff/cases/{case_id}/requests",
                                    {"kind": "unlock", "reason": "柜台办理解锁", "id_checked": True})
    request_id = asked.json()["id"]
    own = staff.supervisor_a.post(f"/api/staff/requests/{request_id}/approve", {"reason": "自己批准自己"})
    assert own.status_code == 403 and own.json()["code"] == "STAFF_SELF_APPROVAL"
    assert AuditEvent.objects.filter(action="staff.request.unlock.decide", code="STAFF_SELF_APPROVAL").count() == 1
    other_team = staff.supervisor_b.post(f"/api/staff/requests/{request_id}/approve", {"reason": "跨组审批"})
    assert other_team.status_code == 404 and other_team.json()["code"] == "REQUEST_NOT_FOUND"
    assert Voucher.objects.get(pk=voucher.pk).pin_locked_until is not None
    approved = staff.supervisor_a2.post(f"/api/staff/requests/{request_id}/approve", {"reason": "核验身份无误"})
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    voucher.refresh_from_db()
    assert voucher.pin_locked_until is None and voucher.pin_failures == 0
    unlock = AuditEvent.objects.get(action="pin.unlock")
    assert unlock.actor == "staff:supervisor_a2" and unlock.detail["was_locked"] is True


def test_deny_and_withdraw(staff, person_app):
    case_id = staff.agent_a.lookup()
    staff.agent_a.post(f"/api/staff/cases/{case_id}/freeze", {"reason": "本人来电手机丢失"})
    first = staff.agent_a.post(f"/api/staff/cases/{case_id}/requests", {"kind": "unfreeze", "reason": "申请解冻"}).json()
    denied = staff.supervisor_a.post(f"/api/staff/requests/{first['id']}/deny", {"reason": "无法核实本人"})
    assert denied.json()["status"] == "denied"
    assert Voucher.objects.get(person__psn_no=EMPLOYEE.psn_no).status == "frozen"
    second = staff.agent_a.post(f"/api/staff/cases/{case_id}/requests", {"kind": "unfreeze", "reason": "再次申请"}).json()
    not_mine = staff.supervisor_a.post(f"/api/staff/requests/{second['id']}/withdraw", {"reason": "撤回申请"})
    assert not_mine.status_code == 404 and not_mine.json()["code"] == "REQUEST_NOT_FOUND"
    withdrawn = staff.agent_a.post(f"/api/staff/requests/{second['id']}/withdraw", {"reason": "撤回申请"})
    assert withdrawn.json()["status"] == "cancelled"


def test_revoke_a_channel_and_annotate(staff, person_app):
    case_id = staff.agent_a.lookup()
    case = staff.agent_a.get(f"/api/staff/cases/{case_id}").json()
    auth_id = case["authorizations"][0]["id"]
    revoked = staff.agent_a.post(f"/api/staff/cases/{case_id}/authorizations/{auth_id}/revoke", {"reason": "本人要求解除"})
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    assert person_app.get("/api/voucher/code").json()["code"] == "CHANNEL_NOT_AUTHORIZED"
    note = staff.agent_a.post(f"/api/staff/cases/{case_id}/notes", {"text": f"本人证件号{EMPLOYEE.id_number}已核验"})
    assert note.status_code == 201 and EMPLOYEE.id_number not in note.json()["text"]
    assert staff.agent_a.get(f"/api/staff/cases/{case_id}").json()["notes"][0]["text"] == note.json()["text"]
    event = AuditEvent.objects.get(action="staff.authorization_revoke")
    assert event.detail["reason"] == "本人要求解除" and event.detail["revoked_channel"] == "wechat"
    _no_full_ids(staff)


def test_no_full_id_number_or_pin_in_any_staff_response(staff, person_app):
    """Walk a whole session of every role and scan every body."""
    case_id = staff.agent_a.lookup()
    staff.agent_a.post("/api/staff/lookup", {"by": "id_number", "id_number": EMPLOYEE.id_number, "reason": "来电咨询"})
    staff.agent_a.post(f"/api/staff/cases/{case_id}/reset-tickets", {"reason": f"工单{EMPLOYEE.id_number}"})
    staff.agent_a.get(f"/api/staff/cases/{case_id}")
    staff.agent_a.post(f"/api/staff/cases/{case_id}/freeze", {"reason": "本人来电手机丢失"})
    staff.agent_a.post(f"/api/staff/cases/{case_id}/requests", {"kind": "unfreeze", "reason": "申请解冻"})
    staff.supervisor_a.get("/api/staff/requests")
    staff.auditor.get("/api/staff/audit/events")
    export = staff.auditor.get("/api/staff/audit/export")
    assert export.status_code == 200 and "staff.lookup" in export.content.decode("utf-8-sig")
    _no_full_ids(staff)
    for event in AuditEvent.objects.all():
        assert EMPLOYEE.id_number not in json.dumps(event.detail, ensure_ascii=False)
