"""Celery tasks of the wallet (thin: ids in, a service call, idempotent)."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from payments.enums import PaymentStatus
from payments.models import Payment
from payments.services.resolve import payment_resolve

IN_FLIGHT = (PaymentStatus.SUBMITTED, PaymentStatus.UNKNOWN)


@shared_task(name="wallet.payment_resolve", bind=True, max_retries=20, acks_late=True)
def payment_resolve_task(self, payment_id: int):
    """Resolve one unknown settlement outcome; retry with backoff while the
    core cannot say."""
    status = payment_resolve(payment_id)
    if status in IN_FLIGHT:
        raise self.retry(countdown=min(300, 5 * 2 ** self.request.retries))
    return status


@shared_task(name="wallet.payment_resolve_sweep")
def payment_resolve_sweep(batch: int = 100):
    """Beat: any unknown/submitted payment older than a minute gets a resolve
    task (covers a lost task or a crash between commit and enqueue)."""
    cutoff = timezone.now() - timezone.timedelta(seconds=settings.PAYMENT_RESOLVE_AFTER_SECONDS)
    ids = list(Payment.objects.filter(status__in=IN_FLIGHT, updated_at__lt=cutoff).values_list("pk", flat=True)[:batch])
    for payment_id in ids:
        payment_resolve_task.delay(payment_id)
    return len(ids)
