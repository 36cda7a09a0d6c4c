"""Staff-started PIN reset tickets (issue #15), the seam between the support
console (staff/, which creates and cancels them) and the person's forgot-PIN
flow (which completes them). Lives in accounts so that both sides reach it
downward (docs/architecture.md, "Dependency order"); see
/work/notes/issue15-seams.md and docs/subsystems/staff.md.

A ticket never carries a PIN: it only says "this person may reset their PIN
on their own phone, with their own liveness check, until ``expires_at``".
The person-side flow:

1. ``reset_ticket_for_person(person)`` -> the open, unexpired ticket or None
   (show "客服已为您发起支付密码重置" and lead into forgot-PIN).
2. liveness for the person's own identity, new PIN twice (the person-side
   service checks and stores them).
3. in the same transaction as the new PIN: ``reset_ticket_complete(
   ticket_id=..., person=..., actor=..., channel=..., ip=...)``: single use,
   for this person only, before expiry; audited.
"""

from __future__ import annotations

import datetime as dt
import secrets

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from common.errors import ApplicationError

from ..enums import AuditOutcome, ResetTicketStatus
from ..models import PinResetTicket
from . import audit_record

TICKET_NOT_FOUND = ("RESET_TICKET_NOT_FOUND", "未找到该密码重置工单")


def _ttl() -> dt.timedelta:
    return dt.timedelta(hours=getattr(settings, "STAFF_RESET_TICKET_TTL_HOURS", 24))


def reset_ticket_create(*, person, actor: str, team: str, reason: str, ip: str | None = None) -> PinResetTicket:
    """Inside the caller's transaction (staff/services): open a ticket for
    ``person``. At most one open ticket per person: an open one is refused
    with RESET_TICKET_ALREADY_OPEN (cancel it first); expired ones are closed."""
    now = timezone.now()
    PinResetTicket.objects.filter(person=person, status=ResetTicketStatus.OPEN, expires_at__lte=now).update(
        status=ResetTicketStatus.EXPIRED, closed_at=now, closed_by="system:expiry")
    if PinResetTicket.objects.select_for_update().filter(person=person, status=ResetTicketStatus.OPEN).exists():
        raise ApplicationError("RESET_TICKET_ALREADY_OPEN", "该参保人已有未完成的密码重置工单，请勿重复发起", status=409)
    ticket = PinResetTicket.objects.create(public_id=secrets.token_hex(12), person=person, created_by=actor,
                                           team=team, reason=reason, expires_at=now + _ttl())
    audit_record(action="pin.reset_ticket.create", outcome=AuditOutcome.SUCCESS, actor=actor, person=person, ip=ip,
                 detail={"ticket_id": ticket.public_id, "reason": reason, "expires_at": ticket.expires_at.isoformat()})
    return ticket


def reset_ticket_for_person(person) -> PinResetTicket | None:
    """The person's open, unexpired ticket, or None. For the person-side
    forgot-PIN page (never takes a ticket id from the client)."""
    if person is None:
        return None
    return (PinResetTicket.objects.filter(person=person, status=ResetTicketStatus.OPEN, expires_at__gt=timezone.now())
            .order_by("-created_at").first())


@transaction.atomic
def reset_ticket_complete(*, ticket_id: str, person, actor: str, channel: str = "", ip: str | None = None
                          ) -> PinResetTicket:
    """Close the ticket as completed by ``person`` (after their liveness check
    and new PIN, in the same transaction). Refusals: RESET_TICKET_NOT_FOUND
    (404: unknown, or another person's — the same answer), RESET_TICKET_USED
    (409: completed or cancelled), RESET_TICKET_EXPIRED (410)."""
    ticket = (PinResetTicket.objects.select_for_update().filter(public_id=str(ticket_id or ""), person=person).first()
              if person is not None else None)
    if ticket is None:
        raise ApplicationError(*TICKET_NOT_FOUND, status=404)
    now = timezone.now()
    if ticket.status != ResetTicketStatus.OPEN:
        raise ApplicationError("RESET_TICKET_USED", "该密码重置工单已使用或已撤销，请联系客服重新发起", status=409)
    if ticket.expires_at <= now:
        PinResetTicket.objects.filter(pk=ticket.pk, status=ResetTicketStatus.OPEN).update(
            status=ResetTicketStatus.EXPIRED, closed_at=now, closed_by="system:expiry")
        raise ApplicationError("RESET_TICKET_EXPIRED", "该密码重置工单已过期，请联系客服重新发起", status=410)
    if not PinResetTicket.objects.filter(pk=ticket.pk, status=ResetTicketStatus.OPEN).update(
            status=ResetTicketStatus.COMPLETED, closed_at=now, closed_by=actor, channel=channel):
        raise ApplicationError("RESET_TICKET_USED", "该密码重置工单已使用或已撤销，请联系客服重新发起", status=409)
    audit_record(action="pin.reset_ticket.complete", outcome=AuditOutcome.SUCCESS, actor=actor, person=person,
                 channel=channel, ip=ip, detail={"ticket_id": ticket.public_id})
    ticket.refresh_from_db()
    return ticket


def reset_ticket_cancel(*, ticket: PinResetTicket, actor: str, reason: str, ip: str | None = None) -> PinResetTicket:
    """Inside the caller's transaction (staff/services, which checks who may)."""
    now = timezone.now()
    if not PinResetTicket.objects.filter(pk=ticket.pk, status=ResetTicketStatus.OPEN).update(
            status=ResetTicketStatus.CANCELLED, closed_at=now, closed_by=actor):
        raise ApplicationError("RESET_TICKET_USED", "该密码重置工单已完成、已撤销或已过期", status=409)
    audit_record(action="pin.reset_ticket.cancel", outcome=AuditOutcome.SUCCESS, actor=actor, person=ticket.person,
                 ip=ip, detail={"ticket_id": ticket.public_id, "reason": reason})
    ticket.refresh_from_db()
    return ticket


def reset_ticket_effective_status(ticket: PinResetTicket) -> str:
    if ticket.status == ResetTicketStatus.OPEN and ticket.expires_at <= timezone.now():
        return ResetTicketStatus.EXPIRED
    return ticket.status
