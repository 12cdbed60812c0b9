"""The local limiter: checks, presets, spacing, window bounds, order, cancellation, gate."""

from __future__ import annotations

import asyncio
import math
import time

import aiohttp
import pytest

from clerk_async.ratelimit import RateLimit, RateLimiter

from .._support import serve
from ._support import FixedWindow, busiest_window, fixed_window_app

SCOPE = "GET /users/{user_id}"


async def take(limit: RateLimit, count: int, tasks: int, scope: str = SCOPE) -> list[float]:
    """``count`` permits taken by ``tasks`` concurrent tasks; the monotonic time of each."""
    times: list[float] = []

    async def worker(share: int) -> None:
        for _ in range(share):
            await limit.acquire(scope)
            times.append(time.monotonic())

    await asyncio.gather(*(worker(count // tasks + (i < count % tasks)) for i in range(tasks)))
    return times


def test_rate_limit_is_a_rate_limiter() -> None:
    assert isinstance(RateLimit(10, 1), RateLimiter)


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "message"),
    [
        ((0, 1), {}, ValueError, "requests must be at least 1"),
        ((-5, 1), {}, ValueError, "requests must be at least 1"),
        ((1.5, 1), {}, TypeError, "requests must be a whole number"),
        ((True, 1), {}, TypeError, "requests must be a whole number"),
        (("10", 1), {}, TypeError, "requests must be a whole number"),
        ((10, 0), {}, ValueError, "per must be a finite number of seconds, more than zero"),
        ((10, -1), {}, ValueError, "per must be a finite number"),
        ((10, math.nan), {}, ValueError, "per must be a finite number"),
        ((10, math.inf), {}, ValueError, "per must be a finite number"),
        ((10, "10"), {}, TypeError, "per must be a number of seconds"),
        ((10, 1), {"margin": 1}, ValueError, r"margin must be in \[0, 1\)"),
        ((10, 1), {"margin": -0.1}, ValueError, r"margin must be in \[0, 1\)"),
        ((10, 1), {"margin": math.nan}, ValueError, r"margin must be in \[0, 1\)"),
        ((10, 1), {"margin": None}, TypeError, "margin must be a number"),
    ],
)
def test_arguments_are_checked(
    args: tuple[object, ...], kwargs: dict[str, object], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        RateLimit(*args, **kwargs)  # type: ignore[arg-type]


def test_presets_are_clerks_documented_limits() -> None:
    production, development = RateLimit.production(), RateLimit.development()
    assert (production.requests, production.per, production.margin) == (1000, 10.0, 0.1)
    assert (development.requests, development.per, development.margin) == (100, 10.0, 0.1)
    assert production.spacing == pytest.approx(10 / 900)
    assert RateLimit.production(margin=0.2).margin == 0.2
    assert repr(production) == "RateLimit(requests=1000, per=10, margin=0.1)"


def test_secret_key_picks_the_preset() -> None:
    assert RateLimit.for_secret_key("sk_live_abc123").requests == 1000
    assert RateLimit.for_secret_key("sk_test_abc123").requests == 100
    assert RateLimit.for_secret_key("sk_test_abc123", margin=0.3).margin == 0.3


@pytest.mark.parametrize(
    "key",
    [
        "",
        "sk_prod_secretvalue42",
        "SK_LIVE_secretvalue42",
        "pk_test_secretvalue42",
        " sk_live_secretvalue42",
    ],
)
def test_other_keys_are_refused_without_being_shown(key: str) -> None:
    with pytest.raises(ValueError, match="neither sk_live_ nor sk_test_") as raised:
        RateLimit.for_secret_key(key)
    assert "secretvalue42" not in str(raised.value)
    if key.startswith("pk_"):
        assert "publishable key" in str(raised.value)


def test_secret_key_must_be_a_string() -> None:
    with pytest.raises(TypeError, match="secret_key must be a string"):
        RateLimit.for_secret_key(None)  # type: ignore[arg-type]


async def test_permits_are_spaced_and_no_window_exceeds_the_budget() -> None:
    limit = RateLimit(20, per=0.5)  # 36 permits per second, one every ~27.8 ms
    times = await take(limit, 40, tasks=10)
    assert busiest_window(times, 0.5) <= 20
    span = max(times) - min(times)
    assert 39 * limit.spacing * 0.95 <= span < 39 * limit.spacing + 1.0


async def test_burst_is_half_the_margin_then_permits_are_spaced() -> None:
    limit = RateLimit(100, per=10)  # 9 per second in the long run, bursts of at most 5
    assert limit.burst == 5
    started = time.monotonic()
    offsets = [t - started for t in sorted(await take(limit, 8, tasks=8))]
    assert max(offsets[:5]) < 0.08
    # The sixth permit is due one spacing (1/9 s) after the burst, the eighth three.
    assert offsets[5] >= limit.spacing - 0.002
    assert 3 * limit.spacing - 0.002 <= offsets[7] < 3 * limit.spacing + 0.3


async def test_windows_stay_under_the_budget_less_half_the_margin() -> None:
    limit = RateLimit(100, per=1)
    times = await take(limit, 120, tasks=20)
    assert busiest_window(times, 1) <= 95
    assert 114 * limit.spacing <= max(times) - min(times) < 119 * limit.spacing + 1


def test_burst_is_at_least_one_permit() -> None:
    assert RateLimit(10, 1).burst == 1
    assert RateLimit(1000, 10, margin=0).burst == 1
    assert RateLimit.production().burst == 50


async def test_first_permit_is_immediate_and_idle_time_is_not_saved_up() -> None:
    limit = RateLimit(10, per=1, margin=0)  # one every 0.1 s
    started = time.monotonic()
    await limit.acquire(SCOPE)
    assert time.monotonic() - started < 0.05
    await asyncio.sleep(0.3)  # idle: no burst may build up
    times = await take(limit, 3, tasks=3)
    assert max(times) - min(times) >= 0.19


async def test_waiters_take_permits_in_arrival_order() -> None:
    limit = RateLimit(100, per=1)
    passed: list[int] = []

    async def waiter(index: int) -> None:
        await limit.acquire(SCOPE)
        passed.append(index)

    tasks = []
    for index in range(15):
        tasks.append(asyncio.create_task(waiter(index)))
        await asyncio.sleep(0)
    await asyncio.gather(*tasks)
    assert passed == list(range(15))


async def test_cancelled_waiters_take_no_permit() -> None:
    limit = RateLimit(5, per=1, margin=0)  # one every 0.2 s
    passed: dict[int, float] = {}
    started = time.monotonic()

    async def waiter(index: int) -> None:
        await limit.acquire(SCOPE)
        passed[index] = time.monotonic() - started

    tasks = [asyncio.create_task(waiter(index)) for index in range(5)]
    await asyncio.sleep(0.05)  # 0 has passed, 1 sleeps for its permit, 2-4 queue
    for index in (1, 2, 3):
        tasks[index].cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    assert sorted(passed) == [0, 4]
    # Task 4 got the second permit (0.2 s), not the fifth (0.8 s): the cancelled took none.
    assert 0.18 <= passed[4] < 0.5
    assert not limit._lock or not limit._lock.locked()


async def test_a_block_holds_its_scope_and_spares_the_others() -> None:
    limit = RateLimit(100, per=1)
    await limit.block(SCOPE, 0.4)
    assert 0.3 < await limit.blocked_for(SCOPE) <= 0.4
    started = time.monotonic()
    await limit.acquire("GET /organizations/{organization_id}")
    assert time.monotonic() - started < 0.1
    await limit.acquire(SCOPE)
    assert time.monotonic() - started >= 0.39


async def test_a_block_during_the_wait_for_a_permit_sends_the_waiter_back_to_the_gate() -> None:
    limit = RateLimit(5, per=1, margin=0)  # one every 0.2 s
    await limit.acquire(SCOPE)
    started = time.monotonic()
    waiter = asyncio.create_task(limit.acquire(SCOPE))  # waits ~0.2 s for its permit
    await asyncio.sleep(0.05)
    await limit.block(SCOPE, 0.5)
    await waiter
    assert time.monotonic() - started >= 0.54


async def test_clients_sharing_one_limit_stay_under_a_fixed_window_server() -> None:
    window = FixedWindow(requests=25, window=0.5)
    limit = RateLimit(25, per=0.5)
    async with serve(fixed_window_app(window)) as url:
        sessions = [aiohttp.ClientSession() for _ in range(3)]  # three clients, one budget
        try:

            async def call(session: aiohttp.ClientSession) -> int:
                await limit.acquire("GET /ping")
                async with session.get(f"{url}/v1/ping") as response:
                    return response.status

            statuses = await asyncio.gather(*(call(s) for s in sessions for _ in range(30)))
        finally:
            for session in sessions:
                await session.close()
    assert statuses == [200] * 90
    assert (window.admitted, window.refused) == (90, 0)


async def test_the_fixed_window_server_refuses_an_unthrottled_burst() -> None:
    """The counterpart of the test above: the server really enforces its window."""
    window = FixedWindow(requests=25, window=0.5)
    async with serve(fixed_window_app(window)) as url, aiohttp.ClientSession() as session:

        async def call() -> int:
            async with session.get(f"{url}/v1/ping") as response:
                return response.status

        statuses = await asyncio.gather(*(call() for _ in range(60)))
    assert statuses.count(429) >= 10
    assert window.refused >= 10
