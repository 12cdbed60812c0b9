"""Fixtures of the retry tests: the scripted server, and clients that are checked for leaks."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from clerk_async import AsyncClerk

from ._flaky import SECRET, FlakyServer

MakeClerk = Callable[..., AsyncClerk]


def connections_in_use(clerk: AsyncClerk) -> int:
    """Connections the client's aiohttp connector has handed out and not taken back."""
    connector = clerk._pool.session().connector
    assert connector is not None
    return len(connector._acquired)


@pytest.fixture
async def flaky() -> AsyncIterator[FlakyServer]:
    server = FlakyServer()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def make_clerk(flaky: FlakyServer) -> AsyncIterator[MakeClerk]:
    """Build clients aimed at the flaky server; on teardown each must hold no connection."""
    clients: list[AsyncClerk] = []

    def make(**options: Any) -> AsyncClerk:
        options.setdefault("server_url", flaky.url)
        client = AsyncClerk(SECRET, **options)
        clients.append(client)
        return client

    try:
        yield make
        for client in clients:
            if not client._pool.closed:
                assert connections_in_use(client) == 0, "a connection was left checked out"
    finally:
        for client in clients:
            await client.aclose()
