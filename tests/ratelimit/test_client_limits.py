"""The limits as a client meets them: the gate and a RateLimit on the one request path, shared
by clients and copies, against FakeClerk enforcing Clerk's fixed window."""

from __future__ import annotations

import asyncio
import time

import pytest

from clerk_async import AsyncClerk, RetryConfig
from clerk_async.ratelimit import RateLimit
from clerk_async.testing import FakeClerk

WINDOW = (40, 1.0)  # the fake admits 40 requests per second and key


async def _get_all(clerk: AsyncClerk, user_ids: list[str]) -> None:
    users = await asyncio.gather(*(clerk.users.get(user_id) for user_id in user_ids))
    assert [user.id for user in users] == user_ids


async def test_clients_sharing_a_rate_limit_never_meet_the_servers_limit() -> None:
    limit = RateLimit(*WINDOW)
    async with FakeClerk(users=60, rate_limit=WINDOW) as fake:
        ids = list(fake.users)
        async with (
            AsyncClerk(fake.secret_key, server_url=fake.url, rate_limit=limit) as first,
            AsyncClerk(fake.secret_key, server_url=fake.url, rate_limit=limit) as second,
        ):
            await asyncio.gather(_get_all(first, ids), _get_all(second, ids))
            assert first.rate_limit_wait > 0
        assert len(fake.requests) == 120  # one request per call: not a single 429


async def test_without_a_limiter_the_gate_still_loses_no_call() -> None:
    async with FakeClerk(users=60, rate_limit=WINDOW) as fake:
        ids = list(fake.users)
        async with AsyncClerk(fake.secret_key, server_url=fake.url) as clerk:
            await asyncio.gather(_get_all(clerk, ids), _get_all(clerk.with_options(timeout=9), ids))
            assert clerk.rate_limit_wait > 0  # copies share the gate, and its count
        assert len(fake.requests) > 120  # the limit was met: some calls were answered 429


async def test_waiting_for_the_limiter_does_not_use_up_the_budget() -> None:
    async with FakeClerk(users=30) as fake:
        ids = list(fake.users)
        brief = RetryConfig(total_timeout=0.2)
        async with AsyncClerk(
            fake.secret_key, server_url=fake.url, rate_limit=RateLimit(20, 1.0), retry=brief
        ) as clerk:
            started = time.monotonic()
            await _get_all(clerk, ids)
            assert time.monotonic() - started > 0.4  # the limiter spaced the calls out


async def test_cancelling_a_call_waiting_for_the_limiter_takes_no_permit() -> None:
    async with FakeClerk(users=10) as fake:
        limit = RateLimit(5, 1.0, margin=0.0)
        async with AsyncClerk(fake.secret_key, server_url=fake.url, rate_limit=limit) as clerk:
            ids = list(fake.users)
            calls = [asyncio.ensure_future(clerk.users.get(user_id)) for user_id in ids]
            await asyncio.sleep(0.3)
            for call in calls[5:]:
                call.cancel()
            done = await asyncio.gather(*calls, return_exceptions=True)
            sent = [result for result in done if not isinstance(result, BaseException)]
            assert len(fake.requests) == len(sent) < len(ids)
            assert (await clerk.users.get(ids[0])).id == ids[0]  # the limiter still serves


def test_auto_picks_clerks_documented_budget_from_the_key() -> None:
    live = AsyncClerk("sk_live_abc", rate_limit="auto").rate_limit
    test = AsyncClerk("sk_test_abc", rate_limit="auto").rate_limit
    assert isinstance(live, RateLimit) and (live.requests, live.per) == (1000, 10.0)
    assert isinstance(test, RateLimit) and (test.requests, test.per) == (100, 10.0)
    assert AsyncClerk("sk_test_abc").rate_limit is None
    copy = AsyncClerk("sk_live_abc").with_options(rate_limit="auto")
    assert isinstance(copy.rate_limit, RateLimit) and copy.rate_limit.requests == 1000


@pytest.mark.parametrize("bad", ["fast", 100, object()])
def test_a_bad_rate_limit_is_refused(bad: object) -> None:
    with pytest.raises((TypeError, ValueError), match="rate_limit"):
        AsyncClerk("sk_test_abc", rate_limit=bad)  # type: ignore[arg-type]


def test_auto_needs_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CLERK_SECRET_KEY", raising=False)
    with pytest.raises(ValueError, match="needs the secret key"):
        AsyncClerk(rate_limit="auto")
