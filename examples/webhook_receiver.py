"""A FastAPI app that receives Clerk webhooks, verified and typed.

Run it from the repository root, with the endpoint's signing secret from the Clerk dashboard:

    CLERK_WEBHOOK_SIGNING_SECRET=whsec_... uvicorn examples.webhook_receiver:app --port 8000

then point a Clerk webhook endpoint (or `svix listen`) at http://<host>:8000/webhooks/clerk.
Forged, altered or replayed deliveries get a 400; Svix retries anything but a 2xx.
"""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import Depends, FastAPI

from clerk_async.integrations.fastapi import verified_webhook
from clerk_async.webhooks import (
    Event,
    OrganizationMembershipCreatedEvent,
    SessionCreatedEvent,
    UnknownEvent,
    UserCreatedEvent,
    UserDeletedEvent,
    UserUpdatedEvent,
)

log = logging.getLogger("webhook_receiver")

app = FastAPI(title="Clerk webhook receiver")

# Reads CLERK_WEBHOOK_SIGNING_SECRET on each request; pass secret= to fix it at startup instead.
ClerkEvent = Annotated[Event, Depends(verified_webhook())]


@app.post("/webhooks/clerk")
async def clerk_webhook(event: ClerkEvent) -> dict[str, str | None]:
    """Acknowledge a verified event, saying what it was about."""
    subject: str | None
    match event:
        case UserCreatedEvent(data=user) | UserUpdatedEvent(data=user):
            # A real app would upsert the user in its own database here.
            log.info("user %s: %s %s", user.id, user.first_name, user.last_name)
            subject = user.id
        case UserDeletedEvent(data=deleted):
            subject = deleted.id
        case OrganizationMembershipCreatedEvent(data=membership):
            org = membership.organization
            subject = org.id if org else None
        case SessionCreatedEvent(data=session):
            subject = session.user_id
        case UnknownEvent():
            # A type newer than this SDK: acknowledge it so Svix does not retry forever.
            log.info("unhandled event type %s", event.type)
            subject = None
        case _:
            subject = None
    return {"received": event.type, "subject": subject}


if __name__ == "__main__":
    import uvicorn

    uvicorn.run(app, host="127.0.0.1", port=8000)
