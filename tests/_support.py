"""Helpers shared by the test packages: a local server and Clerk-shaped data."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import web


@asynccontextmanager
async def serve(app: web.Application) -> AsyncIterator[str]:
    """Serve ``app`` on a free port of 127.0.0.1; yields its base URL, stops it on exit."""
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


async def wait_until(condition: Callable[[], bool], seconds: float = 5.0) -> None:
    """Return once ``condition()`` holds; fail after ``seconds``. For state that a server
    changes without signalling it, such as FakeClerk's request log."""

    async def poll() -> None:
        while not condition():  # noqa: ASYNC110  # no event exists to wait on
            await asyncio.sleep(0.005)

    await asyncio.wait_for(poll(), seconds)


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
