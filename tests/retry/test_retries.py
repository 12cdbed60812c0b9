"""The retry policy, timeouts and cancellation, against a real server that misbehaves on cue.

Waits are tiny and exact (``jitter=None``) so the tests can check them: from below against the
gaps the server measured between attempts, from above with a slack for a busy machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import email.utils
import logging
import re
import socket
import sys
import time
from collections.abc import Iterator
from itertools import islice
from typing import Any

import anyio
import backoff
import pytest

from clerk_async import (
    AsyncClerk,
    ClerkConnectionError,
    ClerkDecodeError,
    ClerkError,
    ClerkTimeoutError,
    RateLimitError,
    RetryConfig,
    ServerError,
    Timeout,
)
from clerk_async._retry import retry_after_seconds

from ._flaky import (
    HTML_502,
    SECRET,
    TRUNCATED,
    USER_ID,
    FlakyServer,
    drop,
    html_502,
    ok,
    rate_limited,
    reset_mid_body,
    stall,
    status,
    truncated_json,
)
from .conftest import MakeClerk, connections_in_use

# Exact waits 0.01s, 0.02s, 0.04s; at most 4 attempts.
FAST = RetryConfig(max_retries=3, initial_delay=0.01, multiplier=2, max_delay=1.0, jitter=None)
SLACK = 0.75  # how late a wait or a timeout may end on two busy cores
TOLERANCE = 0.002  # timer granularity: a wait never ends earlier than this before its time


def assert_gaps(server: FlakyServer, waits: list[float]) -> None:
    gaps = server.gaps()
    assert len(gaps) == len(waits)
    for gap, wait in zip(gaps, waits, strict=True):
        assert wait - TOLERANCE <= gap < wait + SLACK, (gaps, waits)


def retry_logs(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.name == "clerk_async"]


def logged_delays(caplog: pytest.LogCaptureFixture) -> list[float]:
    return [
        float(match.group(1))
        for message in retry_logs(caplog)
        if (match := re.search(r"retrying in ([\d.]+)s", message))
    ]


def methods(clerk: AsyncClerk) -> dict[str, Any]:
    """One real operation per HTTP method, each taking no argument."""
    return {
        "GET": lambda **kw: clerk.users.get(USER_ID, **kw),
        "PUT": lambda **kw: clerk.users.replace_metadata(USER_ID, public_metadata={}, **kw),
        "DELETE": lambda **kw: clerk.users.delete(USER_ID, **kw),
        "POST": lambda **kw: clerk.users.create(first_name="Ada", **kw),
        "PATCH": lambda **kw: clerk.users.update(USER_ID, first_name="Ada", **kw),
    }


# --------------------------------------------------------------------------------------------
# The policy itself
# --------------------------------------------------------------------------------------------


def test_waits_come_from_backoff_expo_and_are_capped() -> None:
    config = RetryConfig(initial_delay=0.5, multiplier=2, max_delay=8)
    assert list(islice(config.waits(), 7)) == [0.5, 1, 2, 4, 8, 8, 8]
    linear = RetryConfig(initial_delay=0.25, multiplier=1, max_delay=8)
    assert list(islice(linear.waits(), 3)) == [0.25, 0.25, 0.25]


def test_default_jitter_is_backoffs_full_jitter() -> None:
    config = RetryConfig()
    assert config.jitter is backoff.full_jitter
    draws = [config.jittered(2.0) for _ in range(200)]
    assert all(0 <= draw <= 2.0 for draw in draws)
    assert len(set(draws)) > 100  # random, not a constant fraction
    assert RetryConfig(jitter=None).jittered(2.0) == 2.0


def test_defaults_are_bounded_well_under_a_minute() -> None:
    config = RetryConfig()
    assert config.max_retries == 3
    assert list(islice(config.waits(), config.max_retries)) == [0.5, 1.0, 2.0]  # before jitter
    assert config.total_timeout is not None and config.total_timeout <= 30
    assert config.retry_statuses == {429, 500, 502, 503, 504}
    assert config.retry_non_idempotent is False


@pytest.mark.parametrize(
    "options",
    [
        {"max_retries": -1},
        {"initial_delay": -0.1},
        {"max_delay": -1},
        {"multiplier": 0.5},
        {"total_timeout": 0},
    ],
)
def test_invalid_settings_are_refused(options: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        RetryConfig(**options)


def test_retry_after_header_forms() -> None:
    assert retry_after_seconds({}) is None
    assert retry_after_seconds({"retry-after": "7"}) == 7.0
    assert retry_after_seconds({"retry-after": "-3"}) == 0.0
    assert retry_after_seconds({"retry-after-ms": "250", "retry-after": "7"}) == 0.25
    assert retry_after_seconds({"retry-after-ms": "soon", "retry-after": "7"}) == 7.0
    assert retry_after_seconds({"retry-after": "whenever"}) is None
    ahead = email.utils.formatdate(time.time() + 90, usegmt=True)
    wait = retry_after_seconds({"retry-after": ahead})
    assert wait is not None and 88 <= wait <= 90
    past = email.utils.formatdate(time.time() - 90, usegmt=True)
    assert retry_after_seconds({"retry-after": past}) == 0.0


# --------------------------------------------------------------------------------------------
# Status codes
# --------------------------------------------------------------------------------------------


async def test_503_twice_then_200_succeeds_after_exact_waits(
    flaky: FlakyServer, make_clerk: MakeClerk
) -> None:
    flaky.script(status(503), status(503))
    clerk = make_clerk(retry=FAST)
    user = await clerk.users.get(USER_ID)
    assert user.id == USER_ID
    assert len(flaky.hits) == 3
    assert_gaps(flaky, [0.01, 0.02])
    assert connections_in_use(clerk) == 0


async def test_503_every_time_gives_up_after_max_retries(
    flaky: FlakyServer, make_clerk: MakeClerk
) -> None:
    flaky.otherwise = status(503)
    clerk = make_clerk(retry=FAST)
    with pytest.raises(ServerError) as caught:
        await clerk.users.get(USER_ID)
    assert caught.value.status == 503
    assert caught.value.attempts == 4
    assert (
        str(caught.value) == "users.get - HTTP 503 - http_503: failed with 503 - after 4 attempts"
    )
    assert len(flaky.hits) == 4
    assert_gaps(flaky, [0.01, 0.02, 0.04])
    assert connections_in_use(clerk) == 0


@pytest.mark.parametrize(
    ("method", "retried"),
    [("GET", True), ("PUT", True), ("DELETE", True), ("POST", False), ("PATCH", False)],
)
async def test_500_is_retried_only_for_idempotent_methods(
    flaky: FlakyServer, make_clerk: MakeClerk, method: str, retried: bool
) -> None:
    flaky.otherwise = status(500)
    clerk = make_clerk(retry=FAST)
    with pytest.raises(ServerError) as caught:
        await methods(clerk)[method]()
    expected = 4 if retried else 1
    assert len(flaky.hits) == expected
    assert {hit.method for hit in flaky.hits} == {method}
    assert caught.value.attempts == expected
    assert ("after 4 attempts" in str(caught.value)) is retried


@pytest.mark.parametrize("method", ["POST", "PATCH"])
async def test_500_is_retried_for_post_and_patch_when_the_caller_opts_in(
    flaky: FlakyServer, make_clerk: MakeClerk, method: str
) -> None:
    flaky.script(status(500))
    clerk = make_clerk(
        retry=RetryConfig(initial_delay=0.01, jitter=None, retry_non_idempotent=True)
    )
    user = await methods(clerk)[method]()
    assert user.id == USER_ID
    assert len(flaky.hits) == 2


@pytest.mark.parametrize(
    "answer",
    [status(429), status(503, headers={"Retry-After": "0"})],
    ids=["429", "503-with-retry-after"],
)
async def test_statuses_proving_nothing_happened_are_retried_for_post(
    flaky: FlakyServer, make_clerk: MakeClerk, answer: Any
) -> None:
    flaky.script(answer)
    clerk = make_clerk(retry=FAST)
    user = await clerk.users.create(first_name="Ada")
    assert user.id == USER_ID
    assert [hit.method for hit in flaky.hits] == ["POST", "POST"]


@pytest.mark.parametrize("code", [502, 503, 504])
async def test_gateway_failures_that_may_hide_a_write_are_not_replayed(
    flaky: FlakyServer, make_clerk: MakeClerk, code: int
) -> None:
    # A gateway's 502 or 504 (or a 503 without Retry-After) does not prove that Clerk did
    # nothing: a 504 usually means it is still working on the request.
    flaky.otherwise = status(code)
    clerk = make_clerk(retry=FAST)
    with pytest.raises(ServerError) as caught:
        await clerk.users.create(first_name="Ada")
    assert caught.value.status == code and caught.value.attempts == 1
    assert [hit.method for hit in flaky.hits] == ["POST"]
    # ...unless the caller says the write is safe to repeat.
    flaky.hits.clear()
    flaky.otherwise = ok()
    flaky.script(status(code))
    replaying = make_clerk(retry=dataclasses.replace(FAST, retry_non_idempotent=True))
    assert (await replaying.users.create(first_name="Ada")).id == USER_ID
    assert [hit.method for hit in flaky.hits] == ["POST", "POST"]


async def test_statuses_outside_the_list_are_not_retried(
    flaky: FlakyServer, make_clerk: MakeClerk
) -> None:
    flaky.otherwise = status(429)
    clerk = make_clerk(retry=RetryConfig(initial_delay=0.01, jitter=None, retry_statuses={503}))
    with pytest.raises(RateLimitError):
        await clerk.users.get(USER_ID)
    assert len(flaky.hits) == 1


async def test_html_502_from_a_proxy_is_a_server_error_with_its_text_and_is_retried(
    flaky: FlakyServer, make_clerk: MakeClerk
) -> None:
    flaky.otherwise = html_502()
    clerk = make_clerk(retry=FAST)
    with pytest.raises(ServerError) as caught:
        await clerk.users.get(USER_ID)
    error = caught.value
    assert error.status == 502
    assert error.errors == []
    assert error.body == HTML_502
    assert "502 Bad Gateway" in str(error)
    assert "cloudflare" in str(error)
    assert str(error).endswith("after 4 attempts")
    assert len(flaky.hits) == 4
    assert_gaps(flaky, [0.01, 0.02, 0.04])


async def test_truncated_json_is_a_decode_error_and_is_not_retried(
    flaky: FlakyServer, make_clerk: MakeClerk
) -> None:
    flaky.otherwise = truncated_json()
    clerk = make_clerk(retry=FAST)
    with pytest.raises(ClerkDecodeError) as caught:
        await clerk.users.get(USER_ID)
    assert caught.value.status == 200
    assert caught.value.body == TRUNCATED
    assert caught.value.operation == "users.get"
    assert "does not match the expected model" in str(caught.value)
    assert len(flaky.hits) == 1
    assert connections_in_use(clerk) == 0


# --------------------------------------------------------------------------------------------
# Retry-After
# --------------------------------------------------------------------------------------------


async def test_retry_after_in_seconds_is_honoured(
    flaky: FlakyServer, make_clerk: MakeClerk, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="clerk_async")
    flaky.script(rate_limited(retry_after="1"))
    clerk = make_clerk(retry=RetryConfig(initial_delay=0.01, max_delay=5, jitter=None))
    assert (await clerk.users.get(USER_ID)).id == USER_ID
    assert_gaps(flaky, [1.0])
    assert logged_delays(caplog) == [1.0]


async def test_retry_after_ms_takes_precedence_over_retry_after(
    flaky: FlakyServer, make_clerk: MakeClerk
) -> None:
    flaky.script(rate_limited(retry_after_ms="80", retry_after="5"))
    clerk = make_clerk(retry=RetryConfig(initial_delay=0.01, max_delay=5, jitter=None))
    assert (await clerk.users.get(USER_ID)).id == USER_ID
    assert_gaps(flaky, [0.08])


@pytest.mark.parametrize("form", ["seconds", "date"])
async def test_retry_after_is_capped_by_max_delay(
    flaky: FlakyServer, make_clerk: MakeClerk, caplog: pytest.LogCaptureFixture, form: str
) -> None:
    caplog.set_level(logging.DEBUG, logger="clerk_async")
    value = "20" if form == "seconds" else email.utils.formatdate(time.time() + 20, usegmt=True)
    flaky.script(rate_limited(retry_after=value))
    clerk = make_clerk(retry=RetryConfig(initial_delay=0.01, max_delay=0.05, jitter=None))
    assert (await clerk.users.get(USER_ID)).id == USER_ID
    assert_gaps(flaky, [0.05])
    assert logged_delays(caplog) == [0.05]


@pytest.mark.parametrize("form", ["seconds", "date", "ms"])
async def test_a_wait_beyond_the_budget_raises_rate_limit_error_at_once(
    flaky: FlakyServer, make_clerk: MakeClerk, form: str
) -> None:
    header = {
        "seconds": {"retry_after": "120"},
        "date": {"retry_after": email.utils.formatdate(time.time() + 120, usegmt=True)},
        "ms": {"retry_after_ms": "120000"},
    }[form]
    flaky.otherwise = rate_limited(**header)
    clerk = make_clerk(retry=RetryConfig(max_delay=8, total_timeout=30))
    started = time.monotonic()
    with pytest.raises(RateLimitError) as caught:
        await clerk.users.get(USER_ID)
    assert time.monotonic() - started < SLACK
    assert len(flaky.hits) == 1
    error = caught.value
    assert error.retry_after is not None and 117 <= error.retry_after <= 120
    assert error.attempts == 1
    assert error.code == "too_many_requests"
    assert re.search(r"retry after 1[12]\d(\.\d+)?s$", str(error)), str(error)


async def test_429_every_time_reports_the_last_retry_after(
    flaky: FlakyServer, make_clerk: MakeClerk
) -> None:
    flaky.otherwise = rate_limited(retry_after="0")
    clerk = make_clerk(retry=FAST)
    with pytest.raises(RateLimitError) as caught:
        await clerk.users.create(first_name="Ada")
    assert len(flaky.hits) == 4
    assert caught.value.attempts == 4
    assert caught.value.retry_after == 0
    assert "after 4 attempts" in str(caught.value)


# --------------------------------------------------------------------------------------------
# Broken connections
# --------------------------------------------------------------------------------------------


async def test_connection_closed_before_answering_is_retried_for_get(
    flaky: FlakyServer, make_clerk: MakeClerk
) -> None:
    flaky.otherwise = drop()
    clerk = make_clerk(retry=FAST)
    with pytest.raises(ClerkConnectionError) as caught:
        await clerk.users.get(USER_ID)
    error = caught.value
    assert type(error) is ClerkConnectionError
    assert error.attempts == 4
    assert "ServerDisconnectedError" in str(error)
    assert str(error).endswith("(after 4 attempts)")
    # aiohttp's own re-send of an idempotent request on a dropped pooled connection is off:
    # every attempt reaches the server exactly once, and is counted.
    assert len(flaky.hits) == 4
    assert connections_in_use(clerk) == 0


async def test_connection_closed_before_answering_a_post_is_not_retried(
    flaky: FlakyServer, make_clerk: MakeClerk
) -> None:
    flaky.otherwise = drop()
    clerk = make_clerk(retry=FAST)
    with pytest.raises(ClerkConnectionError) as caught:
        await clerk.users.create(first_name="Ada")
    assert caught.value.attempts == 1
    assert "after" not in str(caught.value)
    assert len(flaky.hits) == 1
    assert connections_in_use(clerk) == 0


async def test_a_dropped_post_is_retried_when_the_caller_opts_in(
    flaky: FlakyServer, make_clerk: MakeClerk
) -> None:
    flaky.script(drop())
    clerk = make_clerk(
        retry=RetryConfig(initial_delay=0.01, jitter=None, retry_non_idempotent=True)
    )
    assert (await clerk.users.create(first_name="Ada")).id == USER_ID
    assert len(flaky.hits) == 2


async def test_reset_mid_body_is_retried_for_get(flaky: FlakyServer, make_clerk: MakeClerk) -> None:
    flaky.script(reset_mid_body(), reset_mid_body())
    clerk = make_clerk(retry=FAST)
    assert (await clerk.users.get(USER_ID)).id == USER_ID
    assert len(flaky.hits) == 3
    assert_gaps(flaky, [0.01, 0.02])
    assert connections_in_use(clerk) == 0


async def test_reset_mid_body_of_a_post_is_not_retried(
    flaky: FlakyServer, make_clerk: MakeClerk
) -> None:
    flaky.otherwise = reset_mid_body()
    clerk = make_clerk(retry=FAST)
    with pytest.raises(ClerkConnectionError) as caught:
        await clerk.users.create(first_name="Ada")
    assert "before a complete answer came: ClientPayloadError" in str(caught.value)
    assert caught.value.attempts == 1
    assert len(flaky.hits) == 1
    assert connections_in_use(clerk) == 0


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_failure_to_connect_is_retried_even_for_post(
    make_clerk: MakeClerk, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="clerk_async")
    clerk = make_clerk(server_url=f"http://127.0.0.1:{_closed_port()}/v1", retry=FAST)
    with pytest.raises(ClerkConnectionError) as caught:
        await clerk.users.create(first_name="Ada")
    error = caught.value
    assert type(error) is ClerkConnectionError
    assert "could not connect to http://127.0.0.1:" in str(error)
    assert str(error).endswith("(after 4 attempts)")
    assert error.attempts == 4
    assert logged_delays(caplog) == [0.01, 0.02, 0.04]


# --------------------------------------------------------------------------------------------
# Timeouts
# --------------------------------------------------------------------------------------------


async def test_a_stall_past_the_call_timeout_is_a_timeout_error(
    flaky: FlakyServer, make_clerk: MakeClerk
) -> None:
    flaky.otherwise = stall()
    clerk = make_clerk(retry=FAST)
    started = time.monotonic()
    with pytest.raises(ClerkTimeoutError) as caught:
        await clerk.users.get(USER_ID, timeout=0.2, retries=False)
    elapsed = time.monotonic() - started
    assert 0.2 - TOLERANCE <= elapsed < 0.2 + SLACK
    assert "no complete answer within 0.2s" in str(caught.value)
    assert caught.value.attempts == 1
    assert len(flaky.hits) == 1
    assert connections_in_use(clerk) == 0


async def test_the_client_timeout_applies_to_each_attempt(
    flaky: FlakyServer, make_clerk: MakeClerk
) -> None:
    flaky.script(stall(), stall())
    clerk = make_clerk(timeout=0.2, retry=FAST)
    started = time.monotonic()
    assert (await clerk.users.get(USER_ID)).id == USER_ID
    elapsed = time.monotonic() - started
    assert len(flaky.hits) == 3
    # Two attempts of 0.2s each, and the waits after them.
    assert 0.4 + 0.03 - TOLERANCE <= elapsed < 0.43 + 2 * SLACK
    assert connections_in_use(clerk) == 0


async def test_a_stalled_post_is_not_retried(flaky: FlakyServer, make_clerk: MakeClerk) -> None:
    flaky.otherwise = stall()
    clerk = make_clerk(timeout=0.2, retry=FAST)
    with pytest.raises(ClerkTimeoutError) as caught:
        await clerk.users.create(first_name="Ada")
    assert caught.value.attempts == 1
    assert len(flaky.hits) == 1


async def test_the_budget_limits_retries(
    flaky: FlakyServer, make_clerk: MakeClerk, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="clerk_async")
    flaky.otherwise = status(503)
    budget = RetryConfig(
        max_retries=100, initial_delay=0.05, multiplier=1, jitter=None, total_timeout=0.3
    )
    clerk = make_clerk(retry=budget)
    started = time.monotonic()
    with pytest.raises(ServerError) as caught:
        await clerk.users.get(USER_ID)
    elapsed = time.monotonic() - started
    assert elapsed <= 0.3 + TOLERANCE  # it stops before a wait would cross the budget
    assert 2 <= len(flaky.hits) <= 7  # at most one attempt per 0.05s wait, plus the first
    assert caught.value.attempts == len(flaky.hits)
    assert retry_logs(caplog)[-1].endswith("503, retry budget exhausted")


async def test_the_budget_shortens_an_attempt(flaky: FlakyServer, make_clerk: MakeClerk) -> None:
    flaky.otherwise = stall()
    clerk = make_clerk(timeout=10, retry=RetryConfig(initial_delay=0.01, total_timeout=0.3))
    started = time.monotonic()
    with pytest.raises(ClerkTimeoutError):
        await clerk.users.get(USER_ID)
    assert 0.3 - TOLERANCE <= time.monotonic() - started < 0.3 + SLACK
    assert len(flaky.hits) == 1
    assert connections_in_use(clerk) == 0


async def test_waiting_for_a_pooled_connection_is_a_connect_timeout_retried_even_for_post(
    flaky: FlakyServer, make_clerk: MakeClerk
) -> None:
    flaky.otherwise = stall()
    # A limiter wider than the pool, so that the second call queues inside aiohttp's pool.
    clerk = make_clerk(max_connections=1, max_concurrency=2, retry=FAST)
    holder = asyncio.create_task(clerk.users.get(USER_ID, timeout=30, retries=False))
    await flaky.wait_for_hits(1)  # the only connection is now taken by the stalled call
    with pytest.raises(ClerkTimeoutError) as caught:
        await clerk.users.create(
            first_name="Ada",
            timeout=Timeout(total=5, connect=0.05),
            retries=RetryConfig(max_retries=1, initial_delay=0.01, jitter=None),
        )
    assert "timed out connecting" in str(caught.value)
    assert caught.value.attempts == 2
    assert [hit.method for hit in flaky.hits] == ["GET"]  # the POST never got a connection
    holder.cancel()
    with pytest.raises(asyncio.CancelledError):
        await holder
    assert connections_in_use(clerk) == 0


async def test_by_default_a_call_beyond_the_pool_queues_without_a_timeout(
    flaky: FlakyServer, make_clerk: MakeClerk
) -> None:
    flaky.otherwise = stall(0.5)
    clerk = make_clerk(max_connections=1, retry=False)  # max_concurrency defaults to 1
    holder = asyncio.create_task(clerk.users.get(USER_ID))
    await flaky.wait_for_hits(1)
    # Waiting half a second for the only connection is ten times the connect timeout, but
    # the wait is spent in the client's queue, which no timeout covers.
    user = await clerk.users.get(USER_ID, timeout=Timeout(total=5, connect=0.05))
    assert user.id == USER_ID
    assert (await holder).id == USER_ID
    assert len(flaky.hits) == 2
    assert flaky.hits[1].at - flaky.hits[0].at >= 0.45


# --------------------------------------------------------------------------------------------
# Cancellation
# --------------------------------------------------------------------------------------------

SLOW = RetryConfig(initial_delay=10, max_delay=10, jitter=None, total_timeout=None)


class _BackoffWatcher(logging.Handler):
    """Sets ``sleeping`` when the client logs that it is about to wait before a retry."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.sleeping = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if "retrying in" in record.getMessage():
            self.sleeping.set()


@contextlib.contextmanager
def backoff_watch() -> Iterator[asyncio.Event]:
    logger = logging.getLogger("clerk_async")
    watcher, level = _BackoffWatcher(), logger.level
    logger.addHandler(watcher)
    logger.setLevel(logging.DEBUG)
    try:
        yield watcher.sleeping
    finally:
        logger.removeHandler(watcher)
        logger.setLevel(level)


async def test_cancelling_during_the_backoff_wait_returns_at_once(
    flaky: FlakyServer, make_clerk: MakeClerk
) -> None:
    flaky.otherwise = status(503)
    clerk = make_clerk(retry=SLOW)
    with backoff_watch() as sleeping:
        task = asyncio.create_task(clerk.users.get(USER_ID))
        await sleeping.wait()
    started = time.monotonic()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert time.monotonic() - started < SLACK
    assert len(flaky.hits) == 1
    assert connections_in_use(clerk) == 0


async def test_asyncio_timeout_interrupts_the_backoff_wait(
    flaky: FlakyServer, make_clerk: MakeClerk
) -> None:
    if sys.version_info < (3, 11):
        pytest.skip("asyncio.timeout() is new in Python 3.11")
    flaky.otherwise = status(503)
    clerk = make_clerk(retry=SLOW)
    started = time.monotonic()
    with pytest.raises(TimeoutError) as caught:
        async with asyncio.timeout(0.2):
            await clerk.users.get(USER_ID)
    assert not isinstance(caught.value, ClerkError)  # the caller's own timeout, unchanged
    assert 0.2 - TOLERANCE <= time.monotonic() - started < 0.2 + SLACK
    assert len(flaky.hits) == 1
    assert connections_in_use(clerk) == 0


async def test_asyncio_timeout_interrupts_an_attempt_and_frees_its_connection(
    flaky: FlakyServer, make_clerk: MakeClerk
) -> None:
    if sys.version_info < (3, 11):
        pytest.skip("asyncio.timeout() is new in Python 3.11")
    flaky.script(stall())
    clerk = make_clerk(retry=FAST)
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.2):
            await clerk.users.get(USER_ID, timeout=30)
    assert time.monotonic() - started < 0.2 + SLACK
    assert len(flaky.hits) == 1
    assert connections_in_use(clerk) == 0
    # The pool is still usable, and the cancelled call was not retried behind our back.
    assert (await clerk.users.get(USER_ID)).id == USER_ID
    assert len(flaky.hits) == 2


@pytest.mark.parametrize("where", ["attempt", "backoff"])
async def test_anyio_move_on_after_cancels_cleanly(
    flaky: FlakyServer, make_clerk: MakeClerk, where: str
) -> None:
    flaky.otherwise = stall() if where == "attempt" else status(503)
    clerk = make_clerk(timeout=30, retry=SLOW)
    started = time.monotonic()
    result: object = None
    with anyio.move_on_after(0.2) as scope:
        result = await clerk.users.get(USER_ID)
    assert scope.cancelled_caught
    assert result is None
    assert time.monotonic() - started < 0.2 + SLACK
    assert len(flaky.hits) == 1
    assert connections_in_use(clerk) == 0


async def test_cancelling_many_stalled_calls_frees_every_connection(
    flaky: FlakyServer, make_clerk: MakeClerk
) -> None:
    flaky.otherwise = stall()
    clerk = make_clerk(max_connections=5, retry=FAST)
    tasks = [asyncio.create_task(clerk.users.get(USER_ID, timeout=30)) for _ in range(20)]
    await flaky.wait_for_hits(5)  # five in flight, fifteen waiting for a connection
    assert connections_in_use(clerk) == 5
    for task in tasks:
        task.cancel()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert all(isinstance(result, asyncio.CancelledError) for result in results)
    assert connections_in_use(clerk) == 0
    assert len(flaky.hits) == 5


# --------------------------------------------------------------------------------------------
# Per-call and per-copy options
# --------------------------------------------------------------------------------------------


async def test_retries_false_per_call_sends_once(flaky: FlakyServer, make_clerk: MakeClerk) -> None:
    flaky.otherwise = status(503)
    clerk = make_clerk(retry=FAST)
    with pytest.raises(ServerError) as caught:
        await clerk.users.get(USER_ID, retries=False)
    assert caught.value.attempts == 1
    assert len(flaky.hits) == 1


async def test_a_per_call_retry_config_overrides_the_clients(
    flaky: FlakyServer, make_clerk: MakeClerk
) -> None:
    flaky.script(status(503), status(503))
    clerk = make_clerk(retry=False)
    with pytest.raises(ServerError):
        await clerk.users.get(USER_ID)
    assert len(flaky.hits) == 1
    assert (await clerk.users.get(USER_ID, retries=FAST)).id == USER_ID
    assert len(flaky.hits) == 3


async def test_with_options_shares_the_pool_and_changes_only_the_copy(
    flaky: FlakyServer, make_clerk: MakeClerk
) -> None:
    flaky.otherwise = status(503)
    clerk = make_clerk(retry=FAST, timeout=Timeout(total=20, connect=5))
    copy = clerk.with_options(retry=False, timeout=0.5)
    assert copy._pool is clerk._pool
    assert copy._pool.session() is clerk._pool.session()
    assert copy.timeout.total == 0.5
    assert clerk.timeout == Timeout(total=20, connect=5)
    assert clerk.retry is FAST

    with pytest.raises(ServerError):
        await copy.users.get(USER_ID)
    assert len(flaky.hits) == 1
    with pytest.raises(ServerError):
        await clerk.users.get(USER_ID)
    assert len(flaky.hits) == 5

    slower = clerk.with_options(retry=RetryConfig(max_retries=1, initial_delay=0.01, jitter=None))
    with pytest.raises(ServerError) as caught:
        await slower.users.get(USER_ID)
    assert caught.value.attempts == 2
    await slower.aclose()  # a copy does not close the shared pool
    flaky.otherwise = ok()
    assert (await clerk.users.get(USER_ID)).id == USER_ID


async def test_full_jitter_waits_stay_within_their_bounds(
    flaky: FlakyServer, make_clerk: MakeClerk, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="clerk_async")
    flaky.script(status(503), status(503), status(503))
    clerk = make_clerk(retry=RetryConfig(initial_delay=0.05, multiplier=2))
    assert (await clerk.users.get(USER_ID)).id == USER_ID
    delays = logged_delays(caplog)
    assert len(delays) == 3
    for delay, ceiling in zip(delays, [0.05, 0.1, 0.2], strict=True):
        assert 0 <= delay <= ceiling
    for gap, delay in zip(flaky.gaps(), delays, strict=True):
        assert delay - TOLERANCE - 0.0005 <= gap < delay + SLACK  # logged to the millisecond


# --------------------------------------------------------------------------------------------
# Logging
# --------------------------------------------------------------------------------------------


async def test_the_jitter_function_decides_the_waits_seen_on_the_wire(
    flaky: FlakyServer, make_clerk: MakeClerk
) -> None:
    seen: list[float] = []

    def recognisable(wait: float) -> float:
        seen.append(wait)
        return 0.137  # unlike any wait the policy itself would choose

    flaky.script(status(503), status(503))
    clerk = make_clerk(retry=dataclasses.replace(FAST, jitter=recognisable))
    assert (await clerk.users.get(USER_ID)).id == USER_ID
    assert seen == [0.01, 0.02]  # the jitter is handed the exponential waits...
    assert_gaps(flaky, [0.137, 0.137])  # ...and its answer is what the server sees


async def test_every_attempt_is_logged_without_the_secret_key(
    flaky: FlakyServer, make_clerk: MakeClerk, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger: aiohttp's and asyncio's too
    flaky.script(status(503), rate_limited(retry_after_ms="10"), drop())
    flaky.otherwise = status(500)
    clerk = make_clerk(retry=FAST)
    with pytest.raises(ServerError) as caught:
        await clerk.users.get(USER_ID)

    path = f"/v1/users/{USER_ID}"
    assert retry_logs(caplog) == [
        f"users.get GET {path} attempt 1: 503, retrying in 0.010s",
        f"users.get GET {path} attempt 2: 429, retrying in 0.010s",
        f"users.get GET {path} attempt 3: ClerkConnectionError, retrying in 0.020s",
        f"users.get GET {path} attempt 4: 500",
    ]
    assert all(
        record.levelno == logging.DEBUG for record in caplog.records if record.name == "clerk_async"
    )
    for record in caplog.records:
        text = record.getMessage() + repr(record.args) + repr(record.__dict__)
        assert SECRET not in text
        assert "sk_" not in text
    assert "sk_" not in str(caught.value) and "sk_" not in repr(caught.value)
    assert len(flaky.hits) == 4  # one request per attempt: aiohttp's own re-send is off
