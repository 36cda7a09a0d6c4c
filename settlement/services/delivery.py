"""Delivering one outbox message *now*, for a caller that must not rely on
a change the core has not received yet (family mutual aid at settle time:
docs/subsystems/family.md, "Delivery order").

It keeps the outbox's guarantees (settlement/services/outbox.py): a
person's messages go in id order, one at a time here, each claimed with a
lease like a worker's claim (a worker holding the head is waited for, never
overtaken); a failure backs off as usual; the core applies each message id
once."""

from __future__ import annotations

import datetime as dt
import time

from django.conf import settings
from django.utils import timezone

from ..enums import OutboxStatus
from ..models import OutboxMessage
from .outbox import outbox_send


def outbox_event_sent(*, person_key: str, kind: str, match: dict, budget_seconds: float) -> bool:
    """Make sure the core has the newest message of ``person_key`` of
    ``kind`` whose payload has every key/value of ``match``: already sent,
    or relayed now — that person's messages up to it, in order, one at a
    time, within ``budget_seconds`` (a worker sending the head meanwhile is
    waited for). False when it could not be delivered in time (the core
    failing, a dead letter holding the line): the caller goes without it.
    A message not found (sent and purged long ago) counts as sent.

    For a caller that must not rely on a change the core has not received
    yet (family mutual aid at settle time: docs/subsystems/family.md)."""
    lookup = {f"payload__{key}": value for key, value in match.items()}
    target = (OutboxMessage.objects.filter(person_key=person_key, kind=kind, **lookup)
              .order_by("-pk").values_list("pk", flat=True).first())
    if target is None:
        return True
    deadline = time.monotonic() + max(0.0, budget_seconds)
    unsent = [OutboxStatus.PENDING, OutboxStatus.SENDING, OutboxStatus.DEAD]
    while True:
        if not OutboxMessage.objects.filter(pk=target, status__in=unsent).exists():
            return True
        if time.monotonic() >= deadline:
            return False
        head = OutboxMessage.objects.filter(person_key=person_key, status__in=unsent).order_by("pk").first()
        if head is None or head.pk > target:  # pragma: no cover - the target itself is unsent
            return True
        now = timezone.now()
        if head.status == OutboxStatus.DEAD:
            return False  # an operator must replay it first: nothing of this person passes it
        if head.status == OutboxStatus.SENDING and head.lease_until and head.lease_until >= now:
            time.sleep(0.05)  # a worker is sending it right now
            continue
        lease = now + dt.timedelta(seconds=settings.OUTBOX_LEASE_SECONDS)
        took = OutboxMessage.objects.filter(pk=head.pk, status=head.status, lease_until=head.lease_until).update(
            status=OutboxStatus.SENDING, lease_until=lease, attempts=head.attempts + 1)
        if not took:
            continue  # a worker claimed it a moment ago: look again
        head.status, head.lease_until, head.attempts = OutboxStatus.SENDING, lease, head.attempts + 1
        sent, _ = outbox_send([head], batch_size=1)
        if not sent:
            return False  # the core refused or is unreachable: backoff as usual, the caller goes without
