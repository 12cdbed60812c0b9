"""When to retry a failed attempt, and how long to wait before the next one.

A :class:`RetryConfig` is the policy; each call starts its own :class:`RetrySchedule` from it,
which answers one question per failure: wait how long, or give up? The waits come from
``backoff``'s exponential generator and jitter functions; the schedule owns the attempt count
and the time budget.

Writes are never replayed unless the failure proves that Clerk did not act on them: see the
table in docs/retries.md.
"""

from __future__ import annotations

import email.utils
import math
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field

import backoff

__all__ = ["NO_RETRY", "RetryConfig", "RetrySchedule", "retry_after_seconds"]

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
# A longer Retry-After than this is treated as this: a hostile or broken server must not be able
# to park calls for hours.
MAX_RETRY_AFTER = 3600.0


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
            wait would cross it, the last error is raised. Time spent queueing (for a
            concurrency slot, at a closed rate-limit gate, for a rate limiter) does not count.
        retry_statuses: the statuses worth another attempt. For GET, PUT and DELETE every
            listed status is retried; for POST and PATCH only 429 and a 503 carrying
            ``Retry-After``, which prove Clerk did not act, unless ``retry_non_idempotent``.
        retry_non_idempotent: retry POST and PATCH like the other methods, after failures
            that may have happened after Clerk acted (500, 502, 504, a read timeout, a
            dropped connection). Off by default: a lost answer would otherwise create a
            duplicate.

    Raises:
        TypeError, ValueError: at construction, for a field of the wrong type or range.
    """

    max_retries: int = 3
    initial_delay: float = 0.5
    multiplier: float = 2.0
    max_delay: float = 8.0
    jitter: Callable[[float], float] | None = field(default=backoff.full_jitter)
    total_timeout: float | None = 30.0
    retry_statuses: Collection[int] = frozenset({429, 500, 502, 503, 504})
    retry_non_idempotent: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.max_retries, bool) or not isinstance(self.max_retries, int):
            raise TypeError(f"RetryConfig.max_retries must be an int, not {self.max_retries!r}")
        if self.max_retries < 0:
            raise ValueError("RetryConfig.max_retries must be 0 or more")
        _seconds("initial_delay", self.initial_delay, minimum=0.0)
        _seconds("max_delay", self.max_delay, minimum=0.0)
        if _seconds("multiplier", self.multiplier, minimum=0.0) < 1:
            raise ValueError("RetryConfig.multiplier must be at least 1")
        if self.jitter is not None and not callable(self.jitter):
            raise TypeError(
                "RetryConfig.jitter must be a function of one wait (such as"
                f" backoff.full_jitter) or None, not {self.jitter!r}"
            )
        if self.total_timeout is not None and _seconds("total_timeout", self.total_timeout) <= 0:
            raise ValueError("RetryConfig.total_timeout must be positive, or None for no budget")
        object.__setattr__(self, "retry_statuses", _statuses(self.retry_statuses))
        if not isinstance(self.retry_non_idempotent, bool):
            raise TypeError("RetryConfig.retry_non_idempotent must be a bool")

    def waits(self) -> Iterator[float]:
        """The successive waits before jitter, from ``backoff.expo``."""
        waits = backoff.expo(
            base=self.multiplier, factor=self.initial_delay, max_value=self.max_delay
        )
        next(waits)  # backoff's generators expect to be primed before their first value
        return waits

    def jittered(self, wait: float) -> float:
        """The wait actually slept for a wait of ``wait`` seconds."""
        return self.jitter(wait) if self.jitter is not None else wait

    def start(self, method: str) -> RetrySchedule:
        """A fresh schedule for one call with this HTTP method."""
        return RetrySchedule(self, method)


class RetrySchedule:
    """The retries of one call: counts attempts, owns the budget, decides each wait.

    ``next_wait`` returns the seconds to wait before the next attempt, or ``None`` to give up.
    """

    __slots__ = ("_config", "_deadline", "_may_replay", "_waits", "attempts", "out_of_budget")

    def __init__(self, config: RetryConfig, method: str) -> None:
        self._config = config
        self._may_replay = method in IDEMPOTENT_METHODS or config.retry_non_idempotent
        self._deadline = (
            time.monotonic() + config.total_timeout if config.total_timeout is not None else None
        )
        self._waits: Iterator[float] | None = (
            None  # built on the first retry: most calls never need it
        )
        self.attempts = 0
        self.out_of_budget = False
        """Whether the last ``next_wait`` gave up because the wait would cross the budget."""

    @property
    def max_delay(self) -> float:
        """The longest single wait of this schedule's policy."""
        return self._config.max_delay

    def remaining(self) -> float | None:
        """Seconds left in the budget (at least a millisecond), or ``None`` without one."""
        if self._deadline is None:
            return None
        return max(self._deadline - time.monotonic(), 0.001)

    def exclude(self, seconds: float) -> None:
        """Leave time spent queueing out of the budget."""
        if self._deadline is not None:
            self._deadline += seconds

    def next_wait(
        self,
        *,
        status: int | None = None,
        retry_after: float | None = None,
        reached_server: bool = True,
    ) -> float | None:
        """The wait before another attempt after this failure, or ``None`` to give up.

        Args:
            status: the HTTP status answered, or ``None`` for a transport failure.
            retry_after: the server's ``Retry-After``, in seconds, if it sent one.
            reached_server: for a transport failure, whether the request may have reached
                Clerk (false when the connection could not even be opened).
        """
        if self.attempts > self._config.max_retries or not self._retryable(
            status, retry_after, reached_server
        ):
            return None
        if retry_after is not None:
            wait = min(retry_after, self._config.max_delay)
            # Retrying before the wait the server asked for would most likely be refused
            # again, so a wait beyond the budget ends the call now.
            needed = retry_after
        else:
            if self._waits is None:
                self._waits = self._config.waits()
            wait = needed = self._config.jittered(next(self._waits))
        if self._deadline is not None and time.monotonic() + needed > self._deadline:
            self.out_of_budget = True
            return None
        return wait

    def _retryable(self, status: int | None, retry_after: float | None, reached: bool) -> bool:
        if status is None:
            return not reached or self._may_replay
        if status not in self._config.retry_statuses:
            return False
        proves_not_processed = status == 429 or (status == 503 and retry_after is not None)
        return proves_not_processed or self._may_replay


def _seconds(name: str, value: object, *, minimum: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise TypeError(f"RetryConfig.{name} must be a finite number, not {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"RetryConfig.{name} must be {minimum:g} or more, not {value!r}")
    return float(value)


def _statuses(values: Iterable[int]) -> frozenset[int]:
    try:
        statuses = frozenset(values)
    except TypeError:
        raise TypeError(
            f"RetryConfig.retry_statuses must be a set of ints, not {values!r}"
        ) from None
    for status in statuses:
        if isinstance(status, bool) or not isinstance(status, int) or not 400 <= status <= 599:
            raise ValueError(
                f"RetryConfig.retry_statuses holds {status!r}, not an HTTP error status"
            )
    return statuses


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """The wait a server asked for: ``retry-after-ms``, or ``Retry-After`` in seconds or as a date.

    Values that are not finite, negative or absurdly large are clamped to 0 to an hour.
    """
    millis = _number(headers.get("retry-after-ms"))
    if millis is not None:
        return _clamp(millis / 1000)
    value = headers.get("retry-after")
    if value is None:
        return None
    seconds = _number(value)
    if seconds is not None:
        return _clamp(seconds)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return _clamp(when.timestamp() - time.time())


def _number(value: str | None) -> float | None:
    if value is None or len(value) > 32:
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _clamp(seconds: float) -> float:
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


NO_RETRY = RetryConfig(max_retries=0)
