"""Bulk jobs against FakeClerk, which counts the requests it is handling at any moment."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from clerk_async import AsyncClerk, NotFoundError, Outcome
from clerk_async.models import User
from clerk_async.testing import FakeClerk

from .._support import wait_until

CALLS = 10_000


@pytest.fixture(scope="module")
def seeded() -> FakeClerk:
    return FakeClerk(users=1_000)


@pytest.fixture
async def fake(seeded: FakeClerk) -> AsyncIterator[FakeClerk]:
    seeded.requests.clear()
    seeded.max_in_flight = 0
    # Each request waits a little on the server, so that concurrent calls overlap there.
    seeded.delay = 0.002
    async with seeded:
        yield seeded


def make_clerk(fake: FakeClerk, **options: object) -> AsyncClerk:
    return AsyncClerk(fake.secret_key, server_url=fake.url, retry=False, **options)  # type: ignore[arg-type]


async def test_ten_thousand_gathered_calls_keep_to_max_concurrency(fake: FakeClerk) -> None:
    ids = list(fake.users)
    async with make_clerk(fake, max_concurrency=20) as clerk:
        users = await asyncio.wait_for(
            asyncio.gather(*(clerk.users.get(ids[n % len(ids)]) for n in range(CALLS))), 120
        )
        assert [u.id for u in users] == [ids[n % len(ids)] for n in range(CALLS)]
        assert len(clerk._pool.session().connector._acquired) == 0  # type: ignore[union-attr]
    assert len(fake.requests) == CALLS
    assert fake.max_in_flight == 20  # reached, never passed


async def test_by_default_the_pool_size_bounds_the_requests_in_flight(fake: FakeClerk) -> None:
    ids = list(fake.users)[:500]
    async with make_clerk(fake, max_connections=10) as clerk:
        users = await asyncio.gather(*(clerk.users.get(user_id) for user_id in ids))
    assert len(users) == 500
    assert fake.max_in_flight == 10


async def test_map_gives_one_outcome_per_item_in_order(fake: FakeClerk) -> None:
    ids = list(fake.users)[:300]
    ids[17] = "user_missing_one"
    ids[250] = "user_missing_two"
    async with make_clerk(fake) as clerk:
        outcomes = await clerk.map(clerk.users.get, ids, concurrency=8)

    assert [o.item for o in outcomes] == ids
    failed = {n: o for n, o in enumerate(outcomes) if not o.ok}
    assert failed.keys() == {17, 250}
    for outcome in failed.values():
        assert isinstance(outcome.error, NotFoundError) and outcome.value is None
        with pytest.raises(NotFoundError):
            outcome.unwrap()
    for n, outcome in enumerate(outcomes):
        if n not in failed:
            assert isinstance(outcome.value, User) and outcome.value.id == ids[n]
            assert outcome.unwrap() is outcome.value
    assert len(fake.requests) == 300
    assert fake.max_in_flight == 8


async def test_map_defaults_to_the_clients_concurrency() -> None:
    async with (
        FakeClerk(users=60, delay=0.002) as fake,
        make_clerk(fake, max_concurrency=5) as clerk,
    ):
        outcomes = await clerk.map(clerk.users.ban, (user_id for user_id in fake.users))
        assert all(o.ok for o in outcomes) and len(outcomes) == 60
        assert all(user["banned"] for user in fake.users.values())
        assert fake.max_in_flight == 5


async def test_map_captures_any_exception_of_the_function() -> None:
    async def half(number: int) -> float:
        await asyncio.sleep(0)
        if number % 2:
            raise ValueError(f"{number} is odd")
        return number / 2

    clerk = AsyncClerk("sk_test_x")
    outcomes = await clerk.map(half, range(6), concurrency=2)
    assert [o.value for o in outcomes] == [0, None, 1, None, 2, None]
    assert [str(o.error) for o in outcomes if o.error] == ["1 is odd", "3 is odd", "5 is odd"]
    assert outcomes[0] == Outcome(0, 0.0)


async def test_map_keeps_the_items_order_when_calls_finish_in_reverse() -> None:
    finished: list[int] = []

    async def slower_first(number: int) -> int:
        await asyncio.sleep(0.01 * (8 - number))  # item 0 finishes last, item 7 first
        finished.append(number)
        return number * 10

    clerk = AsyncClerk("sk_test_x")
    outcomes = await clerk.map(slower_first, range(8), concurrency=8)
    assert finished == list(range(7, -1, -1))
    assert [(o.item, o.value) for o in outcomes] == [(n, n * 10) for n in range(8)]


async def test_map_of_nothing_does_nothing(fake: FakeClerk) -> None:
    async with make_clerk(fake) as clerk:
        assert await clerk.map(clerk.users.get, []) == []
    assert fake.requests == []


@pytest.mark.parametrize("concurrency", [-1, 2.5, True])
async def test_map_refuses_a_bad_concurrency(concurrency: object) -> None:
    clerk = AsyncClerk("sk_test_x")
    with pytest.raises(ValueError, match="concurrency must be a positive int"):
        await clerk.map(clerk.users.get, ["user_1"], concurrency=concurrency)  # type: ignore[arg-type]


async def test_cancelling_a_map_cancels_its_calls_in_flight(fake: FakeClerk) -> None:
    fake.delay = 0.5
    async with make_clerk(fake) as clerk:
        job = asyncio.create_task(clerk.map(clerk.users.get, list(fake.users), concurrency=4))
        await wait_until(lambda: len(fake.requests) == 4)
        job.cancel()
        with pytest.raises(asyncio.CancelledError):
            await job
        assert len(clerk._pool.session().connector._acquired) == 0  # type: ignore[union-attr]
    assert len(fake.requests) == 4  # nobody took the next item
