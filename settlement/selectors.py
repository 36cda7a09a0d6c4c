"""Reads of the sync state (outbox depth and age)."""

from __future__ import annotations


def outbox_oldest_pending_age() -> float | None:
    """Seconds since the oldest pending outbox row was written, or None."""
    return None
