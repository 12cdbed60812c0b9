"""The FastAPI dependency and the Starlette middleware, served by uvicorn on 127.0.0.1."""

# No `from __future__ import annotations`: FastAPI must see the local dependencies.

from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any

import aiohttp
import pytest
from fastapi import Depends, FastAPI, Request

from clerk_async import AsyncClerk
from clerk_async.auth import Auth
from clerk_async.integrations.fastapi import ClerkAuth
from clerk_async.integrations.starlette import ClerkAuthMiddleware

from ..integrations._serving import serve_asgi
from .conftest import default_claims

Sign = Callable[..., str]


def build_app(clerk: AsyncClerk) -> FastAPI:
    app = FastAPI()
    require_user = ClerkAuth(clerk, authorized_parties=["https://app.example.test"])
    require_billing = ClerkAuth(clerk, permission="org:billing:read")

    @app.get("/me")
    async def me(auth: Annotated[Auth, Depends(require_user)]) -> dict[str, Any]:
        return {"user_id": auth.user_id, "org_id": auth.org_id}

    @app.get("/billing")
    async def billing(auth: Annotated[Auth, Depends(require_billing)]) -> dict[str, Any]:
        return {"ok": True}

    @app.get("/state")
    async def state(request: Request) -> dict[str, Any]:
        auth: Auth = request.state.auth
        return {"signed_in": auth.is_authenticated, "reason": request.state.clerk_request.reason}

    app.add_middleware(ClerkAuthMiddleware, clerk=clerk)
    return app


@pytest.fixture
async def base_url(clerk: AsyncClerk) -> AsyncIterator[str]:
    async with serve_asgi(build_app(clerk)) as url:
        yield url


async def test_fastapi_dependency_over_http(base_url: str, sign: Sign) -> None:
    org_token = sign(
        default_claims(
            fea="o:billing", o={"id": "org_1", "rol": "admin", "per": "read", "fpm": "1"}
        )
    )
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{base_url}/me", headers={"Authorization": f"Bearer {sign()}"}) as r:
            assert r.status == 200
            assert await r.json() == {"user_id": "user_2abc", "org_id": None}
        async with http.get(f"{base_url}/me") as r:
            assert r.status == 401
            assert r.headers["WWW-Authenticate"] == "Bearer"
            assert await r.json() == {"detail": "session-token-missing"}
        foreign = sign(default_claims(azp="https://evil.test"))
        async with http.get(f"{base_url}/me", headers={"Authorization": f"Bearer {foreign}"}) as r:
            assert r.status == 401
            assert await r.json() == {"detail": "token-invalid-authorized-parties"}
        async with http.get(f"{base_url}/billing", headers={"Cookie": f"__session={sign()}"}) as r:
            assert r.status == 403
        async with http.get(
            f"{base_url}/billing", headers={"Cookie": f"__session={org_token}"}
        ) as r:
            assert r.status == 200


async def test_starlette_middleware_sets_request_state(base_url: str, sign: Sign) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(
            f"{base_url}/state", headers={"Authorization": f"Bearer {sign()}"}
        ) as r:
            assert await r.json() == {"signed_in": True, "reason": None}
        async with http.get(f"{base_url}/state", headers={"Authorization": "Bearer x.y.z"}) as r:
            assert await r.json() == {"signed_in": False, "reason": "token-invalid"}
