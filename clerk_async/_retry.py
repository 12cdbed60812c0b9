"""When to retry a failed attempt, and how long to wait before the next one.

The waits come from ``backoff``'s exponential generator and jitter functions; this module only
decides which failures are worth another attempt and clamps the waits to the configured bounds.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field

import backoff

__all__ = ["RetryConfig"]

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
# Statuses that prove Clerk did not act on the request: safe to retry for every method.
_NOT_PROCESSED_STATUSES = frozenset({429, 502, 503, 504})


@dataclass(frozen=True)
class RetryConfig:
    """How failed attempts are retried.

    The defaults retry at most 3 times, waiting 0.5s, 1s, 2s (each with full jitter, so a
    random fraction of that), never more than 8s at once and never beyond 30s in total.

    Attributes:
        max_retries: attempts after the first; 0 disables retrying.
        initial_delay: the first wait, in seconds, before jitter.
        multiplier: each wait is this many times the previous one.
        max_delay: the longest single wait, also the cap on a server's ``Retry-After``.
        jitter: maps a wait to the wait actually slept; ``backoff.full_jitter`` (a uniform
            draw between 0 and the wait) by default, ``None`` for exact waits.
        total_timeout: the budget in seconds for all attempts and waits together; once a
            wait would cross it, the last error is raised.
        retry_statuses: the statuses worth another attempt. 429, 502, 503 and 504 are retried
            for every method because Clerk did not act on the request; any other listed status
            (500 by default) only for idempotent methods, unless ``retry_non_idempotent``.
        retry_non_idempotent: also retry POST and PATCH after a failure that may have
            happened after Clerk acted (500, a read timeout, a dropped connection).
            Off by default, because a lost response could otherwise create a duplicate.
    """

    max_retries: int = 3
    initial_delay: float = 0.5
    multiplier: float = 2.0
    max_delay: float = 8.0
    jitter: Callable[[float], float] | None = field(default=backoff.full_jitter)
    total_timeout: float | None = 30.0
    retry_statuses: frozenset[int] = frozenset({429, 500, 502, 503, 504})
    retry_non_idempotent: bool = False

    def __post_init__(self) -> None:
        if self.max_retries < 0:
            raise ValueError("RetryConfig.max_retries must be 0 or more")
        if self.initial_delay < 0 or self.max_delay < 0:
            raise ValueError("RetryConfig delays must be 0 or more seconds")
        if self.multiplier < 1:
            raise ValueError("RetryConfig.multiplier must be at least 1")
        if self.total_timeout is not None and self.total_timeout <= 0:
            raise ValueError("RetryConfig.total_timeout must be positive, or None for no budget")
        object.__setattr__(self, "retry_statuses", frozenset(self.retry_statuses))

    def waits(self) -> Iterator[float]:
        """The successive waits before jitter, from ``backoff.expo``."""
        waits = backoff.expo(base=self.multiplier, factor=self.initial_delay, max_value=self.max_delay)
        next(waits)  # backoff's generators expect to be primed before their first value
        return waits

    def jittered(self, wait: float) -> float:
        return self.jitter(wait) if self.jitter is not None else wait

    def should_retry_status(self, status: int, method: str) -> bool:
        if status not in self.retry_statuses:
            return False
        return status in _NOT_PROCESSED_STATUSES or self.allows_unsafe(method)

    def allows_unsafe(self, method: str) -> bool:
        """Whether a failure that Clerk may have acted on can be retried for this method."""
        return method in IDEMPOTENT_METHODS or self.retry_non_idempotent


NO_RETRY = RetryConfig(max_retries=0)


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """The wait a server asked for: ``retry-after-ms``, or ``Retry-After`` in seconds or as a date."""
    millis = headers.get("retry-after-ms")
    if millis is not None:
        try:
            return max(float(millis) / 1000, 0.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)
