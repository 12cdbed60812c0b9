"""The interface between the transport and any rate limiter."""

from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class RateLimiter(Protocol):
    """What the transport calls around every request.

    ``scope`` is the endpoint key: the HTTP method and the path template, such as
    ``"GET /users/{user_id}"``. Clerk blocks an endpoint after a 429, so blocks are kept per
    scope; a budget may ignore the scope, since Clerk counts all requests of an instance.
    """

    async def acquire(self, scope: str) -> None:
        """Wait, in arrival order, until one request to ``scope`` may be sent.

        Cancelling the waiting task leaves nothing behind: it leaves the queue, and a permit
        is never taken for it.
        """
        ...

    async def blocked_for(self, scope: str) -> float:
        """Seconds until ``scope`` opens again, or ``0.0`` if it is open."""
        ...

    async def block(self, scope: str, seconds: float) -> None:
        """Record a 429 with ``Retry-After: seconds``: nobody acquires ``scope`` until then.

        A block is extended by a longer one and never shortened by a shorter one.
        """
        ...
