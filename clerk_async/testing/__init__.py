"""Test code built on clerk_async offline: a fake Backend API, signed tokens and webhooks.

:class:`FakeClerk` serves a small, stateful imitation of Clerk's Backend API on 127.0.0.1,
signs session tokens with its own key and delivers signed webhooks::

    from clerk_async import AsyncClerk
    from clerk_async.testing import FakeClerk

    async with FakeClerk(users=3) as fake:
        async with AsyncClerk(fake.secret_key, server_url=fake.url) as clerk:
            user_id = next(iter(fake.users))
            state = await clerk.authenticate_request(
                {"Authorization": f"Bearer {fake.session_token(user_id)}"}
            )
            assert state.is_signed_in

With pytest, the ``fake_clerk`` and ``clerk`` fixtures are registered automatically; see
docs/testing.md. ``python -m clerk_async.testing`` runs the fake as a standalone server.
"""

from __future__ import annotations

from ._controls import RecordedRequest
from ._handlers._uploads import Upload
from ._server import FakeClerk, WebhookDelivery
from ._webhooks import sign_webhook

__all__ = ["FakeClerk", "RecordedRequest", "Upload", "WebhookDelivery", "sign_webhook"]
