"""Bulk jobs: one coroutine function applied to many items, a bounded number at a time."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar, cast

import anyio

__all__ = ["Outcome", "map_bounded"]

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class Outcome(Generic[T, R]):
    """What one item of a bulk job came to: the value returned, or the exception raised.

    Attributes:
        item: the item, as given.
        value: what the function returned (``None`` when it raised).
        error: the exception it raised, or ``None`` when it succeeded.
    """

    item: T
    value: R | None = None
    error: Exception | None = None

    @property
    def ok(self) -> bool:
        """Whether the function returned rather than raised."""
        return self.error is None

    def unwrap(self) -> R:
        """The value, or raise the error."""
        if self.error is not None:
            raise self.error
        return self.value  # type: ignore[return-value]  # R itself may be Optional


async def map_bounded(
    fn: Callable[[T], Awaitable[R]], items: Iterable[T], concurrency: int
) -> list[Outcome[T, R]]:
    """``fn`` applied to every item, at most ``concurrency`` at a time; see ``AsyncClerk.map``."""
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise ValueError(f"concurrency must be a positive int, not {concurrency!r}")
    queue = list(items)
    outcomes: list[Outcome[T, R] | None] = [None] * len(queue)
    positions = iter(range(len(queue)))

    async def worker() -> None:
        # Workers share one iterator of positions: each takes the next item when it is free,
        # so only `concurrency` calls exist at once however long the list.
        for position in positions:
            item = queue[position]
            try:
                outcomes[position] = Outcome(item, await fn(item))
            except Exception as exc:  # the job goes on; the caller sees each error
                outcomes[position] = Outcome(item, error=exc)

    async with anyio.create_task_group() as group:
        for _ in range(min(concurrency, len(queue))):
            group.start_soon(worker)
    # The task group returned normally, so every worker has filled in every position it took.
    return cast("list[Outcome[T, R]]", outcomes)
