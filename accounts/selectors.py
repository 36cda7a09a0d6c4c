"""Reads of the accounts domain that other apps use."""

from __future__ import annotations

from django.conf import settings
from django.utils import timezone

from common import idnumber

from .models import AuditChainHead, AuditEvent, Person, PinResetTicket
from .services.audit_checkpoint import BadLine, checkpoint_last


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


def audit_checkpoint_status() -> dict:
    """The last line of the audit chain's checkpoint store, for the auditor's
    page: ``checkpoint`` (null when the store is empty or its last line is
    unreadable) with ``signature_valid`` and ``chain_consistent`` — the chain
    in the database now has at least ``seq`` sealed events and the event at
    ``seq`` has this chain_hash (one look at one row; ``audit_verify`` checks
    every link against every checkpoint) — and ``problem``, in Chinese, blank
    when there is none."""
    entry = checkpoint_last(valid_only=False)
    checkpoint, problem = entry, ""
    if isinstance(entry, BadLine):
        checkpoint = entry.checkpoint
        problem = "检查点签名无效（伪造或被改动）" if checkpoint is not None else "检查点文件的最后一行无法解析"
    elif entry is None:
        problem = "尚无检查点"
    if checkpoint is None:
        return {"checkpoint": None, "problem": problem, "interval_seconds": settings.AUDIT_CHECKPOINT_INTERVAL_SECONDS}
    head = AuditChainHead.objects.filter(pk=1).values_list("seq", flat=True).first() or 0
    if checkpoint.seq == 0:
        consistent = True
    else:
        stored = AuditEvent.objects.filter(seq=checkpoint.seq).values_list("chain_hash", flat=True).first()
        consistent = head >= checkpoint.seq and stored == checkpoint.chain_hash
    if not consistent and not problem:
        problem = "当前审计链不是该检查点的延续（最新事件可能被删除），请运行 audit_verify"
    return {"checkpoint": {"seq": checkpoint.seq, "chain_hash": checkpoint.chain_hash,
                           "created_at": timezone.localtime(checkpoint.at), "key_id": checkpoint.key_id,
                           "signature_valid": not isinstance(entry, BadLine),
                           "chain_consistent": consistent},
            "problem": problem, "interval_seconds": settings.AUDIT_CHECKPOINT_INTERVAL_SECONDS}
