"""Reads of the sync state (outbox depth and age, pulls, reconciliation) and
of what the pulls brought (account credits)."""

from __future__ import annotations

from django.db.models import Min
from django.utils import timezone

from common.money import fen_to_yuan

from .enums import OutboxStatus
from .models import AccountCredit, OutboxMessage, PolicyVersion, ReconciliationRun, SyncCursor


def outbox_oldest_pending_age() -> float | None:
    """Seconds since the oldest unsent (pending or in-flight) outbox row was written, or None."""
    oldest = (OutboxMessage.objects.filter(status__in=[OutboxStatus.PENDING, OutboxStatus.SENDING])
              .aggregate(m=Min("created_at"))["m"])
    if oldest is None:
        return None
    return (timezone.now() - oldest).total_seconds()


def sync_status() -> dict:
    """What operators look at: outbox depth, oldest pending age, dead letters,
    last successful pull per cursor, last reconciliation."""
    counts = {s: OutboxMessage.objects.filter(status=s).count() for s in OutboxStatus.values}
    age = outbox_oldest_pending_age()
    cursors = {c.name: {"position": c.position, "last_success_at": c.last_success_at, "last_error": c.last_error}
               for c in SyncCursor.objects.order_by("name")}
    run = ReconciliationRun.objects.first()
    return {
        "outbox": {"pending": counts["pending"], "sending": counts["sending"], "sent": counts["sent"],
                   "dead": counts["dead"], "oldest_pending_age_s": None if age is None else int(age)},
        "dead_letters": list(OutboxMessage.objects.filter(status=OutboxStatus.DEAD).order_by("id")
                             .values("message_id", "person_key", "kind", "attempts", "last_error")[:50]),
        "pulls": cursors,
        "last_reconciliation": None if run is None else {
            "day": run.day, "finished_at": run.finished_at, "differences": run.differences,
            "settlements": run.settlements, "institutions": run.institutions, "error": run.error},
    }


def account_credit_notifications(psn_no: str, *, limit: int = 50) -> list[dict]:
    """Money that arrived in this person's personal account (pulled from the
    core), newest first, as the notifications the app lists: ``{kind, title,
    message, amount (yuan string), at}`` — the list behind the
    ``account.credited`` push."""
    credits = AccountCredit.objects.filter(psn_no=psn_no).order_by("-credited_at", "-id")[:limit]
    return [{"kind": "account.credited", "title": "个人账户到账",
             "message": f"个人账户到账 {fen_to_yuan(c.amount_fen)} 元",
             "amount": fen_to_yuan(c.amount_fen), "at": c.credited_at} for c in credits]


def policy_params_current(region: str, insutype: str, day=None) -> dict | None:
    """The region's policy parameters in force on ``day`` (today), as last
    pulled from the core (9303), or None when none was pulled."""
    day = day or timezone.localdate()
    row = (PolicyVersion.objects.filter(region=region, insutype=insutype, effective_from__lte=day)
           .order_by("-effective_from", "-version").first())
    return row.params if row is not None else None
