"""A smooth local rate limiter: evenly spaced permits under a budget, plus the 429 gate.

The limiter is GCRA: the next permit is due ``spacing`` seconds after the previous one was
due, where ``spacing = per / (requests * (1 - margin))``. A permit taken late (the waiter woke
late, or nobody asked for a while) is credited for at most ``burst - 1`` spacings, with
``burst`` half the margin's share of the budget; so a slow wake-up does not push every later
permit back, and any window of ``per`` seconds, sliding or fixed, holds at most
``requests * (1 - margin / 2)`` permits, rounded up, and never more than ``requests``. A
full-burst token bucket would let ``requests`` through at once, and as many again just after
a fixed window's boundary.

Waiters queue on one FIFO lock; the holder sleeps until the next permit is due and only then
takes it, so a cancelled waiter never takes a permit and leaves the queue behind it intact.
"""

from __future__ import annotations

import time

import anyio

from . import _checks
from ._clock import sleep_until
from ._gate import Gate

__all__ = ["DEVELOPMENT", "PRODUCTION", "RateLimit", "preset_for_secret_key"]

PRODUCTION = (1000, 10.0)
"""Clerk's documented limit for production instances: requests, per seconds."""
DEVELOPMENT = (100, 10.0)
"""Clerk's documented limit for development instances: requests, per seconds."""


def preset_for_secret_key(secret_key: str) -> tuple[int, float]:
    """:data:`PRODUCTION` for an ``sk_live_`` key, :data:`DEVELOPMENT` for an ``sk_test_`` key.

    Raises:
        TypeError: ``secret_key`` is not a string.
        ValueError: the key has neither prefix (the message never shows the key).
    """
    if not isinstance(secret_key, str):
        raise TypeError(f"secret_key must be a string, not {type(secret_key).__name__}")
    if secret_key.startswith("sk_live_"):
        return PRODUCTION
    if secret_key.startswith("sk_test_"):
        return DEVELOPMENT
    hint = " (this looks like a publishable key)" if secret_key.startswith("pk_") else ""
    raise ValueError(
        "cannot pick a rate limit: the secret key starts with neither sk_live_ nor"
        f" sk_test_{hint}; pass the key from the Clerk dashboard's API keys page, or give"
        " the requests and the window yourself"
    )


class RateLimit:
    """``requests`` per ``per`` seconds, less ``margin``, evenly spaced; plus the 429 gate.

    Implements :class:`~clerk_async.ratelimit.RateLimiter`. Share one object between every
    client of one Clerk instance in the process (``AsyncClerk(rate_limit=limit)`` for each),
    so they draw from one budget and honour each other's 429 blocks. One object serves one
    event loop.

    Args:
        requests: the budget's number of requests, a whole number of at least 1.
        per: the budget's window, in seconds (a finite number above zero).
        margin: the share of the budget left unused, in [0, 1). The default 0.1 runs at 90 %
            of the budget in the long run and at most 95 % (rounded up) in any window, half
            the margin paying for a small burst; this keeps a fixed-window server from
            tripping.

    Raises:
        TypeError: an argument is not a number (or ``requests`` not a whole number).
        ValueError: an argument is out of range (zero, negative, NaN, infinite).
    """

    def __init__(self, requests: int, per: float, *, margin: float = 0.1) -> None:
        self.requests = _checks.requests(requests)
        self.per = _checks.seconds("per", per)
        self.margin = _checks.margin(margin)
        self.spacing = _checks.spacing(self.requests, self.per, self.margin)
        """Seconds between two permits, in the long run."""
        self.burst = _checks.burst(self.requests, self.margin)
        """The most permits taken at once, after an idle spell."""
        self._catch_up = (self.burst - 1) * self.spacing
        self._gate = Gate()
        self._lock: anyio.Lock | None = None  # made inside the event loop, on first wait
        self._next_permit = 0.0  # monotonic time at which the next permit is due

    def __repr__(self) -> str:
        return f"RateLimit(requests={self.requests}, per={self.per:g}, margin={self.margin:g})"

    @classmethod
    def production(cls, *, margin: float = 0.1) -> RateLimit:
        """Clerk's limit for production instances: 1000 requests per 10 seconds."""
        return cls(*PRODUCTION, margin=margin)

    @classmethod
    def development(cls, *, margin: float = 0.1) -> RateLimit:
        """Clerk's limit for development instances: 100 requests per 10 seconds."""
        return cls(*DEVELOPMENT, margin=margin)

    @classmethod
    def for_secret_key(cls, secret_key: str, *, margin: float = 0.1) -> RateLimit:
        """The preset for the instance a secret key belongs to: :meth:`production` for an
        ``sk_live_`` key, :meth:`development` for an ``sk_test_`` key.

        Raises:
            TypeError: ``secret_key`` is not a string.
            ValueError: the key has neither prefix (the message never shows the key).
        """
        return cls(*preset_for_secret_key(secret_key), margin=margin)

    async def acquire(self, scope: str) -> None:
        """Wait until ``scope`` is open and a permit is due, in arrival order, then take it."""
        while True:
            await self._gate.acquire(scope)
            if self._lock is None:
                self._lock = anyio.Lock()
            async with self._lock:
                await sleep_until(lambda: self._next_permit)
                # A 429 may have closed the scope while we waited for the permit: then queue
                # at the gate again rather than send a request Clerk would refuse.
                if self._gate.closed_for(scope) == 0:
                    now = time.monotonic()
                    self._next_permit = max(self._next_permit, now - self._catch_up) + self.spacing
                    return

    async def blocked_for(self, scope: str) -> float:
        """Seconds until ``scope`` opens again, or ``0.0`` if it is open."""
        return self._gate.closed_for(scope)

    async def block(self, scope: str, seconds: float) -> None:
        """Record a 429 with ``Retry-After``; see :meth:`Gate.block`."""
        self._gate.close(scope, seconds)
