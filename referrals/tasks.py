"""Celery tasks of cross-province filing. Thin: they call a service, which
is idempotent through state guards."""

from __future__ import annotations

from celery import shared_task

from .services.filings import filing_expire_sweep
from .services.reminders import filing_reminders_send


@shared_task(name="referrals.filing_reminders_send")
def filing_reminders_send_task():
    """Beat (hourly): expire temporary filings past their end date, then
    remind those about to expire, once each; re-enqueue while a batch was full."""
    expired = filing_expire_sweep()
    result = filing_reminders_send()
    if result["more"]:
        filing_reminders_send_task.apply_async(countdown=1, expires=600)
    return {"expired": expired, **result}
