"""Rate limits: the 429 gate every client has, and limiters that keep a job under a budget."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from ._gate import Gate

__all__ = ["Gate", "RateLimiter"]


@runtime_checkable
class RateLimiter(Protocol):
    """What the request path asks of a limiter: a permit to send, and news of a 429."""

    async def acquire(self, scope: str) -> None: ...

    async def blocked_for(self, scope: str) -> float: ...

    async def block(self, scope: str, seconds: float) -> None: ...
