"""A FastAPI app that authenticates requests with Clerk session tokens.

With a key, serve it: ``CLERK_SECRET_KEY=sk_test_... uvicorn examples.fastapi_auth:app``, and
call it with ``Authorization: Bearer <session token>`` or a ``__session`` cookie.

Without ``CLERK_SECRET_KEY``, ``python examples/fastapi_auth.py`` runs offline: FakeClerk plays
Clerk, the app is served on 127.0.0.1 and called with tokens the fake signs.
"""

# No `from __future__ import annotations`: FastAPI reads the routes' annotations at runtime,
# and they name dependencies local to create_app.

import asyncio
import os
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import aiohttp
import uvicorn
from fastapi import Depends, FastAPI

from clerk_async import AsyncClerk
from clerk_async.auth import Auth
from clerk_async.integrations.fastapi import ClerkAuth
from clerk_async.testing import FakeClerk


def create_app(clerk: AsyncClerk) -> FastAPI:
    """The app; one client for the whole process: one connection pool and one JWKS cache."""
    app = FastAPI()
    require_user = ClerkAuth(clerk, authorized_parties=["http://localhost:3000"])
    require_admin = ClerkAuth(clerk, role="org:admin")

    @app.get("/me")
    async def me(auth: Annotated[Auth, Depends(require_user)]) -> dict[str, Any]:
        return {"user_id": auth.user_id, "org_id": auth.org_id, "permissions": auth.org_permissions}

    @app.get("/admin")
    async def admin(user_id: Annotated[str, Depends(require_admin.user_id)]) -> dict[str, Any]:
        user = await clerk.users.get(user_id)
        return {"admin": user.id, "name": user.first_name}

    return app


@asynccontextmanager
async def _clerk_for_the_process(app: FastAPI) -> AsyncIterator[None]:
    async with app.state.clerk:
        yield


def __getattr__(name: str) -> Any:
    # `uvicorn examples.fastapi_auth:app` builds the app with a client from the environment.
    if name == "app":
        clerk = AsyncClerk()  # reads CLERK_SECRET_KEY
        app = create_app(clerk)
        app.state.clerk = clerk
        app.router.lifespan_context = _clerk_for_the_process
        return app
    raise AttributeError(name)


async def offline_tour() -> None:
    """Serve the app against FakeClerk and call it as a browser would."""
    async with (
        FakeClerk(users=2, organizations=1) as fake,
        AsyncClerk(fake.secret_key, server_url=fake.url) as clerk,
    ):
        ada, grace = fake.users
        [org_id] = fake.organizations
        fake.add_membership(org_id, ada, "org:admin")
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        config = uvicorn.Config(create_app(clerk), log_level="warning", lifespan="off")
        server = uvicorn.Server(config)
        serving = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started:
            if serving.done():
                serving.result()  # raises what stopped uvicorn
            await asyncio.sleep(0.01)
        base = f"http://127.0.0.1:{sock.getsockname()[1]}"
        calls = [
            ("/me", fake.session_token(ada, azp="http://localhost:3000")),
            ("/me", fake.session_token(ada, azp="https://elsewhere.test")),
            ("/admin", fake.session_token(ada, org_id=org_id)),
            ("/admin", fake.session_token(grace)),
            ("/me", None),
        ]
        try:
            async with aiohttp.ClientSession() as http:
                for path, token in calls:
                    headers = {"Authorization": f"Bearer {token}"} if token else {}
                    async with http.get(base + path, headers=headers) as response:
                        print(f"GET {path}: {response.status} {await response.text()}")
        finally:
            server.should_exit = True
            await serving
            sock.close()


if __name__ == "__main__":
    if os.environ.get("CLERK_SECRET_KEY"):
        uvicorn.run("fastapi_auth:app", host="127.0.0.1", port=8000)
    else:
        print("CLERK_SECRET_KEY is not set: running offline against FakeClerk")
        asyncio.run(offline_tour())
