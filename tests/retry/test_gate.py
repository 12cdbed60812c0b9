"""The 429 gate: one Retry-After closes the endpoint for every call of the client, in order."""

from __future__ import annotations

import asyncio
import logging

import pytest

from clerk_async import RetryConfig

from ._flaky import USER_ID, FlakyServer, rate_limited
from .conftest import MakeClerk

PATIENT = RetryConfig(
    max_retries=3, initial_delay=0.01, max_delay=5, jitter=None, total_timeout=2.0
)
SLACK = 0.05


async def test_a_429_with_retry_after_holds_back_every_call_to_that_endpoint(
    flaky: FlakyServer, make_clerk: MakeClerk, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="clerk_async")
    flaky.script(rate_limited(retry_after="0.4"))
    clerk = make_clerk(retry=PATIENT)
    first = asyncio.ensure_future(clerk.users.get(USER_ID))
    await flaky.wait_for_hits(1)
    await asyncio.sleep(0.05)  # the 429 has arrived and closed the gate
    limited_at = flaky.hits[0].at
    # Queueing at the gate is not a call's own time: a 0.2s budget survives a 0.4s block.
    brief = RetryConfig(total_timeout=0.2)
    others = [clerk.users.get(f"user_{i}", retries=brief) for i in range(5)]
    users = await asyncio.gather(first, *others)
    assert [user.id for user in users] == [USER_ID] * 6
    later = [hit for hit in flaky.hits[1:] if hit.path.startswith("/v1/users/")]
    assert len(later) == 6  # the first call's retry and the five others, once each
    assert all(hit.at >= limited_at + 0.4 - SLACK for hit in later)
    closing = [r.getMessage() for r in caplog.records if "attempt 1: 429" in r.getMessage()]
    assert closing == [f"users.get GET /v1/users/{USER_ID} attempt 1: 429, retrying in 0.400s"]


async def test_other_endpoints_stay_open(flaky: FlakyServer, make_clerk: MakeClerk) -> None:
    flaky.script(rate_limited(retry_after="0.5"))
    clerk = make_clerk(retry=PATIENT)
    blocked = asyncio.ensure_future(clerk.users.get(USER_ID))
    await flaky.wait_for_hits(1)
    await asyncio.sleep(0.05)
    copy = clerk.with_options(timeout=5)
    other = asyncio.ensure_future(copy.users.delete(USER_ID, retries=False))
    await flaky.wait_for_hits(2)
    assert flaky.hits[1].method == "DELETE"
    assert flaky.hits[1].at < flaky.hits[0].at + 0.3  # DELETE /users/{id} was not held back
    await asyncio.gather(blocked, other, return_exceptions=True)


async def test_copies_share_the_gate(flaky: FlakyServer, make_clerk: MakeClerk) -> None:
    flaky.script(rate_limited(retry_after="0.4"))
    clerk = make_clerk(retry=PATIENT)
    await asyncio.gather(
        clerk.users.get(USER_ID), _after_first_hit(flaky, clerk.with_options(timeout=9))
    )
    assert flaky.hits[-1].at >= flaky.hits[0].at + 0.4 - SLACK


async def _after_first_hit(flaky: FlakyServer, clerk: object) -> None:
    await flaky.wait_for_hits(1)
    await asyncio.sleep(0.05)
    await clerk.users.get(USER_ID)  # type: ignore[attr-defined]


async def test_cancelling_a_call_waiting_at_the_gate_leaves_the_others_unharmed(
    flaky: FlakyServer, make_clerk: MakeClerk
) -> None:
    flaky.script(rate_limited(retry_after="0.3"))
    clerk = make_clerk(retry=PATIENT)
    first = asyncio.ensure_future(clerk.users.get(USER_ID))
    await flaky.wait_for_hits(1)
    await asyncio.sleep(0.05)
    waiting = [asyncio.ensure_future(clerk.users.get(USER_ID)) for _ in range(3)]
    await asyncio.sleep(0.05)
    waiting[1].cancel()
    results = await asyncio.gather(first, *waiting, return_exceptions=True)
    assert isinstance(results[2], asyncio.CancelledError)
    assert [r.id for i, r in enumerate(results) if i != 2] == [USER_ID] * 3  # type: ignore[union-attr]
    assert len(flaky.hits) == 4  # the cancelled call never sent
