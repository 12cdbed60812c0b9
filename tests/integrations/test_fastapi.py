"""FastAPI glue against FakeClerk, served by uvicorn: OpenAPI security, the user-id dependency,
503 on infrastructure failures, the Starlette middleware and webhook receiving."""

# No `from __future__ import annotations`: FastAPI must see the route annotations.

import json
import logging
from collections.abc import AsyncIterator
from typing import Annotated, Any

import aiohttp
import pytest
from fastapi import Depends, FastAPI, Request

from clerk_async import AsyncClerk
from clerk_async.auth import Auth
from clerk_async.integrations.fastapi import ClerkAuth, verified_webhook
from clerk_async.integrations.starlette import ClerkAuthMiddleware
from clerk_async.testing import FakeClerk
from clerk_async.webhooks import Event

from ._serving import serve_asgi


def build_app(clerk: AsyncClerk, **options: Any) -> FastAPI:
    app = FastAPI()
    require_user = ClerkAuth(clerk, **options)
    any_token = ClerkAuth(clerk, accepts_token="any", scheme_name="AnyToken")

    @app.get("/me")
    async def me(user_id: Annotated[str, Depends(require_user.user_id)]) -> dict[str, str]:
        return {"user_id": user_id}

    @app.get("/whoami")
    async def whoami(user_id: Annotated[str, Depends(any_token.user_id)]) -> dict[str, str]:
        return {"user_id": user_id}

    @app.get("/auth")
    async def auth(auth: Annotated[Auth, Depends(require_user)]) -> dict[str, Any]:
        return {"user_id": auth.user_id}

    @app.post("/hooks")
    async def hooks(event: Annotated[Event, Depends(verified_webhook())]) -> dict[str, str]:
        return {"type": event.type}

    @app.get("/public")
    async def public() -> dict[str, bool]:
        return {"ok": True}

    return app


@pytest.fixture
async def fake() -> AsyncIterator[FakeClerk]:
    async with FakeClerk(users=1) as server:
        yield server


async def get(url: str, token: str | None = None) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with aiohttp.ClientSession() as http, http.get(url, headers=headers) as response:
        return response.status, await response.json()


async def test_the_openapi_document_declares_the_bearer_scheme(fake: FakeClerk) -> None:
    async with (
        AsyncClerk(fake.secret_key, server_url=fake.url) as clerk,
        serve_asgi(build_app(clerk)) as url,
    ):
        status, document = await get(f"{url}/openapi.json")
    assert status == 200
    assert document["components"]["securitySchemes"]["ClerkAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "A Clerk session token (or machine token).",
    }
    assert document["paths"]["/me"]["get"]["security"] == [{"ClerkAuth": []}]
    assert document["paths"]["/auth"]["get"]["security"] == [{"ClerkAuth": []}]
    assert "security" not in document["paths"]["/public"]["get"]


async def test_user_id_is_a_str_or_an_answer(fake: FakeClerk) -> None:
    user_id = next(iter(fake.users))
    async with (
        AsyncClerk(fake.secret_key, server_url=fake.url) as clerk,
        serve_asgi(build_app(clerk)) as url,
    ):
        assert await get(f"{url}/me", fake.session_token(user_id)) == (
            200,
            {"user_id": user_id},
        )
        status, body = await get(f"{url}/me")
        assert (status, body["detail"]) == (401, "session-token-missing")
        api_key = await fake.create_api_key(user_id)
        status, body = await get(f"{url}/whoami", api_key)
        assert status == 403 and "machine" in body["detail"]
        assert await get(f"{url}/whoami", fake.session_token(user_id)) == (
            200,
            {"user_id": user_id},
        )


async def test_a_wrong_secret_key_is_503_and_logged_not_401(
    fake: FakeClerk, caplog: pytest.LogCaptureFixture
) -> None:
    token = fake.session_token(next(iter(fake.users)))
    async with (
        AsyncClerk("sk_test_wrong", server_url=fake.url, retry=False) as clerk,
        serve_asgi(build_app(clerk)) as url,
    ):
        with caplog.at_level(logging.WARNING, logger="clerk_async.integrations"):
            status, body = await get(f"{url}/me", token)
    assert status == 503 and "unavailable" in body["detail"]
    [record] = [r for r in caplog.records if r.name == "clerk_async.integrations"]
    assert record.levelno == logging.WARNING
    assert "jwk-failed-to-load" in record.getMessage() and "/me" in record.getMessage()
    assert token not in caplog.text and "sk_test_wrong" not in caplog.text


async def test_an_unreachable_clerk_is_503_unless_configured_otherwise(fake: FakeClerk) -> None:
    token = fake.session_token("user_1")
    async with FakeClerk() as gone:
        dead_url = gone.url
    async with AsyncClerk(fake.secret_key, server_url=dead_url, retry=False) as clerk:
        async with serve_asgi(build_app(clerk)) as url:
            status, _ = await get(f"{url}/auth", token)
            assert status == 503
        async with serve_asgi(build_app(clerk, infrastructure_failure_status=401)) as url:
            status, body = await get(f"{url}/auth", token)
            assert (status, body["detail"]) == (401, "jwk-failed-to-load")


async def test_the_middleware_answers_503_when_it_cannot_verify(fake: FakeClerk) -> None:
    token = fake.session_token("user_1")
    async with AsyncClerk("sk_test_wrong", server_url=fake.url, retry=False) as clerk:
        app = FastAPI()

        @app.get("/state")
        async def state(request: Request) -> dict[str, Any]:
            return {"reason": request.state.clerk_request.reason}

        app.add_middleware(ClerkAuthMiddleware, clerk=clerk, require_auth=True)
        async with serve_asgi(app) as url:
            status, body = await get(f"{url}/state", token)
    assert status == 503 and "unavailable" in body["detail"]


async def test_fake_webhooks_reach_the_fastapi_receiver(
    fake: FakeClerk, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLERK_WEBHOOK_SIGNING_SECRET", fake.webhook_secret)
    async with (
        AsyncClerk(fake.secret_key, server_url=fake.url) as clerk,
        serve_asgi(build_app(clerk)) as url,
    ):
        delivery = await fake.send_webhook(f"{url}/hooks", "user.created", {"id": "user_1"})
        assert (delivery.status, delivery.json()) == (200, {"type": "user.created"})
        monkeypatch.setenv("CLERK_WEBHOOK_SIGNING_SECRET", FakeClerk().webhook_secret)
        refused = await fake.send_webhook(f"{url}/hooks", "user.created", {"id": "user_1"})
        assert refused.status == 400 and "signature" in json.loads(refused.body)["detail"]


def _hostile_tokens() -> list[str]:
    from base64 import urlsafe_b64encode

    def b64(raw: bytes) -> str:
        return urlsafe_b64encode(raw).rstrip(b"=").decode()

    deep = b64(b"[" * 1500 + b"]" * 1500)
    header = b64(b'{"alg":"RS256","kid":"k"}')
    return [
        f"{deep}.{b64(b'{}')}.{b64(b'x')}",  # a header nested 1,500 deep (~3 kB)
        f"{header}.{deep}.{b64(b'x')}",
        "x" * 20_000,
        "a.b.c",
        "ak_" + "\u00e9" * 10,
    ]


async def test_hostile_tokens_are_401_from_the_dependency_and_the_middleware(
    fake: FakeClerk,
) -> None:
    async with AsyncClerk(fake.secret_key, server_url=fake.url) as clerk:
        guarded = FastAPI()

        @guarded.get("/state")
        async def state(request: Request) -> dict[str, Any]:
            return {"reason": request.state.clerk_request.reason}

        guarded.add_middleware(ClerkAuthMiddleware, clerk=clerk, require_auth=True)
        async with serve_asgi(build_app(clerk)) as url, serve_asgi(guarded) as guarded_url:
            for token in _hostile_tokens():
                status, body = await get(f"{url}/me", token)
                assert status == 401, (token[:40], body)
                status, body = await get(f"{guarded_url}/state", token)
                assert status == 401, (token[:40], body)
