"""Dependency checks for /readyz and the operator commands: the ones common
owns (database, Redis) and ``timed_check`` for the apps' own (settlement/health.py:
the core and the outbox). The readiness view composes them: config/views.py."""

from __future__ import annotations

import time

from django.db import connections

from .redis import redis_client


def timed_check(fn) -> dict:
    """Run a probe; its outcome, its time and its detail as a dict. Never raises."""
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

    return timed_check(probe)


def check_redis() -> dict:
    def probe():
        redis_client().ping()

    return timed_check(probe)


def check_database_or_raise(alias: str):
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT 1")
