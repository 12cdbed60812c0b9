"""Clerk webhooks: verify a delivery's signature and decode it into a typed event.

    from clerk_async.webhooks import UserCreatedEvent, verify_webhook

    event = verify_webhook(body, headers)  # secret from CLERK_WEBHOOK_SIGNING_SECRET
    if isinstance(event, UserCreatedEvent):
        print(event.data.id)

Every event type of Clerk's webhook spec has its own class (``user.created`` →
`UserCreatedEvent`, ``organizationMembership.updated`` → `OrganizationMembershipUpdatedEvent`)
with a typed ``data``; a type this release does not know decodes to `UnknownEvent`.
`verified_webhook` (FastAPI/Starlette) is imported on first use, so Starlette stays optional.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._errors import WebhookVerificationError
from ._events import *  # noqa: F403 - the generated event models are this package's API
from ._events import __all__ as _events_all
from ._verify import SECRET_ENV, WebhookVerifier, decode_event, verify_webhook

if TYPE_CHECKING:
    from ._fastapi import verified_webhook

__all__ = [
    "SECRET_ENV",
    "WebhookVerificationError",
    "WebhookVerifier",
    "decode_event",
    "verified_webhook",
    "verify_webhook",
    *_events_all,
]


def __getattr__(name: str) -> Any:
    if name == "verified_webhook":
        from ._fastapi import verified_webhook

        globals()[name] = verified_webhook
        return verified_webhook
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
