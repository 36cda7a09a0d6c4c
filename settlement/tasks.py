"""Celery tasks that keep the wallet and the core in step. Thin: they call a
service; every service is idempotent through state guards."""

from __future__ import annotations

import datetime as dt

from celery import shared_task
from django.utils import timezone

from settlement.errors import CoreError

from .services.housekeeping import housekeeping_run
from .services.outbox import OUTBOX_RELAY_TASK, outbox_relay
from .services.pulls import pull_all
from .services.reconciliation import reconcile_day


@shared_task(name=OUTBOX_RELAY_TASK, acks_late=True)
def outbox_relay_task():
    """Relay the outbox in a bounded run; re-enqueue while work remains."""
    result = outbox_relay()
    if result["more"]:
        outbox_relay_task.apply_async(countdown=1, expires=120)
    return result


@shared_task(name="settlement.pull_all", bind=True, acks_late=True, autoretry_for=(CoreError,),
             retry_backoff=True, retry_backoff_max=300, max_retries=10)
def pull_all_task(self):
    return pull_all()


@shared_task(name="settlement.reconcile_day", bind=True, acks_late=True, autoretry_for=(CoreError,),
             retry_backoff=True, retry_backoff_max=600, max_retries=10)
def reconcile_day_task(self, day: str | None = None):
    when = dt.date.fromisoformat(day) if day else timezone.localdate() - dt.timedelta(days=1)
    run = reconcile_day(when)
    return {"day": str(run.day), "differences": run.differences}


@shared_task(name="settlement.housekeeping")
def housekeeping_task():
    return housekeeping_run()
