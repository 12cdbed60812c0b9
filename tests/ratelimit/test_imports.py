"""Importing the package and the rate limit package stays cheap: no redis, no anyio."""

from __future__ import annotations

import subprocess
import sys

LOADED = (
    "print(*(name in sys.modules for name in ('redis', 'anyio', 'clerk_async.ratelimit._limit')))"
)


def loaded_after(statement: str) -> list[str]:
    code = f"import sys; {statement}; {LOADED}"
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()


def test_importing_clerk_async_loads_no_limiter() -> None:
    assert loaded_after("import clerk_async") == ["False", "False", "False"]


def test_the_gate_loads_neither_redis_nor_anyio() -> None:
    assert loaded_after("from clerk_async.ratelimit import Gate, RateLimiter") == [
        "False",
        "False",
        "False",
    ]


def test_rate_limit_loads_anyio_but_not_redis() -> None:
    assert loaded_after("from clerk_async.ratelimit import RateLimit") == ["False", "True", "True"]
