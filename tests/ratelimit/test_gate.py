"""The 429 gate: blocks per scope, extension, FIFO resumption, cancellation, hostile values."""

from __future__ import annotations

import asyncio
import logging
import math
import time

import pytest

from clerk_async.ratelimit import MAX_BLOCK, Gate, RateLimiter

SCOPE = "GET /users/{user_id}"


def passes_without_suspending(gate: Gate, scope: str) -> bool:
    """Whether ``acquire`` finishes on its first step, without giving the loop a turn.
    Only for scopes expected open: a suspended step is abandoned mid-way."""
    step = gate.acquire(scope)
    try:
        step.send(None)
    except StopIteration:
        return True
    step.close()
    return False


async def test_gate_is_a_rate_limiter() -> None:
    assert isinstance(Gate(), RateLimiter)


async def test_open_scope_passes_without_suspending() -> None:
    gate = Gate()
    assert passes_without_suspending(gate, SCOPE)
    assert await gate.blocked_for(SCOPE) == 0.0


async def test_block_holds_the_scope_until_it_ends() -> None:
    gate = Gate()
    await gate.block(SCOPE, 0.3)
    assert 0.2 < await gate.blocked_for(SCOPE) <= 0.3
    started = time.monotonic()
    await gate.acquire(SCOPE)
    assert 0.29 <= time.monotonic() - started < 1.0
    assert await gate.blocked_for(SCOPE) == 0.0
    assert passes_without_suspending(gate, SCOPE)


async def test_block_is_per_scope() -> None:
    gate = Gate()
    await gate.block(SCOPE, 5)
    assert passes_without_suspending(gate, "GET /organizations/{organization_id}")
    assert await gate.blocked_for("GET /organizations/{organization_id}") == 0.0


async def test_longer_block_extends_and_shorter_one_never_shortens() -> None:
    gate = Gate()
    await gate.block(SCOPE, 0.5)
    await gate.block(SCOPE, 0.1)
    assert await gate.blocked_for(SCOPE) > 0.4
    await gate.block(SCOPE, 2)
    assert await gate.blocked_for(SCOPE) > 1.9


async def test_block_extended_while_waiting_holds_the_waiters() -> None:
    gate = Gate()
    await gate.block(SCOPE, 0.2)
    started = time.monotonic()
    waiter = asyncio.create_task(gate.acquire(SCOPE))
    await asyncio.sleep(0.1)
    await gate.block(SCOPE, 0.4)  # now ends 0.5 s after the start
    await waiter
    assert time.monotonic() - started >= 0.49


async def test_waiters_resume_in_arrival_order() -> None:
    gate = Gate()
    await gate.block(SCOPE, 0.2)
    passed: list[int] = []

    async def waiter(index: int) -> None:
        await gate.acquire(SCOPE)
        passed.append(index)

    tasks = []
    for index in range(40):
        tasks.append(asyncio.create_task(waiter(index)))
        await asyncio.sleep(0)  # each queues before the next starts
    await asyncio.gather(*tasks)
    assert passed == list(range(40))


async def test_newcomer_queues_behind_waiters_still_leaving() -> None:
    gate = Gate()
    await gate.block(SCOPE, 0.1)
    passed: list[str] = []
    late: list[asyncio.Task[None]] = []

    async def waiter(name: str) -> None:
        await gate.acquire(SCOPE)
        passed.append(name)
        if name == "early0":  # the block is over, and 19 waiters have yet to leave
            late.append(asyncio.create_task(waiter("late")))

    await asyncio.gather(*(waiter(f"early{i}") for i in range(20)))
    await late[0]
    assert passed == [f"early{i}" for i in range(20)] + ["late"]


async def test_cancelled_waiters_leave_the_queue_and_no_state() -> None:
    gate = Gate()
    await gate.block(SCOPE, 0.2)
    passed: list[int] = []

    async def waiter(index: int) -> None:
        await gate.acquire(SCOPE)
        passed.append(index)

    tasks = [asyncio.create_task(waiter(index)) for index in range(8)]
    await asyncio.sleep(0.05)
    for index in (0, 3, 4, 7):  # the head (sleeping on the block), the middle, the tail
        tasks[index].cancel()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert [isinstance(r, asyncio.CancelledError) for r in results] == [
        index in (0, 3, 4, 7) for index in range(8)
    ]
    assert passed == [1, 2, 5, 6]
    assert gate._closed == {}  # the record went with the last waiter
    assert passes_without_suspending(gate, SCOPE)


async def test_cancelling_every_waiter_lets_the_block_expire_cleanly() -> None:
    gate = Gate()
    await gate.block(SCOPE, 0.1)
    tasks = [asyncio.create_task(gate.acquire(SCOPE)) for _ in range(5)]
    await asyncio.sleep(0.02)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    assert not gate._closed[SCOPE].lock.locked()
    await asyncio.sleep(0.1)
    assert passes_without_suspending(gate, SCOPE)
    assert gate._closed == {}


@pytest.mark.parametrize(
    ("seconds", "error"),
    [
        (math.nan, ValueError),
        (-1, ValueError),
        (-1e-9, ValueError),
        (math.inf, ValueError),
        (-math.inf, ValueError),
        ("1", TypeError),
        (None, TypeError),
        (True, TypeError),
        (b"1", TypeError),
    ],
)
async def test_block_refuses_what_is_not_a_wait(seconds: object, error: type[Exception]) -> None:
    gate = Gate()
    with pytest.raises(error, match="seconds"):
        await gate.block(SCOPE, seconds)  # type: ignore[arg-type]
    assert await gate.blocked_for(SCOPE) == 0.0


async def test_huge_block_is_capped() -> None:
    gate = Gate()
    await gate.block(SCOPE, 1e12)
    assert MAX_BLOCK - 1 < await gate.blocked_for(SCOPE) <= MAX_BLOCK


async def test_zero_block_closes_nothing() -> None:
    gate = Gate()
    await gate.block(SCOPE, 0)
    assert gate._closed == {}
    assert passes_without_suspending(gate, SCOPE)


async def test_closing_and_opening_are_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="clerk_async.ratelimit")
    gate = Gate()
    await gate.block(SCOPE, 0.1)
    await gate.block(SCOPE, 0.2)
    await gate.acquire(SCOPE)
    messages = [r.getMessage() for r in caplog.records if r.name == "clerk_async.ratelimit"]
    assert messages[0] == f"rate limit: {SCOPE} closed for 0.100s (429 with Retry-After)"
    assert messages[1] == f"rate limit: {SCOPE} closed for 0.200s more (429 with Retry-After)"
    assert messages[2].startswith(f"rate limit: {SCOPE} open again after 0.2")
    assert len(messages) == 3
    assert all(
        r.levelno == logging.DEBUG for r in caplog.records if r.name == "clerk_async.ratelimit"
    )


async def test_repr_names_blocked_scopes() -> None:
    gate = Gate()
    await gate.block(SCOPE, 1)
    assert repr(gate) == "Gate(blocked=['GET /users/{user_id}'])"
