"""Reads of the accounts domain that other apps use."""

from __future__ import annotations

from common import idnumber

from .models import AuditEvent, Person, PinResetTicket


def person_id_for_psn_no(psn_no: str) -> int | None:
    """The wallet user's person id for a national psn_no, or None."""
    return Person.objects.filter(psn_no=psn_no).values_list("pk", flat=True).first()


def persons_lock(*person_ids: int) -> None:
    """Inside the caller's transaction: lock these persons' rows in pk order
    (one fixed order, so two flows locking the same pair never deadlock).
    Family bindings check their limits (relatives per binder, binders per
    relative) under this lock."""
    list(Person.objects.select_for_update().filter(pk__in=sorted(set(person_ids))).order_by("pk").values_list("pk"))




# --- support staff (issue #15): lookups, tickets, the audit trail -------------------------

def person_get(person_id: int):
    return Person.objects.filter(pk=person_id).first()


def person_by_id_number(id_number: str):
    """Matched through the keyed hash only (never a LIKE on clear text)."""
    if not idnumber.is_valid(id_number):
        return None
    return Person.objects.filter(id_number_hash=Person.hash_id_number(id_number)).first()


def person_by_psn_no(psn_no: str):
    return Person.objects.filter(psn_no=psn_no).first()


def persons_by_name_birth(name: str, birth_date, *, limit: int = 10) -> list:
    return list(Person.objects.filter(name=name, birth_date=birth_date).order_by("pk")[:limit])


def reset_ticket_get(public_id: str):
    return PinResetTicket.objects.select_related("person").filter(public_id=str(public_id or "")).first()


def reset_ticket_list(person, *, limit: int = 20) -> list:
    return list(PinResetTicket.objects.filter(person=person).order_by("-created_at", "-id")[:limit])


def audit_event_search(*, psn_no: str = "", actor: str = "", action: str = "", date_from=None, date_to=None):
    """The audit trail, newest first, filtered by person (psn_no), actor
    (exact), action (exact, or a prefix ending in '.') and local dates
    (inclusive). A queryset: the caller pages or streams it."""
    events = AuditEvent.objects.select_related("person").order_by("-id")
    if psn_no:
        events = events.filter(person__psn_no=psn_no)
    if actor:
        events = events.filter(actor=actor)
    if action:
        events = events.filter(action__startswith=action) if action.endswith(".") else events.filter(action=action)
    if date_from is not None:
        events = events.filter(occurred_at__date__gte=date_from)
    if date_to is not None:
        events = events.filter(occurred_at__date__lte=date_to)
    return events
