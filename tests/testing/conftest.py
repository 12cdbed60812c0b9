"""Fixtures of the testing kit's own tests."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from clerk_async.testing import FakeClerk

from ._spec import KEY, Api, Checker, load_spec


@pytest.fixture(scope="session")
def spec() -> dict[str, Any]:
    return load_spec()


@pytest.fixture
async def fake() -> Any:
    async with FakeClerk(KEY) as server:
        yield server


@pytest.fixture
async def api(fake: FakeClerk, spec: dict[str, Any]) -> Any:
    async with aiohttp.ClientSession() as session:
        yield Api(session, fake, Checker(spec))
