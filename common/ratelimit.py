"""Fixed-window attempt counters in Redis (INCR + EXPIRE, atomic in a
pipeline), shared by every process.

Choose the bucket so that a stranger cannot spend someone else's allowance:
count per login, per (subject, login) or per client address, never only per
victim (an ID number, a psn_no) on its own — that lets anyone who knows the
number lock its owner out (docs/subsystems/activation.md)."""

from __future__ import annotations

from common.redis import redis_client


def _key(bucket: str) -> str:
    return f"yibao:rl:{bucket}"


def attempt(bucket: str, limit: int, window_seconds: int) -> int:
    """Count one attempt in ``bucket``: 0 while within ``limit``, else the
    seconds until the window ends (for ``retry_after``)."""
    key = _key(bucket)
    pipe = redis_client().pipeline()
    pipe.incr(key)
    pipe.expire(key, window_seconds, nx=True)
    pipe.ttl(key)
    count, _, ttl = pipe.execute()
    if int(count) <= limit:
        return 0
    return int(ttl) if int(ttl) > 0 else window_seconds


def hit(bucket: str, limit: int, window_seconds: int) -> bool:
    """Count one attempt in ``bucket``; True while within ``limit``."""
    return attempt(bucket, limit, window_seconds) == 0


def count(bucket: str) -> int:
    """Attempts counted in ``bucket``'s current window (0 when none)."""
    return int(redis_client().get(_key(bucket)) or 0)


def blocked(bucket: str, limit: int) -> int:
    """Without counting: 0 if ``bucket`` is below ``limit``, else the
    seconds until its window ends. For counters that count failures only."""
    key = _key(bucket)
    pipe = redis_client().pipeline()
    pipe.get(key)
    pipe.ttl(key)
    value, ttl = pipe.execute()
    if int(value or 0) < limit:
        return 0
    return max(1, int(ttl))


def reset(bucket: str) -> None:
    redis_client().delete(_key(bucket))
