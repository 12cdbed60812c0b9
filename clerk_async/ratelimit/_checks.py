"""Argument checks and budget arithmetic shared by the limiters; each check says what was
wrong and what is accepted."""

from __future__ import annotations

import math


def seconds(name: str, value: object, *, allow_zero: bool = False) -> float:
    """``value`` as a float of seconds: a finite number, positive (or zero if allowed)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} must be a number of seconds, not {type(value).__name__}")
    number = float(value)
    low_ok = number >= 0 if allow_zero else number > 0
    if not (math.isfinite(number) and low_ok):
        bound = "zero or more" if allow_zero else "more than zero"
        raise ValueError(f"{name} must be a finite number of seconds, {bound}; got {value!r}")
    return number


def requests(value: object) -> int:
    """A budget's request count: a whole number of at least one."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"requests must be a whole number, not {type(value).__name__}")
    if value < 1:
        raise ValueError(f"requests must be at least 1; got {value}")
    return value


def margin(value: object) -> float:
    """The share of a budget kept unused: a number in [0, 1)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"margin must be a number in [0, 1), not {type(value).__name__}")
    number = float(value)
    if not 0.0 <= number < 1.0:  # also refuses NaN
        raise ValueError(
            f"margin must be in [0, 1), the share of the budget left unused; got {value!r}"
        )
    return number


def spacing(requests: int, per: float, margin: float) -> float:
    """Seconds between two permits so that ``requests`` per ``per`` seconds, less the margin,
    is never exceeded in any window."""
    return per / (requests * (1.0 - margin))


def burst(requests: int, margin: float) -> int:
    """How many permits may go at once: half the margin's share of the budget, at least one.

    The same allowance lets a waiter that woke late take its permit without pushing every
    later permit back, so the long-run rate stays at the budget less the margin.
    """
    return max(1, int(requests * margin / 2))
