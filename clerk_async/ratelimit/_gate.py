"""The 429 gate: once Clerk says an endpoint is limited, nobody sends to it until the time is up."""

from __future__ import annotations

import asyncio
import time

__all__ = ["Gate"]


class Gate:
    """Blocks per scope (an endpoint), set from 429 answers with ``Retry-After``."""

    def __init__(self) -> None:
        self._until: dict[str, float] = {}

    async def acquire(self, scope: str) -> None:
        while (until := self._until.get(scope)) is not None:
            left = until - time.monotonic()
            if left <= 0:
                self._until.pop(scope, None)
                return
            await asyncio.sleep(left)

    async def blocked_for(self, scope: str) -> float:
        until = self._until.get(scope)
        return 0.0 if until is None else max(until - time.monotonic(), 0.0)

    async def block(self, scope: str, seconds: float) -> None:
        if seconds <= 0:
            return
        until = time.monotonic() + seconds
        self._until[scope] = max(self._until.get(scope, until), until)
