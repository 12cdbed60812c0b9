"""A FastAPI app that authenticates requests with Clerk session tokens.

Run with ``CLERK_SECRET_KEY=sk_test_... uvicorn examples.fastapi_auth:app``; call it with
``Authorization: Bearer <session token>`` or a ``__session`` cookie.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI

from clerk_async import AsyncClerk
from clerk_async.auth import Auth
from clerk_async.integrations.fastapi import ClerkAuth

# One client for the whole process: one connection pool and one JWKS cache.
clerk = AsyncClerk()
require_user = ClerkAuth(clerk, authorized_parties=["http://localhost:3000"])
require_admin = ClerkAuth(clerk, role="org:admin")


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    async with clerk:
        yield


app = FastAPI(lifespan=lifespan)


@app.get("/me")
async def me(auth: Annotated[Auth, Depends(require_user)]) -> dict[str, Any]:
    return {"user_id": auth.user_id, "org_id": auth.org_id, "permissions": auth.org_permissions}


@app.get("/admin")
async def admin(auth: Annotated[Auth, Depends(require_admin)]) -> dict[str, Any]:
    user = await clerk.users.get(auth.user_id or "")
    return {"admin": user.id}
