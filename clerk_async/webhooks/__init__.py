"""Clerk webhooks: verify a delivery's signature and decode it into a typed event.

    from clerk_async.webhooks import UserCreatedEvent, verify_webhook

    event = verify_webhook(body, headers)  # secret from CLERK_WEBHOOK_SIGNING_SECRET
    if isinstance(event, UserCreatedEvent):
        print(event.data.id)

Every event type of Clerk's webhook spec has its own class (``user.created`` →
`UserCreatedEvent`, ``organizationMembership.updated`` → `OrganizationMembershipUpdatedEvent`)
with a typed ``data``; a type this release does not know decodes to `UnknownEvent`.
For FastAPI and Starlette receivers, see ``clerk_async.integrations.fastapi.verified_webhook``.
"""

from __future__ import annotations

from .._errors import WebhookVerificationError
from ._events import *  # noqa: F403 - the generated event models are this package's API
from ._events import __all__ as _events_all
from ._verify import SECRET_ENV, WebhookVerifier, decode_event, verify_webhook

__all__ = [
    "SECRET_ENV",
    "WebhookVerificationError",
    "WebhookVerifier",
    "decode_event",
    "verify_webhook",
    *_events_all,
]

