"""Session and machine tokens from FakeClerk, verified by the SDK as an app would verify them."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import TypedDict

import pytest

from clerk_async import AsyncClerk, TokenVerificationError
from clerk_async.auth import verify_token
from clerk_async.testing import FakeClerk


@pytest.fixture
async def fake() -> AsyncIterator[FakeClerk]:
    async with FakeClerk(users=2, organizations=1) as server:
        yield server


@pytest.fixture
async def clerk(fake: FakeClerk) -> AsyncIterator[AsyncClerk]:
    async with AsyncClerk(fake.secret_key, server_url=fake.url, retry=False) as client:
        yield client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_a_session_token_signs_in_through_the_fakes_jwks(
    fake: FakeClerk, clerk: AsyncClerk
) -> None:
    user_id = next(iter(fake.users))
    state = await clerk.authenticate_request(bearer(fake.session_token(user_id)))
    assert state.is_signed_in, state.message
    auth = state.to_auth()
    assert auth.user_id == user_id
    session = await clerk.sessions.get(auth.session_id or "")
    assert (session.user_id, session.status) == (user_id, "active")
    assert fake.jwks_fetches == 1


async def test_jwt_key_verifies_without_any_request(fake: FakeClerk) -> None:
    token = fake.session_token("user_offline", azp="https://app.test")
    claims = await verify_token(
        token, jwt_key=fake.jwt_key, authorized_parties=["https://app.test"]
    )
    assert (claims.sub, claims.azp, claims.v) == ("user_offline", "https://app.test", 2)
    with pytest.raises(TokenVerificationError) as refused:
        await verify_token(token, jwt_key=fake.jwt_key, authorized_parties=["https://evil.test"])
    assert refused.value.reason == "token-invalid-authorized-parties"
    assert fake.requests == []


async def test_v2_organization_claims_expand_like_clerks(
    fake: FakeClerk, clerk: AsyncClerk
) -> None:
    user_id = next(iter(fake.users))
    org_id = next(iter(fake.organizations))
    fake.add_membership(org_id, user_id, "org:admin")
    token = fake.session_token(
        user_id,
        org_id=org_id,
        org_permissions=["org:billing:read", "org:billing:manage", "org:reports:read"],
    )
    auth = (await clerk.authenticate_request(bearer(token))).to_auth()
    assert (auth.org_id, auth.org_role) == (org_id, "org:admin")
    assert auth.org_slug == fake.organizations[org_id]["slug"]
    assert sorted(auth.org_permissions) == [
        "org:billing:manage",
        "org:billing:read",
        "org:reports:read",
    ]
    assert auth.has(permission="org:reports:read", role="org:admin")
    assert not auth.has(permission="org:reports:manage")


async def test_v1_tokens_carry_the_organization_claims_flat(
    fake: FakeClerk, clerk: AsyncClerk
) -> None:
    token = fake.session_token(
        "user_v1", org_id="org_1", org_role="org:member", org_permissions=["org:a:b"], version=1
    )
    claims = await clerk.verify_token(token)
    assert claims.v is None and claims.o is None
    assert (claims.org_id, claims.org_role, claims.org_permissions) == (
        "org_1",
        "org:member",
        ["org:a:b"],
    )
    with pytest.raises(ValueError, match="version"):
        fake.session_token("user_1", version=3)
    with pytest.raises(ValueError, match="org:feature:action"):
        fake.session_token("user_1", org_id="org_1", org_permissions=["billing"])


async def test_expired_and_not_yet_valid_tokens_are_refused(
    fake: FakeClerk, clerk: AsyncClerk
) -> None:
    expired = fake.session_token("user_1", expires_in=-60)
    future = fake.session_token("user_1", not_before=time.time() + 600)
    for token, reason in ((expired, "token-expired"), (future, "token-not-active-yet")):
        state = await clerk.authenticate_request(bearer(token))
        assert (state.is_signed_in, state.reason) == (False, reason)


async def test_extra_claims_and_pending_sessions(fake: FakeClerk, clerk: AsyncClerk) -> None:
    token = fake.session_token("user_1", claims={"sts": "pending", "email": "a@example.com"})
    state = await clerk.authenticate_request(bearer(token))
    assert (state.is_signed_in, state.reason) == (False, "session-token-pending")
    assert state.claims is not None and state.claims.to_dict()["email"] == "a@example.com"


async def test_another_fakes_tokens_do_not_verify(clerk: AsyncClerk) -> None:
    async with FakeClerk() as other:
        state = await clerk.authenticate_request(bearer(other.session_token("user_1")))
    assert (state.is_signed_in, state.reason) == (False, "jwk-kid-mismatch")


async def test_the_session_token_route_signs_for_active_sessions_only(
    fake: FakeClerk, clerk: AsyncClerk
) -> None:
    user_id = next(iter(fake.users))
    session = await clerk.sessions.create(user_id=user_id)
    token = await clerk.sessions.create_token(session.id, expires_in_seconds=120)
    claims = await clerk.verify_token(token.jwt or "")
    assert (claims.sub, claims.sid) == (user_id, session.id)
    assert claims.exp is not None and claims.iat is not None and claims.exp - claims.iat == 120
    revoked = await clerk.sessions.revoke(session.id)
    assert revoked.status == "revoked"
    with pytest.raises(Exception, match="revoked"):
        await clerk.sessions.create_token(session.id)


@pytest.mark.parametrize("accepts", ["api_key", "m2m_token", "oauth_token"])
async def test_machine_tokens_are_verified_through_the_fake(
    fake: FakeClerk, clerk: AsyncClerk, accepts: str
) -> None:
    user_id = next(iter(fake.users))
    if accepts == "api_key":
        token = await fake.create_api_key(user_id, scopes=["read"], claims={"tier": "gold"})
    elif accepts == "m2m_token":
        token = await fake.create_m2m_token("mch_1", scopes=["mch_2"])
    else:
        token = await fake.create_oauth_token(user_id, client_id="client_1", scopes=["read"])
    state = await clerk.authenticate_request(bearer(token), accepts_token=accepts)  # type: ignore[arg-type]
    assert state.is_signed_in, state.message
    assert state.machine is not None
    assert state.machine.subject == ("mch_1" if accepts == "m2m_token" else user_id)
    assert state.machine.scopes == (("mch_2",) if accepts == "m2m_token" else ("read",))

    refused = await clerk.authenticate_request(bearer(token))  # session tokens only
    assert refused.reason == "token-type-mismatch"

    await fake.revoke_token(token, "leaked")
    state = await clerk.authenticate_request(bearer(token), accepts_token="any")
    assert (state.is_signed_in, state.reason) == (False, "token-invalid")


async def test_expired_and_unknown_machine_tokens_are_signed_out(
    fake: FakeClerk, clerk: AsyncClerk
) -> None:
    expired = await fake.create_api_key("user_1", expires_in=-1)
    state = await clerk.authenticate_request(bearer(expired), accepts_token="api_key")
    assert (state.is_signed_in, state.reason) == (False, "token-expired")
    state = await clerk.authenticate_request(bearer("ak_" + "0" * 48), accepts_token="api_key")
    assert (state.is_signed_in, state.reason) == (False, "token-invalid")
    with pytest.raises(LookupError):
        await fake.revoke_token("ak_unknown")


class TokenTimes(TypedDict, total=False):
    """The time options of ``FakeClerk.session_token``."""

    expires_in: float
    not_before: float
    issued_at: float


@pytest.mark.parametrize(
    "option",
    [
        {"expires_in": float("inf")},
        {"expires_in": float("nan")},
        {"not_before": float("-inf")},
        {"issued_at": float("nan")},
    ],
)
def test_hostile_token_times_are_refused(option: TokenTimes) -> None:
    with pytest.raises(ValueError, match="finite"):
        FakeClerk().session_token("user_1", **option)


async def test_a_session_token_lifetime_below_one_second_is_refused(
    fake: FakeClerk, clerk: AsyncClerk
) -> None:
    session = await clerk.sessions.create(user_id=next(iter(fake.users)))
    for lifetime in (-5, 0):
        with pytest.raises(Exception, match="expires_in_seconds"):
            await clerk.sessions.create_token(session.id, expires_in_seconds=lifetime)


async def test_recorded_requests_do_not_show_the_secret_key(
    fake: FakeClerk, clerk: AsyncClerk
) -> None:
    key = await fake.create_api_key("user_1")
    await clerk.authenticate_request(bearer(key), accepts_token="api_key")
    [recorded] = fake.requests
    assert recorded.headers["Authorization"] == f"Bearer {fake.secret_key}"
    assert fake.secret_key not in repr(recorded) and key not in repr(recorded)
    assert fake.webhook_secret not in repr(fake)


async def test_the_standalone_verify_token_fetches_the_fakes_jwks(fake: FakeClerk) -> None:
    token = fake.session_token("user_standalone")
    claims = await verify_token(token, secret_key=fake.secret_key, server_url=fake.url)
    assert claims.sub == "user_standalone"
    assert fake.jwks_fetches == 1
