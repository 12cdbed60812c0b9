"""Rate limits: the 429 gate, a smooth local limiter, and the protocol the transport calls.

``Gate`` holds back requests to an endpoint that Clerk answered with 429 and ``Retry-After``;
``RateLimit`` also spaces requests so a job stays under a budget in the first place. Both
implement :class:`RateLimiter`, as does ``clerk_async.ratelimit.redis.RedisRateLimit``, which
shares the budget and the gate between processes (the ``redis`` extra). Importing this package
is cheap: each name loads its module on first access.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._gate import MAX_BLOCK, Gate
    from ._limit import RateLimit
    from ._protocol import RateLimiter

_EXPORTS = {
    "MAX_BLOCK": "_gate",
    "Gate": "_gate",
    "RateLimit": "_limit",
    "RateLimiter": "_protocol",
}

__all__ = ["MAX_BLOCK", "Gate", "RateLimit", "RateLimiter"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'clerk_async.ratelimit' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
