"""A fixed-window request limit per secret key, answered as Clerk answers it (429)."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

from ._reject import Reject

__all__ = ["FixedWindow"]


@dataclass
class FixedWindow:
    """At most ``requests`` per ``seconds`` for each key; the window starts at a key's first
    request. A request over the limit gets 429 ``too_many_requests`` with ``Retry-After``
    (whole seconds until the window ends, at least 1)."""

    requests: int
    seconds: float
    _windows: dict[str, tuple[float, int]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if self.requests < 1 or not self.seconds > 0:
            raise ValueError("rate_limit must be (requests >= 1, seconds > 0)")

    def admit(self, key: str) -> None:
        now = time.monotonic()
        start, count = self._windows.get(key, (now, 0))
        if now - start >= self.seconds:
            start, count = now, 0
        if count >= self.requests:
            retry_after = max(1, math.ceil(start + self.seconds - now))
            raise Reject(
                429,
                "too_many_requests",
                "Too Many Requests",
                f"Rate limit exceeded: {self.requests} requests per {self.seconds:g} seconds"
                f" for this secret key. Retry in {retry_after} seconds.",
                headers={"Retry-After": str(retry_after)},
            )
        self._windows[key] = (start, count + 1)
