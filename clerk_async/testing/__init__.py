"""Helpers for testing code that uses clerk_async, without network access or a Clerk account.

:class:`FakeClerk` serves a small, stateful imitation of Clerk's Backend API on 127.0.0.1::

    from clerk_async import AsyncClerk
    from clerk_async.testing import FakeClerk

    async with FakeClerk(users=3) as fake:
        async with AsyncClerk(bearer_auth=fake.secret_key, server_url=fake.url) as clerk:
            ...
"""

from __future__ import annotations

from ._fake_clerk import FakeClerk, RecordedRequest, Upload

__all__ = ["FakeClerk", "RecordedRequest", "Upload"]
