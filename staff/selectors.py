"""Reads of the support console. What a staff member sees of a person is
masked: the ID number as 110***********1234, the phone (if ever held) as
138****5678, relatives' names as *三; never a PIN, a PIN hash, a code secret
or a full ID number (tests/staff scan every staff response for them)."""

from __future__ import annotations

from django.utils import timezone

from accounts.enums import ResetTicketStatus
from accounts.selectors import audit_checkpoint_status, audit_event_search, reset_ticket_list
from accounts.services.reset_tickets import reset_ticket_effective_status
from common.money import fen_to_yuan
from family.selectors import binder_list, name_masked, relative_list
from referrals.selectors import effective_status, filing_list
from wallet.selectors import authorization_list, voucher_get
from payments.selectors import payment_record_list
from wallet.services.pin import pin_is_locked

from .enums import RequestStatus
from .models import ApprovalRequest, Case, CaseNote, StaffAlert, StaffMember


def phone_masked(phone: str | None) -> str | None:
    if not phone:
        return None
    return phone[:3] + "*" * max(0, len(phone) - 7) + phone[-4:] if len(phone) >= 7 else "*" * len(phone)


def person_summary(case: Case) -> dict:
    person = case.person
    voucher = voucher_get(person)
    return {"case_id": case.public_id, "psn_no": person.psn_no, "name": person.name,
            "id_number_masked": person.id_number_masked, "gender": person.gender, "birth_date": person.birth_date,
            "insutype": person.insutype, "insured_region": person.insured_region,
            "voucher_status": voucher.status if voucher else None, "expires_at": case.expires_at}


def _ticket_view(ticket) -> dict:
    return {"id": ticket.public_id, "status": reset_ticket_effective_status(ticket), "created_by": ticket.created_by,
            "team": ticket.team, "reason": ticket.reason, "created_at": ticket.created_at,
            "expires_at": ticket.expires_at, "closed_at": ticket.closed_at, "channel": ticket.channel}


def request_view(request: ApprovalRequest) -> dict:
    return {"id": request.public_id, "kind": request.kind, "status": request.status,
            "psn_no": request.person.psn_no, "person_name": request.person.name,
            "id_number_masked": request.person.id_number_masked, "team": request.team.name,
            "requested_by": request.requested_by.user.username, "reason": request.reason,
            "id_checked": request.id_checked, "created_at": request.created_at,
            "decided_by": request.decided_by.user.username if request.decided_by else None,
            "decided_at": request.decided_at, "decision_reason": request.decision_reason}


def _family(person) -> list[dict]:
    """Bindings both ways, through family's selectors. Names masked (*三)."""
    rows = []
    for binding in relative_list(person):
        relative = binding.get("relative") or {}
        mutual_aid = binding.get("mutual_aid")
        rows.append({"id": binding.get("id"), "direction": "relative", "relation_name": binding.get("relation_name"),
                     "other_name_masked": name_masked(relative.get("name", "")),
                     "other_id_number_masked": relative.get("id_number_masked", ""),
                     "status": binding.get("status"),
                     "mutual_aid_status": mutual_aid.get("status") if isinstance(mutual_aid, dict) else None})
    for binding in binder_list(person):
        rows.append({"id": binding.get("id"), "direction": "binder", "relation_name": binding.get("relation_name"),
                     "other_name_masked": binding.get("binder_name_masked", ""),
                     "other_id_number_masked": binding.get("binder_id_number_masked", ""),
                     "status": binding.get("status"), "mutual_aid_status": None})
    return rows


def _filings(person) -> list[dict]:
    return [{"id": f.public_id, "filing_no": f.filing_no, "type": f.type, "status": effective_status(f),
             "dest_admdvs": f.dest_admdvs, "begin_date": f.begin_date, "end_date": f.end_date}
            for f in filing_list(person.psn_no)[:20]]


def case_view(case: Case) -> dict:
    """Everything the console shows of the case's person, masked. Open reset
    tickets and pending requests of the case's team (the team of the staff
    member whose case it is) in full; another team's only as counts
    (``other_teams_open``): no id, author, reason or date of theirs."""
    person = case.person
    team = case.staff.team
    voucher = voucher_get(person)
    locked = bool(voucher and pin_is_locked(voucher))
    pending = ApprovalRequest.objects.select_related("person", "team", "requested_by__user", "decided_by__user").filter(
        person=person, status=RequestStatus.PENDING).order_by("-created_at")
    tickets = [t for t in reset_ticket_list(person) if reset_ticket_effective_status(t) == ResetTicketStatus.OPEN]
    notes = CaseNote.objects.select_related("author__user").filter(person=person).order_by("-created_at", "-id")[:50]
    return {
        **person_summary(case),
        "reason": case.reason,
        "phone_masked": None,  # the wallet holds no phone number for a person (yet)
        "enrolment_status": person.enrolment_status,
        "voucher": None if voucher is None else {
            "status": voucher.status, "activated_at": voucher.activated_at, "pin_set": bool(voucher.pin_hash),
            "pin_locked": locked, "pin_locked_until": voucher.pin_locked_until if locked else None,
            "pin_failures": voucher.pin_failures},
        "authorizations": [{"id": a.pk, "channel": a.channel, "status": a.status, "created_at": a.created_at,
                            "revoked_at": a.revoked_at} for a in authorization_list(person)],
        "family": _family(person),
        "filings": _filings(person),
        "payments": [{"id": p.public_id, "institution": p.institution.name, "amount": fen_to_yuan(p.medfee_fen),
                      "status": p.status, "created_at": p.created_at} for p in payment_record_list(person, limit=10)],
        "reset_tickets": [_ticket_view(t) for t in tickets if t.team == team.name],
        "requests": [request_view(r) for r in pending.filter(team=team)],
        "other_teams_open": {"reset_tickets": sum(t.team != team.name for t in tickets),
                             "requests": pending.exclude(team=team).count()},
        "notes": [{"id": n.pk, "author": n.author.user.username, "text": n.text, "created_at": n.created_at}
                  for n in notes],
    }


def ticket_view(ticket) -> dict:
    return _ticket_view(ticket)


def request_list(member: StaffMember, *, status: str | None = None) -> list[ApprovalRequest]:
    """A supervisor sees the team's queue; an agent their own requests."""
    requests = ApprovalRequest.objects.select_related("person", "team", "requested_by__user", "decided_by__user")
    if member.user.has_perm("staff.team_queue_view"):
        requests = requests.filter(team=member.team)
    else:
        requests = requests.filter(requested_by=member)
    if status:
        requests = requests.filter(status=status)
    return list(requests.order_by("-created_at", "-id")[:200])


def alert_list(member: StaffMember) -> list[StaffAlert]:
    return list(StaffAlert.objects.filter(team=member.team).order_by("-created_at", "-id")[:200])


def audit_events(filters: dict):
    return audit_event_search(psn_no=filters.get("psn_no") or "", actor=filters.get("actor") or "",
                              action=filters.get("action") or "", date_from=filters.get("date_from"),
                              date_to=filters.get("date_to"))


def audit_checkpoint() -> dict:
    """The audit chain's last checkpoint outside the database (accounts' store)."""
    return audit_checkpoint_status()


def audit_row(event) -> dict:
    return {"id": event.pk, "seq": event.seq, "occurred_at": timezone.localtime(event.occurred_at),
            "action": event.action, "outcome": event.outcome, "actor": event.actor,
            "psn_no": event.person.psn_no if event.person_id else None, "channel": event.channel, "ip": event.ip,
            "code": event.code, "detail": event.detail, "chain_hash": event.chain_hash}
