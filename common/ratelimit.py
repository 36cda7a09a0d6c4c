"""Fixed-window attempt counters in Redis (INCR + EXPIRE, atomic in a
pipeline), shared by every process.

Choose the bucket so that a stranger cannot spend someone else's allowance:
count per login, per (subject, login) or per client address, never only per
victim (an ID number, a psn_no) on its own — that lets anyone who knows the
number lock its owner out (docs/subsystems/activation.md).

Count before you evaluate: ``take`` reserves the attempt (one atomic INCR)
before the guarded work runs, so however many requests arrive at once, at
most ``limit`` of them get through a window; ``give_back`` returns a
reservation that should not count (e.g. an attempt refused by another
bucket). There is deliberately no "read the counter, count later": a
burst would pass it, every request reading the old value (issue #20)."""

from __future__ import annotations

from common.redis import redis_client


def _key(bucket: str) -> str:
    return f"yibao:rl:{bucket}"


def take(bucket: str, limit: int, window_seconds: int) -> tuple[int, int]:
    """Count one attempt in ``bucket`` (INCR, and the window's expiry set on
    the first one, in one MULTI/EXEC): ``(number, wait)`` — this attempt's
    number in the window (each number is handed out once), and 0 while
    within ``limit``, else the seconds until the window ends (for
    ``retry_after``)."""
    key = _key(bucket)
    pipe = redis_client().pipeline()
    pipe.incr(key)
    pipe.expire(key, window_seconds, nx=True)
    pipe.ttl(key)
    number, _, ttl = pipe.execute()
    if int(number) <= limit:
        return int(number), 0
    return int(number), int(ttl) if int(ttl) > 0 else window_seconds


def attempt(bucket: str, limit: int, window_seconds: int) -> int:
    """Count one attempt in ``bucket``: 0 while within ``limit``, else the
    seconds until the window ends (for ``retry_after``)."""
    return take(bucket, limit, window_seconds)[1]


# Decrement only a live counter: a window that ended meanwhile is not revived
# (a bare DECR would create a key at -1 without expiry).
_GIVE_BACK = """
if redis.call('EXISTS', KEYS[1]) == 1 and tonumber(redis.call('GET', KEYS[1])) > 0 then
  return redis.call('DECR', KEYS[1])
end
return 0
"""


def give_back(bucket: str) -> None:
    """Return one attempt counted by ``take`` in the window still running."""
    redis_client().eval(_GIVE_BACK, 1, _key(bucket))
