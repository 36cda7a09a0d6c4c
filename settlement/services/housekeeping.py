"""Housekeeping (its own queue): expire ecTokens and liveness sessions, keep
the outbox small. Used-code markers in Redis expire by themselves (their TTL
outlives the acceptance window), so they need no sweep."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from accounts.models import Activation, LivenessSession
from wallet.models import EcToken

from .outbox import outbox_purge_sent

BATCH = 5000


def _delete_batch(queryset) -> int:
    ids = list(queryset.values_list("pk", flat=True)[:BATCH])
    return queryset.model.objects.filter(pk__in=ids).delete()[0] if ids else 0


def housekeeping_run() -> dict:
    now = timezone.now()
    day_ago = now - dt.timedelta(days=1)
    return {
        # Tokens are useless once expired; a day's grace keeps them for support questions.
        "ectokens": _delete_batch(EcToken.objects.filter(expires_at__lt=day_ago)),
        "liveness_sessions": _delete_batch(LivenessSession.objects.filter(expires_at__lt=day_ago)),
        "activations": _delete_batch(Activation.objects.filter(expires_at__lt=day_ago, completed_at__isnull=True,
                                                                liveness_sessions__isnull=True)),
        "outbox_sent": outbox_purge_sent(),
    }
