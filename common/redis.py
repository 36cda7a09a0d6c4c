"""One Redis client per process for the places that need atomic primitives
(SET NX for nonces and single-use markers) beyond Django's cache API."""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import urlsplit, urlunsplit

import redis
from django.conf import settings


@lru_cache(maxsize=1)
def _pool(url: str) -> redis.ConnectionPool:
    return redis.ConnectionPool.from_url(url, socket_timeout=2, socket_connect_timeout=2, health_check_interval=30)


def redis_db_url(url: str, db: int) -> str:
    """``url`` with database ``db`` (the derivation config/settings/redis.py
    uses for the cache, the broker and the channel layer)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{db}", parts.query, ""))


def redis_client() -> redis.Redis:
    return _client(redis_db_url(settings.REDIS_URL, 0))


@lru_cache(maxsize=4)
def _client(url: str) -> redis.Redis:
    """One client object per URL (thread-safe, over the shared pool): building one per call cost
    a measurable share of a settlement's CPU (two calls per terminal request)."""
    return redis.Redis(connection_pool=_pool(url), decode_responses=False)
