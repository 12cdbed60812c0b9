"""No secret key and no token in a repr, a log line or a traceback rendered with its locals
(what error trackers such as Sentry record)."""

from __future__ import annotations

import traceback

import pytest

from clerk_async import AsyncClerk, ClerkError, RetryConfig

from ..conftest import RecordingServer
from ..retry._flaky import FlakyServer, drop, stall, truncated_json

SECRET = "sk_live_TopSecretValueThatMustNeverLeak42"


def rendered(error: BaseException) -> str:
    return "".join(traceback.TracebackException.from_exception(error, capture_locals=True).format())


async def _failure(clerk: AsyncClerk) -> ClerkError:
    with pytest.raises(ClerkError) as caught:
        await clerk.users.get("user_1", retries=RetryConfig(max_retries=1, initial_delay=0.001))
    return caught.value


async def test_connection_refused_tracebacks_hold_no_secret() -> None:
    async with AsyncClerk(SECRET, server_url="http://127.0.0.1:9/v1") as clerk:
        error = await _failure(clerk)
    text = rendered(error)
    assert "could not connect" in text and "Bearer" not in text and SECRET not in text


@pytest.mark.parametrize(
    "action", [drop, truncated_json, lambda: stall(5)], ids=["drop", "decode", "timeout"]
)
async def test_failed_exchanges_render_without_the_secret(action: object) -> None:
    flaky = FlakyServer()
    await flaky.start()
    flaky.otherwise = action()  # type: ignore[operator]
    try:
        async with AsyncClerk(SECRET, server_url=flaky.url, timeout=0.3) as clerk:
            error = await _failure(clerk)
            text = rendered(error)
            assert "prepared" in text  # the locals were rendered
            assert SECRET not in text and "TopSecret" not in text
            assert SECRET not in repr(clerk) and SECRET not in repr(clerk._config)
    finally:
        await flaky.stop()


async def test_api_errors_render_without_the_secret(server: RecordingServer) -> None:
    server.reply("/v1/users/user_1", {"errors": [{"code": "nope", "message": "no"}]}, status=404)
    async with AsyncClerk(SECRET, server_url=server.url) as clerk:
        error = await _failure(clerk)
    assert SECRET not in rendered(error)
    assert server.last.headers["Authorization"] == f"Bearer {SECRET}"  # it was sent, though
