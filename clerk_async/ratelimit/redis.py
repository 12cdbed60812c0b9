"""One budget and one 429 gate shared by every process through Redis (the ``redis`` extra).

Install with ``pip install clerk-async[redis]``. Each acquire is one Lua script, run
atomically by Redis: it reads Redis's own clock (``TIME``), checks the scope's gate key, and
either takes the next permit (GCRA: the theoretical arrival time of the next permit is stored
under one key) or answers how long to wait. Only durations leave Redis, so the workers' clocks
never matter. Every key expires on its own, so a crashed worker leaves nothing that outlives
a block or one permit's spacing.

When Redis fails or takes longer than ``timeout``, the limiter logs one WARNING, switches to
a local fallback limiter, and tries Redis again every ``probe_interval`` seconds; no Redis
failure is ever raised from :meth:`RedisRateLimit.acquire`.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from typing import TYPE_CHECKING, Any

import anyio
from redis.exceptions import RedisError

from . import _checks
from ._gate import MAX_BLOCK, Gate
from ._limit import RateLimit, preset_for_secret_key

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from ._protocol import RateLimiter

__all__ = ["RedisRateLimit"]

logger = logging.getLogger("clerk_async.ratelimit")

# KEYS: the budget key, the scope's gate key. ARGV: the spacing and the most a late permit is
# credited (burst - 1 spacings), in microseconds; see _limit.py for the arithmetic.
# Answers {0, 0} (permit taken), {1, wait_us} (next permit not due yet) or
# {2, wait_us} (the scope is blocked by a 429).
_ACQUIRE = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000000 + tonumber(now_parts[2])
local blocked = redis.call('PTTL', KEYS[2])
if blocked > 0 then
  return {2, blocked * 1000}
end
local spacing = tonumber(ARGV[1])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
-- A permit is never due more than one spacing ahead; more means Redis's clock went back.
if tat > now + spacing then tat = now + spacing end
if tat > now then
  return {1, tat - now}
end
local catch_up = tonumber(ARGV[2])
if tat < now - catch_up then tat = now - catch_up end
redis.call('SET', KEYS[1], tat + spacing, 'PX', math.ceil((spacing + catch_up) / 1000) + 1000)
return {0, 0}
"""

# KEYS: the scope's gate key. ARGV: the block in milliseconds. Extends, never shortens.
_BLOCK = """
local ms = tonumber(ARGV[1])
if redis.call('PTTL', KEYS[1]) < ms then
  redis.call('SET', KEYS[1], '1', 'PX', ms)
end
return 0
"""

_GRANTED, _NOT_DUE, _BLOCKED = 0, 1, 2


class RedisRateLimit:
    """A :class:`~clerk_async.ratelimit.RateLimiter` whose budget and 429 gate live in Redis,
    shared by every process (and host) that uses the same Redis, ``key_prefix`` and
    ``namespace``.

    Args:
        redis: a ``redis.asyncio.Redis`` client, owned and closed by the caller.
        requests: the budget's number of requests (whole number, at least 1).
        per: the budget's window in seconds.
        key_prefix: the start of every key this limiter writes.
        namespace: what identifies the Clerk instance, such as its secret key: only a SHA-256
            digest of it is used in key names, never the value. Processes sharing a budget
            must pass the same one.
        margin: the share of the budget left unused, in [0, 1).
        fallback: the limiter used while Redis is down or slow; by default a local
            ``RateLimit(requests, per, margin=margin)``. With N workers, passing
            ``RateLimit(requests // N, per)`` keeps their sum under the budget during an outage.
        timeout: seconds one Redis command may take before the fallback is used.
        probe_interval: seconds between attempts to use Redis again during an outage.

    Raises:
        TypeError, ValueError: an argument has the wrong type or is out of range.
    """

    def __init__(
        self,
        redis: Redis,
        requests: int,
        per: float,
        *,
        key_prefix: str = "clerk_async:",
        namespace: str = "",
        margin: float = 0.1,
        fallback: RateLimiter | None = None,
        timeout: float = 0.25,
        probe_interval: float = 5.0,
    ) -> None:
        if not isinstance(key_prefix, str) or not isinstance(namespace, str):
            raise TypeError("key_prefix and namespace must be strings")
        self.requests = _checks.requests(requests)
        self.per = _checks.seconds("per", per)
        self.margin = _checks.margin(margin)
        self.spacing = _checks.spacing(self.requests, self.per, self.margin)
        """Seconds between two permits across all processes, in the long run."""
        self.burst = _checks.burst(self.requests, self.margin)
        """The most permits taken at once, after an idle spell."""
        self.timeout = _checks.seconds("timeout", timeout)
        self.probe_interval = _checks.seconds("probe_interval", probe_interval)
        self.fallback: RateLimiter = (
            RateLimit(requests, per, margin=margin) if fallback is None else fallback
        )
        digest = hashlib.sha256(namespace.encode()).hexdigest()[:16]
        # The braces are a Redis Cluster hash tag: both keys of one script share a slot.
        self.key_base = f"{key_prefix}{{{digest}}}:"
        """The start of every key: ``key_prefix``, then the namespace digest."""
        self._redis = redis
        self._acquire_script = redis.register_script(_ACQUIRE)
        self._block_script = redis.register_script(_BLOCK)
        self._spacing_us = max(round(self.spacing * 1_000_000), 1)
        self._catch_up_us = (self.burst - 1) * self._spacing_us
        self._gate = Gate()  # what this process knows of blocks, so its waiters poll nothing
        self._lock: anyio.Lock | None = None
        self._down_since: float | None = None  # monotonic time of the outage's start
        self._next_probe = 0.0

    def __repr__(self) -> str:
        return (
            f"RedisRateLimit(requests={self.requests}, per={self.per:g}, margin={self.margin:g},"
            f" keys={self.key_base!r})"
        )

    @classmethod
    def for_secret_key(cls, redis: Redis, secret_key: str, **options: Any) -> RedisRateLimit:
        """Clerk's documented limit for the key's instance (1000 per 10 s for ``sk_live_``,
        100 per 10 s for ``sk_test_``), with the key as the namespace: every process using
        the same key shares one budget. ``options`` are the other keyword arguments.

        Raises:
            TypeError, ValueError: as :meth:`RateLimit.for_secret_key`, or a bad option.
        """
        requests, per = preset_for_secret_key(secret_key)
        return cls(redis, requests, per, namespace=secret_key, **options)

    def gate_key(self, scope: str) -> str:
        """The Redis key that exists while ``scope`` is blocked."""
        return f"{self.key_base}gate:{scope}"

    @property
    def budget_key(self) -> str:
        """The Redis key holding when the next permit is due, in Redis's clock (µs)."""
        return f"{self.key_base}budget"

    async def acquire(self, scope: str) -> None:
        """Wait until ``scope`` is open and a shared permit is taken, in arrival order within
        this process; during a Redis outage, wait on the fallback limiter instead."""
        while True:
            await self._gate.acquire(scope)
            if self._redis_usable():
                if self._lock is None:
                    self._lock = anyio.Lock()
                async with self._lock:
                    outcome = await self._take_shared_permit(scope)
                if outcome == _GRANTED:
                    return
                if outcome == _BLOCKED:
                    continue  # the local gate now knows the block: wait there
            await self.fallback.acquire(scope)
            return

    async def blocked_for(self, scope: str) -> float:
        """Seconds until ``scope`` opens, as this process or Redis knows it."""
        local = self._gate.closed_for(scope)
        if not self._redis_usable():
            return max(local, await self.fallback.blocked_for(scope))
        millis = await self._call(self._redis.pttl, self.gate_key(scope))
        if millis is None:
            return max(local, await self.fallback.blocked_for(scope))
        return max(local, int(millis) / 1000)

    async def block(self, scope: str, seconds: float) -> None:
        """Block ``scope`` here at once and, through Redis, in every process."""
        self._gate.close(scope, seconds)
        wait = min(float(seconds), MAX_BLOCK)
        if wait <= 0:
            return
        if self._redis_usable():
            millis = max(round(wait * 1000), 1)
            if await self._call(self._block_script, [self.gate_key(scope)], [millis]) is not None:
                return
        await self.fallback.block(scope, wait)

    async def _take_shared_permit(self, scope: str) -> int | None:
        """Ask Redis until a permit is taken (``_GRANTED``) or the scope is found blocked
        (``_BLOCKED``); None if Redis failed, now or while this task queued for the lock."""
        while self._redis_usable():
            reply = await self._call(
                self._acquire_script, [self.budget_key, self.gate_key(scope)],
                [self._spacing_us, self._catch_up_us],
            )
            if reply is None:
                break
            outcome, wait_us = int(reply[0]), int(reply[1])
            if outcome == _BLOCKED:
                self._gate.close(scope, wait_us / 1_000_000)
            if outcome != _NOT_DUE:
                return outcome
            await anyio.sleep(wait_us / 1_000_000)
        return None

    def _redis_usable(self) -> bool:
        return self._down_since is None or time.monotonic() >= self._next_probe

    async def _call(self, command: Any, *args: Any) -> Any:
        """Run one Redis command within ``timeout``; None (and the fallback) if it fails."""
        try:
            with anyio.fail_after(self.timeout):
                result = await command(*args)
        except (RedisError, OSError, TimeoutError, asyncio.TimeoutError) as error:
            self._mark_down(error)
            return None
        self._mark_up()
        return result

    def _mark_down(self, error: Exception) -> None:
        now = time.monotonic()
        self._next_probe = now + self.probe_interval
        if self._down_since is not None:
            return  # one warning per outage
        self._down_since = now
        if isinstance(error, TimeoutError):
            reason = f"gave no answer within {self.timeout:g}s"
        else:
            reason = f"failed ({type(error).__name__}: {error})"
        logger.warning(
            "rate limit: Redis %s; using the local fallback limiter, trying Redis again every %gs",
            reason, self.probe_interval,
        )

    def _mark_up(self) -> None:
        if self._down_since is not None:
            logger.info(
                "rate limit: Redis answers again after %.1fs; the shared budget is back in use",
                time.monotonic() - self._down_since,
            )
            self._down_since = None
