"""A local stand-in for the two Backend API endpoints the client benchmark calls.

Run as ``python benchmarks/_server.py`` it binds an aiohttp server to 127.0.0.1 on a free port,
prints ``PORT <n>`` on stdout and serves until it is terminated:

- ``GET /v1/users?limit=N`` answers the first N (at most 10) users;
- ``GET /v1/users/{user_id}`` answers one user, or a Clerk-style 404.

Every answer is encoded once at start-up, so the server spends as little CPU as possible per
request and the figures measure the clients. The users follow the ``User`` schema of
``spec/bapi-2026-05-12.yml``: every required field, plus the optional ones Clerk really sends
(image URLs, the three metadata dicts, verification objects, linked identifications).
"""

from __future__ import annotations

import json
import select
import socket
import subprocess
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aiohttp import web

USER_COUNT = 10
SECRET_KEY = "sk_test_benchmark_0000000000000000000000000000"

_T0 = 1_714_000_000_000  # a fixed epoch in milliseconds, so every run serves the same bytes
_FIRST = [
    "Ada",
    "Grace",
    "Alan",
    "Barbara",
    "Edsger",
    "Frances",
    "Donald",
    "Margaret",
    "Ken",
    "Radia",
]
_LAST = [
    "Lovelace",
    "Hopper",
    "Turing",
    "Liskov",
    "Dijkstra",
    "Allen",
    "Knuth",
    "Hamilton",
    "Thompson",
    "Perlman",
]


def spawn(argv: list[str], marker: str) -> tuple[subprocess.Popen[str], str]:
    """Start a server process that announces itself with one ``<marker> <value>`` line on
    stdout within 30 seconds; return the process and the value (a port, a URL)."""
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], 30)
    line = process.stdout.readline() if ready else ""
    if not line.startswith(marker + " "):
        stop(process)
        raise SystemExit(f"the server {argv[1:]} did not start: {line!r}")
    return process, line.split()[1]


def stop(process: subprocess.Popen[str]) -> None:
    """Stop a server process started by a benchmark: politely, then by force."""
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    if process.stdout is not None:
        process.stdout.close()


def user_id(index: int) -> str:
    return f"user_2bK9xQ{index:02d}mWfJ7LhR4tYv8NzPaE"


def _otp(strategy: str, verified_at: int) -> dict[str, Any]:
    return {
        "object": "verification_otp",
        "status": "verified",
        "strategy": strategy,
        "attempts": 1,
        "expire_at": verified_at + 600_000,
        "verified_at_client": "client_2bK9xQ" + str(verified_at)[-6:],
    }


def _email(index: int, slot: int, created: int, *, oauth: bool) -> dict[str, Any]:
    first, last = _FIRST[index].lower(), _LAST[index].lower()
    address = f"{first}.{last}@example.com" if slot == 0 else f"{first}+work{slot}@corp.example.org"
    verification: dict[str, Any]
    linked_to: list[dict[str, str]] = []
    if oauth:
        verification = {
            "object": "verification_from_oauth",
            "status": "verified",
            "strategy": "from_oauth_google",
            "error": None,
            "attempts": None,
            "expire_at": None,
            "verified_at_client": None,
        }
        linked_to = [{"type": "oauth_google", "id": f"idn_2bK9xQ{index:02d}{slot}GooGLe"}]
    else:
        verification = _otp("email_code", created + 60_000)
    return {
        "id": f"idn_2bK9xQ{index:02d}{slot}EmAiL{slot}",
        "object": "email_address",
        "email_address": address,
        "reserved": False,
        "verification": verification,
        "linked_to": linked_to,
        "matches_sso_connection": False,
        "created_at": created,
        "updated_at": created + 60_000,
    }


def _phone(index: int, created: int) -> dict[str, Any]:
    return {
        "id": f"idn_2bK9xQ{index:02d}PhOnE0",
        "object": "phone_number",
        "phone_number": f"+1555010{index:04d}",
        "reserved_for_second_factor": index % 3 == 0,
        "default_second_factor": index % 3 == 0,
        "reserved": False,
        "verification": _otp("phone_code", created + 120_000) | {"channel": "sms"},
        "linked_to": [],
        "backup_codes": None,
        "created_at": created,
        "updated_at": created + 120_000,
    }


def _google_account(index: int, created: int) -> dict[str, Any]:
    first, last = _FIRST[index], _LAST[index]
    return {
        "object": "external_account",
        "id": f"eac_2bK9xQ{index:02d}GooGLeAcc",
        "provider": "oauth_google",
        "identification_id": f"idn_2bK9xQ{index:02d}1GooGLe",
        "provider_user_id": f"10{index:02d}4385729384756123",
        "approved_scopes": "email https://www.googleapis.com/auth/userinfo.email"
        " https://www.googleapis.com/auth/userinfo.profile openid profile",
        "email_address": f"{first.lower()}+work1@corp.example.org",
        "email_address_verified": True,
        "first_name": first,
        "last_name": last,
        "avatar_url": f"https://lh3.googleusercontent.com/a/ACg8ocK{index:02d}=s1000-c",
        "image_url": f"https://img.clerk.com/eyJ0eXBlIjoicHJveHkiLCJzcmMiOiJnb29nbGUte{index:02d}",
        "username": None,
        "phone_number": None,
        "public_metadata": {},
        "label": None,
        "created_at": created,
        "updated_at": created + 60_000,
        "verification": {
            "object": "verification_oauth",
            "status": "verified",
            "strategy": "oauth_google",
            "error": None,
            "attempts": None,
            "expire_at": created + 600_000,
            "verified_at_client": None,
        },
    }


def make_user(index: int) -> dict[str, Any]:
    """One user as ``GET /v1/users/{user_id}`` returns it."""
    created = _T0 + index * 86_400_000
    has_google = index % 2 == 0
    emails = [_email(index, 0, created, oauth=False), _email(index, 1, created, oauth=has_google)]
    phones = [_phone(index, created)]
    image = f"https://img.clerk.com/eyJ0eXBlIjoiZGVmYXVsdCIsImlpZCI6Imluc18yYks5eFE{index:02d}"
    return {
        "id": user_id(index),
        "object": "user",
        "external_id": f"crm-{10_000 + index}" if index % 4 else None,
        "primary_email_address_id": emails[0]["id"],
        "primary_phone_number_id": phones[0]["id"],
        "primary_web3_wallet_id": None,
        "username": f"{_FIRST[index].lower()}{index}",
        "first_name": _FIRST[index],
        "last_name": _LAST[index],
        "locale": "en-US" if index % 2 else None,
        "profile_image_url": image,
        "image_url": image,
        "has_image": has_google,
        "public_metadata": {
            "plan": "pro" if index % 3 else "free",
            "roles": ["member", "billing"] if index % 2 else ["admin"],
            "onboarding": {"completed": index % 5 != 0, "step": index % 5},
        },
        "private_metadata": {
            "stripe_customer_id": f"cus_Q{index:02d}x8LmZ3pRt",
            "seats": 5 + index,
            "flags": {"beta_reports": index % 2 == 0},
        },
        "unsafe_metadata": {"theme": "dark" if index % 2 else "light", "timezone": "Europe/Paris"},
        "email_addresses": emails,
        "phone_numbers": phones,
        "web3_wallets": [],
        "passkeys": [],
        "password_enabled": True,
        "two_factor_enabled": index % 3 == 0,
        "totp_enabled": False,
        "backup_code_enabled": False,
        "mfa_enabled_at": created + 3_600_000 if index % 3 == 0 else None,
        "mfa_disabled_at": None,
        "password_last_updated_at": created + 7_200_000,
        "external_accounts": [_google_account(index, created)] if has_google else [],
        "saml_accounts": [],
        "enterprise_accounts": [],
        "last_sign_in_at": created + 30 * 86_400_000,
        "banned": False,
        "locked": False,
        "deprovisioned": False,
        "lockout_expires_in_seconds": None,
        "verification_attempts_remaining": 100,
        "created_at": created,
        "updated_at": created + 30 * 86_400_000,
        "delete_self_enabled": True,
        "create_organization_enabled": True,
        "create_organizations_limit": None,
        "last_active_at": created + 30 * 86_400_000,
        "legal_accepted_at": None,
        "bypass_client_trust": False,
    }


def make_users() -> list[dict[str, Any]]:
    return [make_user(index) for index in range(USER_COUNT)]


def main() -> None:
    from aiohttp import web

    users = make_users()
    by_id = {user["id"]: json.dumps(user, separators=(",", ":")).encode() for user in users}
    # One pre-encoded body per possible `limit`, so a request costs a dict lookup.
    lists = {
        limit: json.dumps(users[:limit], separators=(",", ":")).encode()
        for limit in range(USER_COUNT + 1)
    }
    expected_auth = "Bearer " + SECRET_KEY
    unauthorized = (
        b'{"errors":[{"message":"Invalid authentication","code":"authentication_invalid"}]}'
    )
    not_found = b'{"errors":[{"message":"not found","code":"resource_not_found"}]}'

    def reply(body: bytes, status: int = 200) -> web.Response:
        return web.Response(body=body, status=status, content_type="application/json")

    async def list_users(request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != expected_auth:
            return reply(unauthorized, 401)
        try:
            limit = min(max(int(request.query.get("limit", "10")), 0), USER_COUNT)
        except ValueError:
            limit = USER_COUNT
        return reply(lists[limit])

    async def get_user(request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != expected_auth:
            return reply(unauthorized, 401)
        body = by_id.get(request.match_info["user_id"])
        return reply(body) if body is not None else reply(not_found, 404)

    app = web.Application()
    app.router.add_get("/v1/users", list_users)
    app.router.add_get("/v1/users/{user_id}", get_user)
    run(app)


def run(app: web.Application) -> None:
    """Serve ``app`` on a free port of 127.0.0.1 until terminated, announcing ``PORT <n>``
    on stdout (what :func:`spawn` waits for)."""
    from aiohttp import web

    # Listen before announcing the port: early connections then wait in the backlog instead
    # of being refused while the event loop starts.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(1024)
    print(f"PORT {sock.getsockname()[1]}", flush=True)
    web.run_app(app, sock=sock, access_log=None, print=None, backlog=1024)


if __name__ == "__main__":
    main()
    sys.exit(0)
