"""Token classes as Clerk defines them (header cat, typ, sub), claims read as Clerk reads them,
and tokens kept out of reprs."""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from typing import Any

import pytest

from clerk_async import AsyncClerk, TokenVerificationError
from clerk_async.auth import Auth, RequestState, verify_token

from .conftest import SECRET_KEY, JWKSServer, Keys, default_claims

Sign = Callable[..., str]
SESSION_CAT = "cl_B7d4PD111AAA"
TEMPLATE_CAT = "cl_B7d4PD222AAA"
M2M_CAT = "cl_B7d4PD333AAA"
IGNORE_CAT = "cl_I7d4PD111III"


def _m2m_claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    return {"sub": "mch_1", "jti": "mt_jwt_1", "iat": now, "exp": now + 60, **overrides}


async def _state(clerk: AsyncClerk, token: str, **options: Any) -> RequestState:
    return await clerk.authenticate_request({"Authorization": f"Bearer {token}"}, **options)


async def test_session_categories(clerk: AsyncClerk, sign: Sign) -> None:
    for cat in (None, SESSION_CAT, IGNORE_CAT):
        assert (await _state(clerk, sign(cat=cat))).is_signed_in, cat
    # A JWT-template token is validly signed but carries no session: never a sign-in.
    template = sign(default_claims(sid=None), cat=TEMPLATE_CAT)
    state = await _state(clerk, template)
    assert (state.is_signed_in, state.reason) == (False, "token-type-mismatch")
    assert not (await _state(clerk, template, accepts_token="any")).is_signed_in
    # verify_token verifies templates (that is what it is for), but never an M2M token.
    assert (await clerk.verify_token(template)).sub == "user_2abc"
    with pytest.raises(TokenVerificationError) as info:
        await clerk.verify_token(sign(cat=M2M_CAT))
    assert info.value.reason == "token-invalid"


async def test_m2m_category_never_passes_as_a_session(
    clerk: AsyncClerk, jwks_server: JWKSServer, keys: Keys, sign: Sign
) -> None:
    # Session-shaped claims, but the header says M2M.
    token = sign(cat=M2M_CAT)
    with pytest.raises(TokenVerificationError):
        await verify_token(token, jwt_key=keys.public_pem)
    state = await _state(clerk, token)
    assert (state.is_signed_in, state.reason) == (False, "token-type-mismatch")
    assert jwks_server.fetches == 0  # decided from the header alone
    state = await _state(clerk, token, accepts_token="m2m_token")
    assert state.is_signed_in and state.token_type == "m2m_token"


async def test_m2m_jwt_with_another_category_is_refused(clerk: AsyncClerk, sign: Sign) -> None:
    assert (await _state(clerk, sign(_m2m_claims()), accepts_token="m2m_token")).is_signed_in
    ok = await _state(clerk, sign(_m2m_claims(), cat=M2M_CAT), accepts_token="m2m_token")
    assert ok.is_signed_in
    for cat in (SESSION_CAT, TEMPLATE_CAT, IGNORE_CAT, "cl_unknown"):
        state = await _state(clerk, sign(_m2m_claims(), cat=cat), accepts_token="m2m_token")
        assert (state.is_signed_in, state.reason) == (False, "token-invalid"), cat
        session = await _state(clerk, sign(_m2m_claims(), cat=cat))
        assert not session.is_signed_in, cat


async def test_m2m_scopes_from_scopes_then_aud(clerk: AsyncClerk, sign: Sign) -> None:
    async def scopes(**claims: Any) -> tuple[str, ...]:
        state = await _state(clerk, sign(_m2m_claims(**claims)), accepts_token="m2m_token")
        assert state.machine is not None, state
        return state.machine.scopes

    assert await scopes(scopes="mch_2 mch_3", aud=["mch_9"]) == ("mch_2", "mch_3")
    assert await scopes(aud=["mch_4", "mch_5"]) == ("mch_4", "mch_5")
    assert await scopes(aud="mch_6") == ("mch_6",)
    assert await scopes() == ()
    oauth = sign(default_claims(scp=["email", "profile"], scope="x"), typ="at+jwt")
    state = await _state(clerk, oauth, accepts_token="oauth_token")
    assert state.machine is not None and state.machine.scopes == ("email", "profile")


async def test_machine_tokens_are_never_read_from_the_session_cookie(
    clerk: AsyncClerk, jwks_server: JWKSServer, sign: Sign
) -> None:
    jwks_server.machine_answers = {"mt_good": (200, {"object": "machine_to_machine_token"})}
    oauth = sign(default_claims(), typ="at+jwt")
    for token in ("mt_good", "ak_good", "oat_good", sign(_m2m_claims()), sign(cat=M2M_CAT), oauth):
        state = await clerk.authenticate_request(
            {"Cookie": f"__session={token}"}, accepts_token="any"
        )
        assert (state.is_signed_in, state.reason) == (False, "token-type-mismatch"), token[:12]
    assert jwks_server.machine_calls == 0
    # The same JWT machine tokens are accepted from the Authorization header.
    assert (await _state(clerk, sign(_m2m_claims()), accepts_token="any")).is_signed_in
    assert (await _state(clerk, oauth, accepts_token="any")).is_signed_in


def _auth(role: str | None, permissions: tuple[str, ...], org_id: str | None = "org_1") -> Auth:
    return Auth(is_authenticated=True, org_id=org_id, org_role=role, org_permissions=permissions)


def test_has_normalises_the_org_prefix_as_clerk_does() -> None:
    auth = _auth("org:admin", ("org:billing:read",))
    for role in ("admin", "org:admin", "org:org:admin"):
        assert auth.has(role=role), role
    for permission in ("billing:read", "org:billing:read"):
        assert auth.has(permission=permission), permission
    assert auth.has(role="admin", permission="billing:read")
    assert not auth.has(role="admin", permission="billing:manage")
    assert not auth.has(role="member")
    assert not auth.has(role="org:admin:x")
    assert not auth.has()
    assert not _auth("org:admin", ("org:billing:read",), org_id=None).has(role="admin")
    assert not _auth(None, ()).has(role="admin")
    assert not Auth(is_authenticated=False).has(role="admin")


async def test_v2_role_already_prefixed(clerk: AsyncClerk, sign: Sign) -> None:
    token = sign(default_claims(o={"id": "org_1", "rol": "org:admin"}))
    auth = (await _state(clerk, token)).to_auth()
    assert auth.org_role == "org:admin"
    assert auth.has(role="admin") and auth.has(role="org:admin")


async def test_empty_subject_is_refused(clerk: AsyncClerk, sign: Sign) -> None:
    state = await _state(clerk, sign(default_claims(sub="")))
    assert state.reason == "token-verification-failed"


def _render_with_locals(error: BaseException) -> str:
    rendered = traceback.TracebackException.from_exception(error, capture_locals=True)
    return "".join(rendered.format())


def _traceback_of_a_failing_handler(state: RequestState) -> str:
    """What an error reporter shows when a handler holding the state and its auth fails."""

    def handler(state: RequestState, auth: Auth) -> None:
        raise RuntimeError("the handler failed")

    try:
        handler(state, state.to_auth())
    except RuntimeError as exc:
        return _render_with_locals(exc)
    raise AssertionError("unreachable")


async def test_tokens_stay_out_of_reprs_and_tracebacks(
    clerk: AsyncClerk, jwks_server: JWKSServer, sign: Sign
) -> None:
    jwks_server.machine_answers = {"ak_live_secret_key_0123456789abcdef": (404, {"errors": []})}
    session = sign()
    api_key = "ak_live_secret_key_0123456789abcdef"
    states = [
        await _state(clerk, session),
        await _state(clerk, api_key, accepts_token="api_key"),
        await _state(clerk, sign(default_claims(exp=int(time.time()) - 100))),
    ]
    for state in states:
        assert state.token is not None
        text = repr(state) + repr(state.to_auth()) + _traceback_of_a_failing_handler(state)
        assert "the handler failed" in text and "state = RequestState(" in text
        token = state.token
        assert token[-40:] not in text and token[:40] not in text
        assert "..." + token[-4:] in repr(state)  # what is shown: kind and last 4 characters
    assert "ak_..." in repr(states[1])
    assert SECRET_KEY not in repr(clerk) + _render_with_locals(RuntimeError())
