"""A worker process of the Redis tests: takes permits from a shared RedisRateLimit."""

from __future__ import annotations

import asyncio
import time
from typing import Any


def take_permits(port: int, namespace: str, requests: int, per: float, margin: float, count: int,
                 barrier: Any, results: Any) -> None:
    """Wait for every worker, take ``count`` permits with four tasks, and put the monotonic
    time of each on ``results`` (the monotonic clock is system-wide, so times compare)."""
    results.put(asyncio.run(_take(port, namespace, requests, per, margin, count, barrier)))


async def _take(port: int, namespace: str, requests: int, per: float, margin: float, count: int,
                barrier: Any) -> list[float]:
    from redis.asyncio import Redis

    from clerk_async.ratelimit.redis import RedisRateLimit

    times: list[float] = []
    async with Redis(port=port) as redis:
        limit = RedisRateLimit(redis, requests, per, namespace=namespace, margin=margin)
        await redis.ping()  # connect before the start line
        barrier.wait(30)

        async def task(share: int) -> None:
            for _ in range(share):
                await limit.acquire("GET /users/{user_id}")
                times.append(time.monotonic())

        await asyncio.gather(*(task(count // 4 + (i < count % 4)) for i in range(4)))
    return times
