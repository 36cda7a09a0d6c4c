"""The expiry reminder: a temporary filing whose end date is within
FILING_REMINDER_DAYS is notified to the person once (a compare-and-swap on
``reminded_at``: two beats, a retried task or a re-run never send twice).
The person reads it in GET /api/filings/notices (and sees the filing's
``expiring`` flag in the list)."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ..enums import FilingEventKind, FilingStatus
from ..models import Filing, FilingEvent
from .filings import today


def filing_reminders_send(*, now: dt.date | None = None, batch: int | None = None) -> dict:
    """Remind up to ``batch`` filings; ``more`` when a full batch was found."""
    now = now or today()
    batch = batch or settings.FILING_REMINDER_BATCH
    horizon = now + dt.timedelta(days=settings.FILING_REMINDER_DAYS)
    ids = list(Filing.objects.filter(status=FilingStatus.ACTIVE, reminded_at__isnull=True, end_date__isnull=False,
                                     end_date__gte=now, end_date__lte=horizon)
               .order_by("end_date", "id").values_list("id", flat=True)[:batch])
    sent = 0
    for pk in ids:
        with transaction.atomic():
            if not Filing.objects.filter(pk=pk, reminded_at__isnull=True).update(reminded_at=timezone.now()):
                continue  # another run took it
            filing = Filing.objects.get(pk=pk)
            FilingEvent.objects.create(filing=filing, kind=FilingEventKind.REMINDED, actor="system",
                                       detail={"end_date": str(filing.end_date),
                                               "days_left": (filing.end_date - now).days})
            sent += 1
    return {"sent": sent, "more": len(ids) >= batch}
