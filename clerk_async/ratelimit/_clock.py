"""Waiting for a point of the monotonic clock, which is also the event loop's clock."""

from __future__ import annotations

import time
from collections.abc import Callable


async def sleep_until(deadline: Callable[[], float]) -> None:
    """Return once ``time.monotonic()`` has reached ``deadline()``.

    The deadline is read again after every sleep: a block can be extended meanwhile, and a
    timer may fire a hair early.
    """
    import anyio

    while (delay := deadline() - time.monotonic()) > 0:  # noqa: ASYNC110  # a time, not an event
        await anyio.sleep(delay)
