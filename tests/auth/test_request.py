"""authenticate_request: token sources, token types, machine tokens, pending sessions."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from clerk_async import AsyncClerk
from clerk_async.auth import RequestState

from .._support import serve
from .conftest import JWKSServer, Keys, api_key_json, default_claims

Sign = Callable[..., str]
ORIGIN = "https://app.example.test"


async def test_bearer_header_in_any_case(clerk: AsyncClerk, sign: Sign) -> None:
    state = await clerk.authenticate_request({"authorization": f"bearer {sign()}"})
    assert state.is_signed_in and state.reason is None
    auth = state.to_auth()
    assert (auth.user_id, auth.session_id, auth.token_type) == (
        "user_2abc",
        "sess_2abc",
        "session_token",
    )


async def test_header_wins_over_cookie(clerk: AsyncClerk, sign: Sign) -> None:
    expired = sign(default_claims(exp=int(time.time()) - 100))
    state = await clerk.authenticate_request(
        {"Authorization": f"Bearer {sign()}", "Cookie": f"__session={expired}; other=1"}
    )
    assert state.is_signed_in
    state = await clerk.authenticate_request({"Cookie": f"theme=dark; __session={expired}"})
    assert (state.is_signed_in, state.reason, state.token) == (False, "token-expired", expired)


async def test_missing_and_garbage_tokens_never_raise(clerk: AsyncClerk) -> None:
    state = await clerk.authenticate_request({})
    assert (state.is_signed_in, state.reason) == (False, "session-token-missing")
    assert not state.to_auth().is_authenticated
    state = await clerk.authenticate_request({"Authorization": "Bearer not.a.jwt"})
    assert (state.is_signed_in, state.reason) == (False, "token-invalid")
    state = await clerk.authenticate_request({"Authorization": "Basic dXNlcjpwdw=="})
    assert state.reason == "session-token-missing"
    state = await clerk.authenticate_request({"Cookie": "__session=\x00;;=="})
    assert not state.is_signed_in


async def test_authorized_parties(clerk: AsyncClerk, sign: Sign) -> None:
    headers = {"Authorization": f"Bearer {sign()}"}
    assert (await clerk.authenticate_request(headers, authorized_parties=[ORIGIN])).is_signed_in
    state = await clerk.authenticate_request(headers, authorized_parties=["https://other.test"])
    assert state.reason == "token-invalid-authorized-parties"


async def test_pending_sessions(clerk: AsyncClerk, sign: Sign) -> None:
    headers = {"Authorization": f"Bearer {sign(default_claims(sts='pending'))}"}
    state = await clerk.authenticate_request(headers)
    assert (state.is_signed_in, state.reason) == (False, "session-token-pending")
    assert state.claims is not None and state.claims.sts == "pending"
    state = await clerk.authenticate_request(headers, treat_pending_as_signed_out=False)
    assert state.is_signed_in and state.to_auth().session_status == "pending"


async def test_v2_org_auth_object(clerk: AsyncClerk, sign: Sign) -> None:
    token = sign(
        default_claims(
            fea="o:billing", o={"id": "org_1", "rol": "admin", "per": "read", "fpm": "1"}
        )
    )
    auth = (await clerk.authenticate_request({"Authorization": f"Bearer {token}"})).to_auth()
    assert auth.org_id == "org_1"
    assert auth.has(permission="org:billing:read")
    assert auth.has(role="org:admin")
    assert not auth.has(permission="org:billing:manage")


async def test_jwt_key_option(jwks_server: JWKSServer, keys: Keys, sign: Sign) -> None:
    async with AsyncClerk(None, server_url="http://127.0.0.1:9") as offline:
        state = await offline.authenticate_request(
            {"Authorization": f"Bearer {sign()}"}, jwt_key=keys.public_pem
        )
    assert state.is_signed_in
    assert jwks_server.fetches == 0


def _m2m(token: str) -> dict[str, Any]:
    return {
        "object": "machine_to_machine_token",
        "id": "mt_id_1",
        "subject": "mch_1",
        "scopes": ["mch_2"],
        "revoked": False,
        "revocation_reason": None,
        "expired": False,
        "expiration": None,
        "last_used_at": None,
        "created_at": 1,
        "updated_at": 1,
    }


async def test_opaque_machine_tokens(clerk: AsyncClerk, jwks_server: JWKSServer) -> None:
    jwks_server.machine_answers = {
        "mt_good": (200, _m2m("mt_good")),
        "ak_good": (200, api_key_json(revoked=False)),
        "ak_revoked": (200, api_key_json(revoked=True)),
        "oat_good": (
            200,
            {
                "object": "clerk_idp_oauth_access_token",
                "id": "oat_1",
                "client_id": "client_1",
                "subject": "user_9",
                "scopes": ["email"],
                "revoked": False,
                "expired": False,
                "active": True,
            },
        ),
    }

    async def check(token: str, accepts: Any) -> RequestState:
        return await clerk.authenticate_request(
            {"Authorization": f"Bearer {token}"}, accepts_token=accepts
        )

    state = await check("mt_good", "m2m_token")
    assert state.is_signed_in and state.token_type == "m2m_token"
    auth = state.to_auth()
    assert (
        auth.subject == "mch_1" and auth.machine is not None and auth.machine.scopes == ("mch_2",)
    )
    assert (await check("ak_good", ["api_key", "m2m_token"])).to_auth().subject == "user_1"
    assert (await check("ak_revoked", "any")).reason == "token-invalid"
    oauth = await check("oat_good", "oauth_token")
    assert oauth.machine is not None and oauth.machine.client_id == "client_1"
    assert (await check("mt_unknown", "any")).reason == "token-invalid"
    assert {"token": "mt_good"} in jwks_server.seen_bodies
    assert {"secret": "ak_good"} in jwks_server.seen_bodies
    assert {"access_token": "oat_good"} in jwks_server.seen_bodies
    # Not accepted: refused without asking Clerk.
    asked = len(jwks_server.seen_bodies)
    assert (await check("mt_good", "session_token")).reason == "token-type-mismatch"
    assert (await check("ak_good", ["m2m_token"])).reason == "token-type-mismatch"
    assert len(jwks_server.seen_bodies) == asked


async def test_jwt_machine_tokens(clerk: AsyncClerk, sign: Sign) -> None:
    now = int(time.time())
    m2m = sign({"sub": "mch_7", "exp": now + 60, "iat": now, "jti": "mt_j", "scopes": "a b"})
    state = await clerk.authenticate_request(
        {"Authorization": f"Bearer {m2m}"}, accepts_token="any"
    )
    assert state.is_signed_in and state.token_type == "m2m_token"
    assert state.machine is not None and state.machine.scopes == ("a", "b")
    refused = await clerk.authenticate_request({"Authorization": f"Bearer {m2m}"})
    assert refused.reason == "token-type-mismatch"

    oauth = sign(default_claims(client_id="client_1", scope="email"), typ="at+jwt")
    state = await clerk.authenticate_request(
        {"Authorization": f"Bearer {oauth}"}, accepts_token=["oauth_token"]
    )
    assert state.is_signed_in and state.token_type == "oauth_token"
    assert state.to_auth().machine is not None
    session = await clerk.authenticate_request(
        {"Authorization": f"Bearer {sign()}"}, accepts_token="oauth_token"
    )
    assert session.reason == "token-type-mismatch"


async def test_unknown_accepts_token_is_a_programming_error(clerk: AsyncClerk) -> None:
    with pytest.raises(ValueError, match="unknown token types"):
        await clerk.authenticate_request({}, accepts_token=["cookie"])  # type: ignore[list-item]


@pytest.fixture
async def aiohttp_app(clerk: AsyncClerk) -> AsyncIterator[str]:
    async def whoami(request: web.Request) -> web.Response:
        state = await clerk.authenticate_request(request)
        return web.json_response({"user": state.to_auth().user_id, "reason": state.reason})

    app = web.Application()
    app.router.add_get("/whoami", whoami)
    async with serve(app) as url:
        yield url


async def test_aiohttp_request(aiohttp_app: str, sign: Sign) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(
            f"{aiohttp_app}/whoami", headers={"Cookie": f"__session={sign()}"}
        ) as r:
            assert await r.json() == {"user": "user_2abc", "reason": None}
        async with http.get(f"{aiohttp_app}/whoami") as r:
            assert await r.json() == {"user": None, "reason": "session-token-missing"}
