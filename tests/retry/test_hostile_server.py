"""A server that answers too much, or answers strangely: bounded reads and sane waits."""

from __future__ import annotations

import gzip
import time

import pytest
from aiohttp import web

from clerk_async import ClerkResponseTooLargeError, RateLimitError, RetryConfig
from clerk_async._retry import MAX_RETRY_AFTER, retry_after_seconds

from ._flaky import USER_ID, FlakyServer, drop, ok, rate_limited, status
from .conftest import MakeClerk, connections_in_use

LIMIT = 1024 * 1024


def sized(body: bytes, **headers: str) -> web.Response:
    return web.Response(body=body, headers={"Content-Type": "application/json", **headers})


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(lambda: sized(b" " * (LIMIT + 1)), id="content-length"),
        pytest.param(
            lambda: sized(gzip.compress(b" " * (64 * LIMIT)), **{"Content-Encoding": "gzip"}),
            id="gzip-bomb",
        ),
    ],
)
async def test_an_answer_past_the_limit_raises_and_frees_the_connection(
    flaky: FlakyServer, make_clerk: MakeClerk, answer: object
) -> None:
    async def action(request: web.Request) -> web.StreamResponse:
        return answer()  # type: ignore[operator, no-any-return]

    flaky.otherwise = action
    clerk = make_clerk(max_response_bytes=LIMIT)
    with pytest.raises(ClerkResponseTooLargeError) as caught:
        await clerk.users.get(USER_ID)
    assert caught.value.limit == LIMIT and caught.value.operation == "users.get"
    assert "max_response_bytes" in str(caught.value)
    assert len(flaky.hits) == 1  # not retried: the same answer would come again
    assert connections_in_use(clerk) == 0


async def test_an_endless_chunked_answer_is_cut_at_the_limit(
    flaky: FlakyServer, make_clerk: MakeClerk
) -> None:
    sent = 0

    async def endless(request: web.Request) -> web.StreamResponse:
        nonlocal sent
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        try:
            while sent < 64 * LIMIT:
                await response.write(b" " * 65536)
                sent += 65536
        except (ConnectionError, RuntimeError):
            pass
        return response

    flaky.otherwise = endless
    clerk = make_clerk(max_response_bytes=LIMIT)
    with pytest.raises(ClerkResponseTooLargeError):
        await clerk.users.get(USER_ID)
    assert connections_in_use(clerk) == 0
    assert sent < 16 * LIMIT  # the client hung up; the server did not get to send it all


async def test_the_default_limit_is_generous(flaky: FlakyServer, make_clerk: MakeClerk) -> None:
    clerk = make_clerk()
    assert (await clerk.users.get(USER_ID)).id == USER_ID


@pytest.mark.parametrize(
    "value", ["nan", "inf", "-inf", "1e308", "9" * 400, "Fri, 31 Dec 9999 23:59:59 GMT"]
)
def test_absurd_retry_after_values_are_clamped(value: str) -> None:
    wait = retry_after_seconds({"retry-after": value})
    assert wait is None or 0.0 <= wait <= MAX_RETRY_AFTER


async def test_a_huge_retry_after_ends_the_call_instead_of_parking_it(
    flaky: FlakyServer, make_clerk: MakeClerk
) -> None:
    flaky.otherwise = rate_limited(retry_after="1e308")
    clerk = make_clerk(retry=RetryConfig(max_delay=0.05, total_timeout=1.0))
    started = time.monotonic()
    with pytest.raises(RateLimitError) as caught:
        await clerk.users.get(USER_ID)
    assert time.monotonic() - started < 0.5
    assert caught.value.retry_after == MAX_RETRY_AFTER
    assert len(flaky.hits) == 1


async def test_retries_false_sends_a_delete_exactly_once_on_a_dropped_pooled_connection(
    flaky: FlakyServer, make_clerk: MakeClerk
) -> None:
    clerk = make_clerk(retry=False)
    flaky.script(ok())
    await clerk.users.get(USER_ID)  # leaves a pooled keep-alive connection behind
    flaky.hits.clear()
    flaky.otherwise = drop()
    with pytest.raises(Exception, match="connection failed"):
        await clerk.users.delete(USER_ID)
    # aiohttp would re-send an idempotent request once on its own; ours is switched off.
    assert [hit.method for hit in flaky.hits] == ["DELETE"]


async def test_an_oversized_answer_after_a_retry_counts_both_attempts(
    flaky: FlakyServer, make_clerk: MakeClerk
) -> None:
    async def oversized(request: web.Request) -> web.StreamResponse:
        return sized(b" " * (LIMIT + 1))

    flaky.script(status(503), oversized)
    clerk = make_clerk(max_response_bytes=LIMIT, retry=RetryConfig(initial_delay=0.01))
    with pytest.raises(ClerkResponseTooLargeError) as caught:
        await clerk.users.get(USER_ID)
    assert caught.value.attempts == 2 and len(flaky.hits) == 2
