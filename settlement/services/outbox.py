"""The outbox: wallet changes the core must learn.

Written with ``outbox_enqueue`` inside the transaction of the change itself
(never a bare ``.delay()``), so a change and its message commit or vanish
together. Workers relay (``outbox_relay``):

- **in order per person**: only the oldest unsent message of a person is
  eligible; the next waits until it is sent (a dead letter holds the line
  until an operator replays it);
- **at least once**: a message is claimed with a lease; if the worker dies,
  the lease runs out and another worker sends it again;
- **at most once at the core**: the core applies each ``message_id`` once and
  acknowledges duplicates;
- **backoff**: exponential with full jitter, dead after OUTBOX_MAX_ATTEMPTS.
See docs/subsystems/sync.md.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import time
import uuid

from celery import current_app
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Min, Q
from django.utils import timezone

from settlement.client import core_client
from settlement.errors import CoreError, CoreRefused

from ..enums import OutboxStatus
from ..models import OutboxMessage

logger = logging.getLogger(__name__)
CORE_EVENTS_INFNO = "9201"
OUTBOX_RELAY_TASK = "settlement.outbox_relay"  # settlement/tasks.py outbox_relay_task


def outbox_enqueue(*, kind: str, person_key: str, payload: dict | None = None) -> OutboxMessage:
    """Record a change for the core. Must run inside the change's transaction."""
    if not connection.in_atomic_block:
        raise RuntimeError("outbox_enqueue must be called inside the transaction of the change it records")
    message = OutboxMessage.objects.create(
        message_id=str(uuid.uuid4()), person_key=person_key, kind=kind, payload=payload or {},
        next_attempt_at=timezone.now(),
    )
    transaction.on_commit(_nudge)
    return message


def _nudge() -> None:
    """Ask a worker to relay soon. Losing this is harmless: beat relays too."""
    try:
        # By name, not by importing settlement.tasks (which imports this module).
        current_app.send_task(OUTBOX_RELAY_TASK, expires=60)
    except Exception:  # broker down: the row is safe in the database; beat will pick it up
        logger.info("outbox nudge not sent (broker unavailable)")


def _backoff(attempts: int) -> float:
    cap = min(settings.OUTBOX_BACKOFF_MAX_SECONDS, settings.OUTBOX_BACKOFF_BASE_SECONDS * 2 ** max(0, attempts - 1))
    return random.uniform(cap / 2, cap)  # "equal jitter": never zero, never in lockstep


def outbox_claim(limit: int, now: dt.datetime | None = None) -> list[OutboxMessage]:
    """Claim up to ``limit`` messages, at most one per person: each person's
    oldest unsent message, if it is due (or its lease has expired)."""
    now = now or timezone.now()
    unsent = OutboxMessage.objects.filter(status__in=[OutboxStatus.PENDING, OutboxStatus.SENDING, OutboxStatus.DEAD])
    heads = (unsent.values("person_key").annotate(head=Min("id")).values_list("head", flat=True))
    due = (OutboxMessage.objects.filter(pk__in=heads)
           .filter(Q(status=OutboxStatus.PENDING, next_attempt_at__lte=now)
                   | Q(status=OutboxStatus.SENDING, lease_until__lt=now))
           .order_by("next_attempt_at", "id")[: limit * 2])
    claimed = []
    lease = now + dt.timedelta(seconds=settings.OUTBOX_LEASE_SECONDS)
    for message in due:
        took = OutboxMessage.objects.filter(pk=message.pk, status=message.status, lease_until=message.lease_until).update(
            status=OutboxStatus.SENDING, lease_until=lease, attempts=message.attempts + 1)
        if took:
            message.status, message.lease_until, message.attempts = OutboxStatus.SENDING, lease, message.attempts + 1
            claimed.append(message)
            if len(claimed) >= limit:
                break
    return claimed


def _event(message: OutboxMessage) -> dict:
    return {"message_id": message.message_id, "person_key": message.person_key, "sequence": message.pk,
            "kind": message.kind, "payload": message.payload, "created_at": message.created_at.isoformat()}


def _mark_sent(message: OutboxMessage) -> None:
    OutboxMessage.objects.filter(pk=message.pk, status=OutboxStatus.SENDING).update(
        status=OutboxStatus.SENT, sent_at=timezone.now(), lease_until=None, last_error="")


def _mark_failed(message: OutboxMessage, error: str) -> None:
    dead = message.attempts >= settings.OUTBOX_MAX_ATTEMPTS
    OutboxMessage.objects.filter(pk=message.pk, status=OutboxStatus.SENDING).update(
        status=OutboxStatus.DEAD if dead else OutboxStatus.PENDING, lease_until=None, last_error=error[:300],
        next_attempt_at=timezone.now() + dt.timedelta(seconds=_backoff(message.attempts)))
    if dead:
        logger.error("outbox message %s dead after %s attempts: %s", message.message_id, message.attempts, error)


def outbox_send(messages: list[OutboxMessage], *, batch_size: int | None = None) -> tuple[int, int]:
    """Send claimed messages to the core; returns (sent, failed)."""
    batch_size = batch_size or settings.OUTBOX_BATCH_SIZE
    sent = failed = 0
    for start in range(0, len(messages), batch_size):
        chunk = messages[start:start + batch_size]
        try:
            output = core_client().call(CORE_EVENTS_INFNO, {"events": [_event(m) for m in chunk]})
        except (CoreError, CoreRefused) as exc:
            for message in chunk:
                _mark_failed(message, f"{type(exc).__name__}: {exc}")
            failed += len(chunk)
            continue
        results = {r.get("message_id"): r for r in output.get("results", [])}
        for message in chunk:
            result = results.get(message.message_id, {"result": "error", "error": "no result for this message"})
            if result.get("result") in ("applied", "duplicate"):
                _mark_sent(message)
                sent += 1
            else:
                _mark_failed(message, str(result.get("error") or result))
                failed += 1
    return sent, failed


def outbox_relay(*, budget_seconds: float | None = None, batch_size: int | None = None) -> dict:
    """Relay until nothing is due or the time budget is spent. Returns counts
    and whether work remains (the task then re-enqueues itself)."""
    budget = settings.OUTBOX_RELAY_BUDGET_SECONDS if budget_seconds is None else budget_seconds
    batch_size = batch_size or settings.OUTBOX_BATCH_SIZE
    deadline = time.monotonic() + budget
    totals = {"sent": 0, "failed": 0, "more": False}
    while time.monotonic() < deadline:
        claimed = outbox_claim(max(batch_size, 1))
        if not claimed:
            return totals
        sent, failed = outbox_send(claimed, batch_size=batch_size)
        totals["sent"] += sent
        totals["failed"] += failed
        if sent == 0:
            break  # the core is failing: let backoff space the next tries
    totals["more"] = outbox_due_exists()
    return totals


def outbox_due_exists() -> bool:
    return OutboxMessage.objects.filter(status=OutboxStatus.PENDING, next_attempt_at__lte=timezone.now()).exists()


def outbox_replay(*, message_ids: list[str] | None = None, all_dead: bool = False) -> int:
    """Operator: put dead letters back in line (attempts reset)."""
    rows = OutboxMessage.objects.filter(status=OutboxStatus.DEAD)
    if not all_dead:
        rows = rows.filter(message_id__in=message_ids or [])
    count = rows.update(status=OutboxStatus.PENDING, attempts=0, next_attempt_at=timezone.now(), last_error="")
    if count:
        _nudge()
    return count


def outbox_purge_sent(*, older_than_days: int | None = None, batch: int = 5000) -> int:
    """Housekeeping: drop sent messages past their keep period, in bounded batches."""
    days = settings.OUTBOX_KEEP_SENT_DAYS if older_than_days is None else older_than_days
    cutoff = timezone.now() - dt.timedelta(days=days)
    ids = list(OutboxMessage.objects.filter(status=OutboxStatus.SENT, sent_at__lt=cutoff)
               .values_list("pk", flat=True)[:batch])
    return OutboxMessage.objects.filter(pk__in=ids).delete()[0] if ids else 0
