"""Ten thousand concurrent calls against a server that rate-limits 30% of requests at random.

Every call must end, either with its user or with a ``RateLimitError`` after its last attempt:
none lost, none hung, and the server's own counts must add up with what the callers saw.
"""

from __future__ import annotations

import asyncio

from clerk_async import RateLimitError, RetryConfig
from clerk_async.models import User

from ._flaky import USER_ID, Flaky429, FlakyServer
from .conftest import MakeClerk, connections_in_use

CALLS = 10_000


async def test_ten_thousand_calls_all_end_and_the_counts_add_up(
    flaky: FlakyServer, make_clerk: MakeClerk
) -> None:
    limiter = Flaky429(share=0.3, seed=20260512)
    flaky.otherwise = limiter
    # No overall budget: on a slow machine the last callers queue for many seconds before
    # their first attempt, and the budget counts from the call, queueing included.
    retry = RetryConfig(max_retries=3, initial_delay=0.001, jitter=None, total_timeout=None)
    # The limiter queues the callers beyond 50 without a timeout; without it they would queue
    # in aiohttp's pool, where the wait counts against each attempt's connect timeout.
    clerk = make_clerk(max_connections=50, max_concurrency=50, retry=retry)

    results = await asyncio.wait_for(
        asyncio.gather(*(clerk.users.get(USER_ID) for _ in range(CALLS)), return_exceptions=True),
        120,
    )

    succeeded = [result for result in results if isinstance(result, User)]
    limited = [result for result in results if isinstance(result, RateLimitError)]
    others = [result for result in results if not isinstance(result, (User, RateLimitError))]
    assert others == []
    assert len(succeeded) + len(limited) == CALLS

    # Each success is one 200 the server sent; each failure is four 429s in a row.
    assert limiter.ok_count == len(succeeded)
    assert limiter.ok_count + limiter.limited_count == len(flaky.hits)
    assert all(error.attempts == 4 and error.retry_after == 0 for error in limited)
    assert limiter.limited_count >= 4 * len(limited)

    # About 30% of the requests were refused, and about 0.3**4 of the calls ran out of retries.
    assert 0.27 < limiter.limited_count / len(flaky.hits) < 0.33
    assert len(limited) < 0.02 * CALLS
    assert connections_in_use(clerk) == 0
