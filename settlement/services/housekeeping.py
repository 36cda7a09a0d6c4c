"""Housekeeping (its own queue): expire ecTokens and liveness sessions, keep
the outbox small. Used-code markers in Redis expire by themselves (their TTL
outlives the acceptance window), so they need no sweep.

The rows of other apps are deleted by their own services, registered as
sweeps (settlement/hooks.py) in their ``AppConfig.ready()``: accounts
(liveness sessions, abandoned activations), wallet (ecTokens)."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from ..hooks import hooks
from .outbox import outbox_purge_sent

BATCH = 5000


def batch_delete(queryset, batch: int = BATCH) -> int:
    """Delete at most ``batch`` rows of ``queryset`` (a bounded sweep step)."""
    ids = list(queryset.values_list("pk", flat=True)[:batch])
    return queryset.model.objects.filter(pk__in=ids).delete()[0] if ids else 0


def housekeeping_run() -> dict:
    # A day's grace keeps expired rows for support questions.
    day_ago = timezone.now() - dt.timedelta(days=1)
    result = {name: sweep(day_ago, BATCH) for name, sweep in hooks.sweeps.items()}
    result["outbox_sent"] = outbox_purge_sent()
    return result
