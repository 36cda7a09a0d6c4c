from __future__ import annotations

import time

from celery import shared_task

from common.redis import redis_client


@shared_task(name="common.heartbeat")
def heartbeat():
    """Beat → worker liveness: operators see the last beat time."""
    redis_client().set("yibao:celery:heartbeat", str(time.time()))


@shared_task(name="common.echo")
def echo(key: str, value: str):
    """Diagnostic: writes ``value`` under ``yibao:echo:<key>`` for 60 s, so a
    caller can see that a real worker ran its task."""
    redis_client().set(f"yibao:echo:{key}", value, ex=60)
    return value
