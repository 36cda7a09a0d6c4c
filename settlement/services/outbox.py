"""The outbox: wallet changes the core must learn.

Written with ``outbox_enqueue`` inside the transaction of the change itself
(never a bare ``.delay()``), so a change and its message commit or vanish
together. Workers relay (``outbox_relay``):

- **in order per person**: a claim takes, per person, a run of consecutive
  messages starting at the oldest unsent one, sent in id order in one batch
  (the core applies them in that order and skips the rest of a person's
  after a failure); nothing of a person is sent while an earlier one is
  held by another worker, waiting its backoff or dead (a dead letter holds
  the line until an operator replays it);
- **in bulk**: one claim (a few statements, whatever the batch size), one
  core call per ``OUTBOX_BATCH_SIZE`` messages, one UPDATE marking them sent;
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
from django.db.models import F, Min, Q
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


_UNSENT = (OutboxStatus.PENDING, OutboxStatus.SENDING, OutboxStatus.DEAD)


def _claimable(now: dt.datetime) -> Q:
    return Q(status=OutboxStatus.PENDING, next_attempt_at__lte=now) | Q(status=OutboxStatus.SENDING, lease_until__lt=now)


def outbox_claim(limit: int, now: dt.datetime | None = None) -> list[OutboxMessage]:
    """Claim up to ``limit`` messages, in id order: per person a run of
    consecutive unsent messages starting at the person's oldest unsent one
    (its head), the head due (or its lease expired), each follower pending
    and due too; when there are fewer due heads than ``limit``, the rest is
    shared out as followers (so a few busy persons still fill a batch).

    Set-based: one query for the heads, one for the followers, one UPDATE
    that claims them all with a lease unique to this claim, one SELECT of
    what this claim got, one check that each person's run still starts at
    the head with nothing of another worker's in between (two workers
    claiming at once may split a person's run: the later part is handed
    back at once, never sent ahead of the earlier)."""
    now = now or timezone.now()
    limit = max(limit, 1)
    unsent = OutboxMessage.objects.filter(status__in=_UNSENT)
    heads_subquery = unsent.values("person_key").annotate(head=Min("id")).values_list("head", flat=True)
    heads = list(OutboxMessage.objects.filter(pk__in=heads_subquery).filter(_claimable(now))
                 .order_by("next_attempt_at", "id").values_list("pk", "person_key")[:limit])
    if not heads:
        return []
    wanted = [pk for pk, _ in heads]
    room = limit - len(heads)
    if room > 0:  # followers, at most ``per_person`` each, stopping at the first one not claimable
        per_person = -(-room // len(heads))
        first = dict((key, pk) for pk, key in heads)
        taken = {key: 0 for key in first}
        rows = (OutboxMessage.objects.filter(person_key__in=list(first), status__in=_UNSENT, pk__gt=min(wanted))
                .order_by("id").values_list("pk", "person_key", "status", "next_attempt_at", "lease_until")
                [: room + len(heads) * 2])
        for pk, key, status, due, lease in rows:
            if pk <= first[key] or taken[key] < 0:
                continue
            ok = ((status == OutboxStatus.PENDING and due <= now)
                  or (status == OutboxStatus.SENDING and lease is not None and lease < now))
            if ok and taken[key] < per_person and room > 0:
                wanted.append(pk)
                taken[key] += 1
                room -= 1
            else:
                taken[key] = -1  # the run ends here
    lease = now + dt.timedelta(seconds=settings.OUTBOX_LEASE_SECONDS,
                               microseconds=random.randrange(1, 1_000_000))  # this claim's mark
    OutboxMessage.objects.filter(pk__in=wanted).filter(_claimable(now)).update(
        status=OutboxStatus.SENDING, lease_until=lease, attempts=F("attempts") + 1)
    claimed = list(OutboxMessage.objects.filter(pk__in=wanted, status=OutboxStatus.SENDING, lease_until=lease)
                   .order_by("id"))
    if not claimed:
        return []
    mine = {m.pk for m in claimed}
    last = {}
    for message in claimed:
        last[message.person_key] = message.pk
    lines = (OutboxMessage.objects.filter(person_key__in=list(last), status__in=_UNSENT, pk__lte=max(mine))
             .order_by("id").values_list("pk", "person_key"))
    broken, keep = set(), []
    for pk, key in lines:  # each person's unsent messages up to the last claimed: must all be this claim's
        if pk <= last[key] and pk not in mine:
            broken.add(key)
    if broken:
        keep = [m for m in claimed if m.person_key not in broken]
        _release([m for m in claimed if m.person_key in broken])
        return keep
    return claimed


def _event(message: OutboxMessage) -> dict:
    return {"message_id": message.message_id, "person_key": message.person_key, "sequence": message.pk,
            "kind": message.kind, "payload": message.payload, "created_at": message.created_at.isoformat()}


def _mark_sent(messages: list[OutboxMessage]) -> None:
    if messages:
        OutboxMessage.objects.filter(pk__in=[m.pk for m in messages], status=OutboxStatus.SENDING).update(
            status=OutboxStatus.SENT, sent_at=timezone.now(), lease_until=None, last_error="")


def _release(messages: list[OutboxMessage]) -> None:
    """Hand claimed messages back untried (their attempt not counted): they
    wait behind their person's failed or foreign-held earlier message."""
    for lease in {m.lease_until for m in messages}:
        OutboxMessage.objects.filter(pk__in=[m.pk for m in messages if m.lease_until == lease],
                                     status=OutboxStatus.SENDING, lease_until=lease).update(
            status=OutboxStatus.PENDING, lease_until=None, attempts=F("attempts") - 1)


def _mark_failed(message: OutboxMessage, error: str) -> None:
    dead = message.attempts >= settings.OUTBOX_MAX_ATTEMPTS
    OutboxMessage.objects.filter(pk=message.pk, status=OutboxStatus.SENDING).update(
        status=OutboxStatus.DEAD if dead else OutboxStatus.PENDING, lease_until=None, last_error=error[:300],
        next_attempt_at=timezone.now() + dt.timedelta(seconds=_backoff(message.attempts)))
    if dead:
        logger.error("outbox message %s dead after %s attempts: %s", message.message_id, message.attempts, error)


def outbox_send(messages: list[OutboxMessage], *, batch_size: int | None = None) -> tuple[int, int]:
    """Send claimed messages (in id order) to the core, ``batch_size`` per
    call; returns (sent, failed). A person's first message that fails counts
    an attempt and backs off; that person's later messages of this send are
    handed back untried (``_release``), so they never overtake it."""
    batch_size = batch_size or settings.OUTBOX_BATCH_SIZE
    sent = failed = 0
    stopped: set[str] = set()
    for start in range(0, len(messages), batch_size):
        chunk = [m for m in messages[start:start + batch_size] if m.person_key not in stopped]
        _release([m for m in messages[start:start + batch_size] if m.person_key in stopped])
        if not chunk:
            continue
        try:
            output = core_client().call(CORE_EVENTS_INFNO, {"events": [_event(m) for m in chunk]})
        except (CoreError, CoreRefused) as exc:
            output = {"results": [], "error": f"{type(exc).__name__}: {exc}"}
        results = {r.get("message_id"): r for r in output.get("results", []) if isinstance(r, dict)}
        done, wait = [], []
        for message in chunk:
            result = results.get(message.message_id) or {}
            outcome = result.get("result")
            if outcome in ("applied", "duplicate"):  # at the core, whatever happened before it
                done.append(message)
            elif message.person_key in stopped or outcome == "skipped":
                stopped.add(message.person_key)
                wait.append(message)
            else:
                stopped.add(message.person_key)
                _mark_failed(message, str(output.get("error") or result.get("error") or result
                                          or "no result for this message"))
                failed += 1
        _mark_sent(done)
        _release(wait)
        sent += len(done)
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
