"""Fixed-window attempt counters in Redis (INCR + EXPIRE, atomic in a
pipeline), shared by every process."""

from __future__ import annotations

from common.redis import redis_client


def hit(bucket: str, limit: int, window_seconds: int) -> bool:
    """Count one attempt in ``bucket``; True while within ``limit``."""
    key = f"yibao:rl:{bucket}"
    pipe = redis_client().pipeline()
    pipe.incr(key)
    pipe.expire(key, window_seconds, nx=True)
    count, _ = pipe.execute()
    return int(count) <= limit


def reset(bucket: str) -> None:
    redis_client().delete(f"yibao:rl:{bucket}")
