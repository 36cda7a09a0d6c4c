"""The Redis channel layer, made to ride out a Redis restart.

channels_redis raises from ``receive()`` when Redis is unreachable, and
Channels then tears the consumer down — every open code page would drop at
once. Here ``receive()`` waits and retries with backoff instead (the
library's receive releases its locks on errors, so a retry is clean). Code
pages keep rotating (issuing a code needs no Redis) and notifications resume
when Redis is back."""

from __future__ import annotations

import asyncio
import logging

from channels_redis.core import RedisChannelLayer
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)


class ResilientRedisChannelLayer(RedisChannelLayer):
    async def receive(self, channel):
        delay = 0.5
        while True:
            try:
                return await super().receive(channel)
            except (RedisConnectionError, RedisTimeoutError, ConnectionError, OSError) as exc:
                logger.warning("channel layer receive failed (%s); retrying in %.1fs", type(exc).__name__, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
