"""A small service built on clerk_async and FastAPI, tested offline by test_service.py.

- ``GET /me``: the signed-in user's profile (any session token).
- ``GET /org/members``: the members of the active organization, for members allowed to read
  them (``org:sys_memberships:read``).
- ``GET /reports``: for machines, with an API key or M2M token holding ``reports:read``.
- ``POST /webhooks/clerk``: Clerk's ``user.created`` events, to welcome new users.

Run it against Clerk with ``CLERK_SECRET_KEY=sk_test_... CLERK_WEBHOOK_SIGNING_SECRET=whsec_...
uvicorn service:app`` from this directory.
"""

# No `from __future__ import annotations`: FastAPI reads the routes' annotations at runtime,
# and they name dependencies local to create_app.

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException

from clerk_async import AsyncClerk
from clerk_async.auth import Auth
from clerk_async.integrations.fastapi import ClerkAuth, verified_webhook
from clerk_async.webhooks import Event, UserCreatedEvent


def create_app(clerk: AsyncClerk, *, webhook_secret: str | None = None) -> FastAPI:
    """The service, using ``clerk`` for every call to Clerk.

    ``webhook_secret`` defaults to the ``CLERK_WEBHOOK_SIGNING_SECRET`` environment variable.
    """
    app = FastAPI(title="Members service")
    signed_in = ClerkAuth(clerk)
    member_reader = ClerkAuth(clerk, permission="org:sys_memberships:read")
    machine = ClerkAuth(clerk, accepts_token=["api_key", "m2m_token"], scheme_name="Machine")
    welcomed: dict[str, str] = {}  # user id -> first name; a real service keeps a database

    @app.get("/me")
    async def me(user_id: Annotated[str, Depends(signed_in.user_id)]) -> dict[str, Any]:
        user = await clerk.users.get(user_id)
        return {"id": user.id, "first_name": user.first_name, "welcomed": user.id in welcomed}

    @app.get("/org/members")
    async def members(auth: Annotated[Auth, Depends(member_reader)]) -> list[str]:
        assert auth.org_id is not None  # the permission is only granted within an organization
        page = await clerk.organization_memberships.list(auth.org_id, limit=100)
        return [m.public_user_data.user_id for m in page.items if m.public_user_data]

    @app.get("/reports")
    async def reports(auth: Annotated[Auth, Depends(machine)]) -> dict[str, Any]:
        scopes = auth.machine.scopes if auth.machine else ()
        if "reports:read" not in scopes:
            raise HTTPException(403, "the token lacks the reports:read scope")
        return {"subject": auth.subject, "reports": []}

    @app.post("/webhooks/clerk")
    async def clerk_webhook(
        event: Annotated[Event, Depends(verified_webhook(webhook_secret))],
    ) -> dict[str, str]:
        if isinstance(event, UserCreatedEvent):
            welcomed[event.data.id] = event.data.first_name or ""
        return {"received": event.type}

    return app


@asynccontextmanager
async def _clerk_for_the_process(app: FastAPI) -> AsyncIterator[None]:
    async with app.state.clerk:
        yield


def __getattr__(name: str) -> Any:
    # `uvicorn service:app` builds the app with a client configured from the environment;
    # the tests build their own with create_app.
    if name == "app":
        clerk = AsyncClerk()  # reads CLERK_SECRET_KEY
        app = create_app(clerk)
        app.state.clerk = clerk
        app.router.lifespan_context = _clerk_for_the_process
        return app
    raise AttributeError(name)
