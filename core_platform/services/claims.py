"""The core's msgid journal (``EnvelopeMessage``): claims whose process
died. services/envelope.py claims a msgid and runs its handler; a handler's
transaction locks its own claim first (envelope ``_own``), so a claim that
is ``processing`` with its row lock free belongs to nobody alive. Here, for
envelope.py (a retry of the same msgid takes such a claim over) and for
settle.py's 9101 and 2601 (which void it), the one test of "abandoned" and
the one way to void: services/envelope.py's docstring tells the whole story.

Below envelope.py and settle.py (both import it; it imports neither)."""

from __future__ import annotations

import datetime as dt
import logging

from django.db.models import F
from django.utils import timezone

from ..enums import MessageStatus
from ..models import EnvelopeMessage

logger = logging.getLogger(__name__)

TOMBSTONE_HASH = "TOMBSTONE"  # an EnvelopeMessage that never ran and never will (2601's fence, a voided claim)

# A claim this old whose row lock nobody holds belongs to a process that died
# (PostgreSQL: younger, its owner may be between the claim's commit and its
# lock); on SQLite the age alone, since no handler runs while one asks.
ABANDONED_AFTER_SECONDS = 5


def claim_abandoned(row: EnvelopeMessage) -> EnvelopeMessage | None:
    """Inside a transaction: ``row`` locked and re-read if its claim is
    abandoned (``processing``, older than ABANDONED_AFTER_SECONDS, its row
    lock free: the owner's transaction is gone), else None. The lock is held
    until the caller's transaction ends, so the caller's compare-and-swap on
    ``attempt`` is the one decision."""
    cutoff = timezone.now() - dt.timedelta(seconds=ABANDONED_AFTER_SECONDS)
    return (EnvelopeMessage.objects.select_for_update(skip_locked=True)
            .filter(pk=row.pk, status=MessageStatus.PROCESSING, updated_at__lt=cutoff).first())


def message_abandoned_void(row: EnvelopeMessage) -> bool:
    """Decide an abandoned claim for good (9101, 2601, in their
    transaction): a tombstone, so the msgid never runs — its late original
    gets ORIGINAL_REVERSED — and an owner that was only slow is fenced out.
    False when ``row`` is not abandoned (its owner holds it, or is too
    recent to tell)."""
    abandoned = claim_abandoned(row)
    if abandoned is None:
        return False
    EnvelopeMessage.objects.filter(pk=abandoned.pk, attempt=abandoned.attempt).update(
        request_hash=TOMBSTONE_HASH, status=MessageStatus.DONE, response="", attempt=F("attempt") + 1,
        updated_at=timezone.now())
    logger.warning("voided abandoned envelope message",
                   extra={"msgid": abandoned.msgid, "infno": abandoned.infno, "attempt": abandoned.attempt})
    return True
