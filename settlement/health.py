"""Readiness checks settlement owns: the settlement core (reachable over HTTP)
and the outbox's age. Composed with common's by the readiness view
(config/views.py)."""

from __future__ import annotations

from django.conf import settings

from common.health import check_database_or_raise, timed_check

from .client import core_client
from .selectors import outbox_oldest_pending_age


def check_core() -> dict:
    if settings.YIBAO_SERVICE == "core":
        return timed_check(lambda: check_database_or_raise("core"))

    def probe():
        core_client().health()

    return timed_check(probe)


def check_outbox() -> dict:
    """Oldest pending outbox row younger than READYZ_OUTBOX_MAX_AGE_SECONDS."""

    def probe():
        age = outbox_oldest_pending_age()
        if age is not None and age > settings.READYZ_OUTBOX_MAX_AGE_SECONDS:
            raise RuntimeError(f"oldest pending outbox message is {int(age)} s old")
        return {"oldest_pending_age_s": None if age is None else int(age)}

    return timed_check(probe)
