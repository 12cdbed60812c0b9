"""Client lifecycle: one pooled session, clear errors when closed, no secret in repr."""

from __future__ import annotations

import asyncio
import contextlib

import aiohttp
import pytest

from clerk_async import AsyncClerk, ClerkClosedError, ClerkDecodeError, RetryConfig, Timeout

from .conftest import SECRET, RecordingServer


async def test_one_session_shared_by_every_call_and_copy(server: RecordingServer) -> None:
    async with AsyncClerk(SECRET, server_url=server.url) as clerk:
        copy = clerk.with_options(timeout=3, retry=RetryConfig(max_retries=1), headers={"X-A": "1"})
        assert copy._pool is clerk._pool
        assert copy.timeout == Timeout(total=3.0, connect=3.0)
        assert copy.retry.max_retries == 1 and clerk.retry.max_retries == 3
        await asyncio.gather(*(_ignore(clerk.users.unban(f"user_{i}")) for i in range(20)))
        await _ignore(copy.users.unban("user_x"))
        assert clerk._pool.session() is copy._pool.session()
        await copy.aclose()  # a copy never closes the shared pool
        await _ignore(clerk.users.unban("user_y"))
    assert len(server.requests) == 22
    assert server.last.headers.get("X-A") is None
    assert server.requests[-2].headers["X-A"] == "1"


async def _ignore(call: object) -> None:
    with contextlib.suppress(ClerkDecodeError):
        await call  # type: ignore[misc]


async def test_closed_client_raises_a_clear_error(server: RecordingServer) -> None:
    clerk = AsyncClerk(SECRET, server_url=server.url)
    await clerk.aclose()
    with pytest.raises(ClerkClosedError, match="closed"):
        await clerk.users.get("user_1")
    assert server.requests == []


async def test_session_passed_in_is_used_and_left_open(server: RecordingServer) -> None:
    async with aiohttp.ClientSession() as session:
        async with AsyncClerk(SECRET, server_url=server.url, session=session) as clerk:
            await _ignore(clerk.users.unban("user_1"))
            assert clerk._pool.session() is session
        assert not session.closed
    assert len(server.requests) == 1


def test_repr_never_shows_the_key() -> None:
    clerk = AsyncClerk("sk_live_abcdefghijklmnop")
    text = repr(clerk)
    assert "abcdefghijklmnop" not in text
    assert "sk_live_***" in text
    assert "abcdefghijklmnop" not in repr(clerk.users)


def test_client_can_be_built_outside_an_event_loop() -> None:
    clerk = AsyncClerk(SECRET)
    assert clerk._pool._session is None  # created lazily, inside the loop that first uses it


@pytest.mark.parametrize("bad", [0, -1, True, "5"])
def test_bad_timeout_is_rejected(bad: object) -> None:
    with pytest.raises(TypeError, match="timeout"):
        AsyncClerk(SECRET, timeout=bad)  # type: ignore[arg-type]


def test_bad_limits_are_rejected() -> None:
    with pytest.raises(ValueError, match="max_connections"):
        AsyncClerk(SECRET, max_connections=0)
    with pytest.raises(ValueError, match="max_concurrency"):
        AsyncClerk(SECRET, max_concurrency=0)
    with pytest.raises(ValueError, match="max_retries"):
        RetryConfig(max_retries=-1)


def test_import_is_lazy() -> None:
    import subprocess
    import sys

    code = (
        "import clerk_async, sys;"
        " print('aiohttp' in sys.modules, 'clerk_async.models.users' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
