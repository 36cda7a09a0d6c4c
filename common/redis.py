"""One Redis client per process for the places that need atomic primitives
(SET NX for nonces and single-use markers) beyond Django's cache API."""

from __future__ import annotations

from functools import lru_cache

import redis
from django.conf import settings


@lru_cache(maxsize=1)
def _pool(url: str) -> redis.ConnectionPool:
    return redis.ConnectionPool.from_url(url, socket_timeout=2, socket_connect_timeout=2, health_check_interval=30)


def redis_client() -> redis.Redis:
    from config.settings.redis import redis_db_url  # same derivation as the cache

    return redis.Redis(connection_pool=_pool(redis_db_url(0)), decode_responses=False)
