"""Shared fixtures: a real aiohttp server on 127.0.0.1 that records requests and plays Clerk."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web

from clerk_async import AsyncClerk

SECRET = "sk_test_conftestsecretvalue123"


@dataclass
class Recorded:
    method: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    body: bytes
    content_type: str

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class RecordingServer:
    """Answers every request with the reply set for its path (or 200 `{}`), and records it."""

    url: str = ""
    requests: list[Recorded] = field(default_factory=list)
    replies: dict[str, Callable[[web.Request], web.StreamResponse]] = field(default_factory=dict)

    def reply(self, path: str, body: Any = None, *, status: int = 200, raw: bytes | None = None,
              headers: dict[str, str] | None = None) -> None:
        def respond(_: web.Request) -> web.StreamResponse:
            if raw is not None:
                return web.Response(body=raw, status=status, headers=headers)
            if status == 204:
                return web.Response(status=204, headers=headers)
            return web.json_response(body, status=status, headers=headers)

        self.replies[path] = respond

    @property
    def last(self) -> Recorded:
        return self.requests[-1]


@pytest.fixture
async def server() -> AsyncIterator[RecordingServer]:
    state = RecordingServer()

    async def handle(request: web.Request) -> web.StreamResponse:
        body = await request.read()
        state.requests.append(
            Recorded(
                method=request.method,
                path=request.raw_path.split("?", 1)[0],
                query=list(request.query.items()),
                headers=dict(request.headers),
                body=body,
                content_type=request.content_type,
            )
        )
        respond = state.replies.get(request.path)
        return respond(request) if respond else web.json_response({})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    state.url = f"http://127.0.0.1:{port}/v1"
    try:
        yield state
    finally:
        await runner.cleanup()


@pytest.fixture
async def clerk(server: RecordingServer) -> AsyncIterator[AsyncClerk]:
    async with AsyncClerk(SECRET, server_url=server.url, retry=False) as client:
        yield client


def user_json(user_id: str = "user_2abc", **overrides: Any) -> dict[str, Any]:
    """A user as Clerk sends it: every field the spec's `User` schema requires."""
    user: dict[str, Any] = {
        "id": user_id,
        "object": "user",
        "external_id": None,
        "primary_email_address_id": "idn_1",
        "primary_phone_number_id": None,
        "primary_web3_wallet_id": None,
        "username": None,
        "first_name": "Ada",
        "last_name": "Lovelace",
        "has_image": False,
        "image_url": "https://img.clerk.com/x",
        "public_metadata": {},
        "private_metadata": {},
        "unsafe_metadata": {},
        "email_addresses": [
            {
                "id": "idn_1",
                "object": "email_address",
                "email_address": "ada@example.com",
                "reserved": False,
                "verification": {
                    "object": "verification_otp",
                    "status": "verified",
                    "strategy": "email_code",
                    "attempts": 1,
                    "expire_at": 1700000000000,
                },
                "linked_to": [],
                "created_at": 1700000000000,
                "updated_at": 1700000000000,
            }
        ],
        "phone_numbers": [],
        "web3_wallets": [],
        "passkeys": [],
        "password_enabled": True,
        "two_factor_enabled": False,
        "totp_enabled": False,
        "backup_code_enabled": False,
        "mfa_enabled_at": None,
        "mfa_disabled_at": None,
        "external_accounts": [],
        "saml_accounts": [],
        "enterprise_accounts": [],
        "last_sign_in_at": None,
        "banned": False,
        "locked": False,
        "lockout_expires_in_seconds": None,
        "verification_attempts_remaining": None,
        "updated_at": 1700000000000,
        "created_at": 1700000000000,
        "delete_self_enabled": True,
        "create_organization_enabled": True,
        "last_active_at": None,
        "legal_accepted_at": None,
    }
    user.update(overrides)
    return user
