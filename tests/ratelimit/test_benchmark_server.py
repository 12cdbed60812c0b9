"""The rate-limited benchmark server: admits its budget per window, then answers Clerk's 429."""

from __future__ import annotations

import asyncio
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import _server  # noqa: E402  (benchmarks/_server.py, importable once its folder is on the path)


@pytest.fixture(scope="module")
def origin() -> Iterator[str]:
    process, port = _server.spawn(
        [sys.executable, str(BENCHMARKS / "_ratelimited_server.py"), "--requests=20", "--window=1"],
        "PORT",
    )
    yield f"http://127.0.0.1:{port}"
    _server.stop(process)


async def test_admits_the_budget_then_answers_429_until_the_window_ends(origin: str) -> None:
    headers = {"Authorization": f"Bearer {_server.SECRET_KEY}"}
    async with aiohttp.ClientSession(headers=headers) as session:
        await (await session.post(f"{origin}/_reset")).json()

        async def get() -> tuple[int, str | None, str]:
            async with session.get(f"{origin}/v1/users/{_server.user_id(2)}") as reply:
                body = await reply.json()
                code = body["errors"][0]["code"] if reply.status == 429 else body["id"]
                return reply.status, reply.headers.get("Retry-After"), code

        answers = Counter(await asyncio.gather(*(get() for _ in range(30))))
        assert answers == {
            (200, None, _server.user_id(2)): 20,
            (429, "1", "too_many_requests"): 10,
        }
        async with session.get(f"{origin}/_stats") as reply:
            assert await reply.json() == {
                "attempts": 30, "ok": 20, "limited": 10, "windows_limited": 1
            }
        await asyncio.sleep(1.05)  # the next window
        status, _, _ = await get()
        assert status == 200


async def test_refuses_a_wrong_key(origin: str) -> None:
    async with aiohttp.ClientSession() as session, session.get(
        f"{origin}/v1/users/{_server.user_id(2)}", headers={"Authorization": "Bearer sk_test_nope"}
    ) as reply:
        assert reply.status == 401
