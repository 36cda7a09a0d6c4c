"""Dependency checks for /readyz and the operator commands."""

from __future__ import annotations

import time

from django.conf import settings
from django.db import connections


def _timed(fn) -> dict:
    started = time.perf_counter()
    try:
        detail = fn() or {}
        ok = True
        error = ""
    except Exception as exc:  # a probe reports every failure, it never raises
        detail = {}
        ok = False
        error = f"{type(exc).__name__}: {exc}"[:200]
    result = {"ok": ok, "ms": round((time.perf_counter() - started) * 1000, 1)}
    if error:
        result["error"] = error
    result.update(detail)
    return result


def check_database(alias: str = "default") -> dict:
    def probe():
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()

    return _timed(probe)


def check_redis() -> dict:
    def probe():
        from common.redis import redis_client

        redis_client().ping()

    return _timed(probe)


def check_core() -> dict:
    if settings.YIBAO_SERVICE == "core":
        return _timed(lambda: check_database_or_raise("core"))

    def probe():
        from settlement.client import core_client

        core_client().health()

    return _timed(probe)


def check_database_or_raise(alias: str):
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT 1")


def check_outbox() -> dict:
    """Oldest pending outbox row younger than READYZ_OUTBOX_MAX_AGE_SECONDS."""

    def probe():
        from settlement.selectors import outbox_oldest_pending_age

        age = outbox_oldest_pending_age()
        if age is not None and age > settings.READYZ_OUTBOX_MAX_AGE_SECONDS:
            raise RuntimeError(f"oldest pending outbox message is {int(age)} s old")
        return {"oldest_pending_age_s": None if age is None else int(age)}

    return _timed(probe)
