"""The pytest plugin (entry point ``pytest11``): ``fake_clerk`` and ``clerk`` fixtures.

Installed with clerk_async, so a project needs no conftest.py::

    @pytest.mark.fake_clerk(users=10)
    async def test_lists_users(fake_clerk: FakeClerk, clerk: AsyncClerk) -> None:
        assert len(await clerk.users.list()) == 10

Both fixtures are async resources bound to the test's event loop, so they are served by
whichever plugin runs the test: anyio's when the test uses ``anyio_backend`` (marked
``@pytest.mark.anyio``), pytest-asyncio's otherwise, in its strict mode as in its auto mode.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .._client import AsyncClerk
    from ._server import FakeClerk

_MARKER = "fake_clerk"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{_MARKER}(**options): keyword arguments of FakeClerk for the fake_clerk fixture,"
        " e.g. @pytest.mark.fake_clerk(users=10, rate_limit=(100, 10))",
    )


def _options(request: pytest.FixtureRequest) -> dict[str, Any]:
    marker = request.node.get_closest_marker(_MARKER)
    if marker is None:
        return {}
    if marker.args:
        raise pytest.UsageError(
            f"@pytest.mark.{_MARKER} takes keyword arguments only (FakeClerk's), e.g."
            f" @pytest.mark.{_MARKER}(users=10)"
        )
    return dict(marker.kwargs)


async def _serve_fake(request: pytest.FixtureRequest) -> AsyncIterator[FakeClerk]:
    # Imported here so that every pytest run of a project with clerk_async installed does
    # not pay for importing aiohttp.
    from ._server import FakeClerk

    async with FakeClerk(**_options(request)) as fake:
        yield fake


async def _bind_client(fake: FakeClerk) -> AsyncIterator[AsyncClerk]:
    from .._client import AsyncClerk

    async with AsyncClerk(fake.secret_key, server_url=fake.url) as client:
        yield client


@pytest.fixture(name="_clerk_async_fake_anyio")
async def _fake_anyio(request: pytest.FixtureRequest) -> AsyncIterator[FakeClerk]:
    async for fake in _serve_fake(request):
        yield fake


@pytest.fixture(name="_clerk_async_client_anyio")
async def _client_anyio(fake_clerk: FakeClerk) -> AsyncIterator[AsyncClerk]:
    async for client in _bind_client(fake_clerk):
        yield client


try:
    import pytest_asyncio
except ImportError:  # anyio's plugin alone serves the fixtures
    pass
else:

    @pytest_asyncio.fixture(name="_clerk_async_fake_asyncio")
    async def _fake_asyncio(request: pytest.FixtureRequest) -> AsyncIterator[FakeClerk]:
        async for fake in _serve_fake(request):
            yield fake

    @pytest_asyncio.fixture(name="_clerk_async_client_asyncio")
    async def _client_asyncio(fake_clerk: FakeClerk) -> AsyncIterator[AsyncClerk]:
        async for client in _bind_client(fake_clerk):
            yield client


def _runner(request: pytest.FixtureRequest, fixture: str) -> str:
    """The fixture variant of the plugin that runs this test."""
    if "anyio_backend" in request.fixturenames:
        return f"_clerk_async_{fixture}_anyio"
    if "pytest_asyncio" not in globals():
        raise pytest.UsageError(
            f"the {fixture} fixture needs an async test runner: install pytest-asyncio, or mark"
            " the test @pytest.mark.anyio to run it with anyio's pytest plugin"
        )
    return f"_clerk_async_{fixture}_asyncio"


@pytest.fixture
def fake_clerk(request: pytest.FixtureRequest) -> FakeClerk:
    """A running :class:`FakeClerk`, configured by ``@pytest.mark.fake_clerk(...)``."""
    fake: FakeClerk = request.getfixturevalue(_runner(request, "fake"))
    return fake


@pytest.fixture
def clerk(request: pytest.FixtureRequest, fake_clerk: FakeClerk) -> AsyncClerk:
    """An ``AsyncClerk`` bound to ``fake_clerk`` (its secret key and URL)."""
    client: AsyncClerk = request.getfixturevalue(_runner(request, "client"))
    return client
