"""The 429 gate: after Clerk answers 429 with ``Retry-After``, hold the endpoint's requests.

Every request passes through :meth:`Gate.acquire`, so an open scope costs one dict lookup and
no suspension. A closed scope gets a record with its deadline and a FIFO lock; waiters take the
lock in arrival order, and the holder sleeps until the deadline (again, if it was extended),
so when the block ends they leave one after the other in the order they came. The record is
dropped as soon as the scope is open and nobody waits, which is also when the opening is logged.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from . import _checks
from ._clock import sleep_until

if TYPE_CHECKING:
    import anyio

__all__ = ["MAX_BLOCK", "Gate"]

logger = logging.getLogger("clerk_async.ratelimit")

MAX_BLOCK = 300.0
"""The longest block a 429 can impose, in seconds. Clerk asks for seconds; a broken proxy
asking for a day should not silence an endpoint for a day."""


class _Closed:
    """A scope that was blocked: until when, since when, and the queue of its waiters."""

    __slots__ = ("lock", "since", "until")

    def __init__(self, lock: anyio.Lock, since: float, until: float) -> None:
        self.lock = lock
        self.since = since
        self.until = until


class Gate:
    """The local 429 gate: implements :class:`~clerk_async.ratelimit.RateLimiter` with no
    budget, only blocks.

    ``acquire`` returns at once for an open scope; for a blocked one it waits until the block
    ends, and waiters resume in arrival order. Blocks are per scope and live in this object,
    so every client sharing it (an ``AsyncClerk`` and its ``with_options`` copies) shares
    them. Times come from the monotonic clock, which is also the event loop's.
    """

    def __init__(self) -> None:
        self._closed: dict[str, _Closed] = {}

    def __repr__(self) -> str:
        return f"Gate(blocked={sorted(s for s in self._closed if self.closed_for(s) > 0)!r})"

    async def acquire(self, scope: str) -> None:
        """Return when ``scope`` is open; see :meth:`RateLimiter.acquire`."""
        closed = self._closed.get(scope)
        if closed is None:
            return
        if closed.until <= time.monotonic() and not closed.lock.locked():
            self._forget(scope, closed)
            return
        try:
            async with closed.lock:
                await sleep_until(lambda: closed.until)
        finally:
            if not closed.lock.locked() and closed.until <= time.monotonic():
                self._forget(scope, closed)

    async def blocked_for(self, scope: str) -> float:
        """Seconds until ``scope`` opens again, or ``0.0`` if it is open."""
        return self.closed_for(scope)

    def closed_for(self, scope: str) -> float:
        """The same as :meth:`blocked_for`, without awaiting."""
        closed = self._closed.get(scope)
        if closed is None:
            return 0.0
        return max(closed.until - time.monotonic(), 0.0)

    async def block(self, scope: str, seconds: float) -> None:
        """Close ``scope`` for ``seconds`` (at most :data:`MAX_BLOCK`), unless it is already
        closed for longer.

        Raises:
            TypeError: ``seconds`` is not a number.
            ValueError: ``seconds`` is negative, NaN or infinite.
        """
        self.close(scope, seconds)

    def close(self, scope: str, seconds: float) -> None:
        """The same as :meth:`block`, without awaiting (it never needs to)."""
        wait = min(_checks.seconds("seconds", seconds, allow_zero=True), MAX_BLOCK)
        if wait == 0:
            return
        now = time.monotonic()
        until = now + wait
        closed = self._closed.get(scope)
        if closed is None:
            import anyio

            self._closed[scope] = _Closed(anyio.Lock(), now, until)
            logger.debug("rate limit: %s closed for %.3fs (429 with Retry-After)", scope, wait)
        elif until > closed.until:
            closed.until = until
            logger.debug("rate limit: %s closed for %.3fs more (429 with Retry-After)", scope, wait)

    def _forget(self, scope: str, closed: _Closed) -> None:
        if self._closed.get(scope) is closed:
            del self._closed[scope]
            logger.debug(
                "rate limit: %s open again after %.3fs", scope, time.monotonic() - closed.since
            )

