"""FakeClerk(rate_limit=...): Clerk's fixed window per secret key, with 429 and Retry-After."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest

from clerk_async import AsyncClerk, RateLimitError
from clerk_async.testing import FakeClerk

from ._spec import Api, Checker


async def test_requests_over_the_window_get_clerks_429(spec: dict[str, Any]) -> None:
    async with FakeClerk(users=1, rate_limit=(3, 0.5)) as fake, aiohttp.ClientSession() as session:
        api = Api(session, fake, Checker(spec))
        for _ in range(3):
            await api.ok("GET", "/users")
        for _ in range(5):
            assert await api.ok("GET", "/jwks")  # never limited
        error = await api.error(429, "too_many_requests", "GET", "/users")
        assert "3 requests per 0.5 seconds" in error["long_message"]
        async with session.get(
            fake.url + "/users", headers={"Authorization": f"Bearer {fake.secret_key}"}
        ) as response:
            assert response.status == 429
            assert response.headers["Retry-After"] == "1"  # whole seconds, at least 1
        await asyncio.sleep(0.55)
        await api.ok("GET", "/users")  # a new window


async def test_the_sdk_sees_a_rate_limit_error_with_retry_after() -> None:
    async with (
        FakeClerk(users=1, rate_limit=(1, 5)) as fake,
        AsyncClerk(fake.secret_key, server_url=fake.url, retry=False) as clerk,
    ):
        await clerk.users.count()
        with pytest.raises(RateLimitError) as limited:
            await clerk.users.count()
        assert limited.value.retry_after is not None and 1 <= limited.value.retry_after <= 5


@pytest.mark.parametrize("limit", [(0, 1.0), (5, 0.0), (5, -1.0)])
def test_a_meaningless_limit_is_refused(limit: tuple[int, float]) -> None:
    with pytest.raises(ValueError, match="rate_limit"):
        FakeClerk(rate_limit=limit)
