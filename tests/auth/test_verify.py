"""verify_token against real RSA keys, a real JWKS server and a corpus of hostile tokens."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any

import pytest

from clerk_async import AsyncClerk, TokenVerificationError
from clerk_async.auth import SessionClaims, expand_permissions, verify_token

from .conftest import KID, SECRET_KEY, JWKSServer, Keys, b64, b64json, default_claims

Sign = Callable[..., str]


async def test_valid_token_through_the_client_cache(
    clerk: AsyncClerk, jwks_server: JWKSServer, sign: Sign
) -> None:
    token = sign()
    claims = await clerk.verify_token(token, authorized_parties=["https://app.example.test"])
    assert isinstance(claims, SessionClaims)
    assert (claims.sub, claims.sid) == ("user_2abc", "sess_2abc")
    for _ in range(20):
        await clerk.verify_token(token)
    assert jwks_server.fetches == 1


async def test_jwt_key_needs_no_network(keys: Keys, sign: Sign) -> None:
    # The server URL points nowhere: any fetch would fail, so success proves none happened.
    claims = await verify_token(sign(), jwt_key=keys.public_pem, server_url="http://127.0.0.1:9")
    assert claims.sub == "user_2abc"
    one_line = "".join(keys.public_pem.splitlines()[1:-1])
    assert (await verify_token(sign(), jwt_key=one_line)).sub == "user_2abc"


async def test_standalone_verify_fetches_with_a_short_lived_client(
    jwks_server: JWKSServer, sign: Sign
) -> None:
    claims = await verify_token(sign(), secret_key=SECRET_KEY, server_url=jwks_server.server_url)
    assert claims.sub == "user_2abc"
    assert jwks_server.fetches == 1


async def test_missing_secret_key(monkeypatch: pytest.MonkeyPatch, sign: Sign) -> None:
    monkeypatch.delenv("CLERK_SECRET_KEY", raising=False)
    with pytest.raises(TokenVerificationError) as info:
        await verify_token(sign(), server_url="http://127.0.0.1:9")
    assert info.value.reason == "secret-key-invalid"


async def test_v1_organization_claims(keys: Keys, sign: Sign) -> None:
    token = sign(
        default_claims(
            v=None,
            org_id="org_1",
            org_slug="acme",
            org_role="org:admin",
            org_permissions=["org:billing:read"],
            custom_claim={"plan": "pro"},
        )
    )
    claims = await verify_token(token, jwt_key=keys.public_pem)
    assert (claims.org_id, claims.org_slug, claims.org_role) == ("org_1", "acme", "org:admin")
    assert claims.org_permissions == ["org:billing:read"]
    assert claims.to_dict()["custom_claim"] == {"plan": "pro"}


async def test_v2_organization_claims_are_expanded(keys: Keys, sign: Sign) -> None:
    token = sign(
        default_claims(
            fea="o:billing,u:profile,uo:reports",
            o={"id": "org_2", "slg": "acme", "rol": "admin", "per": "read,manage", "fpm": "3,1"},
            fva=[2, -1],
            act={"sub": "user_admin"},
            sts="active",
        )
    )
    claims = await verify_token(token, jwt_key=keys.public_pem)
    assert claims.org_id == "org_2"
    assert claims.org_slug == "acme"
    assert claims.org_role == "org:admin"
    # fpm "3" = bits 0 and 1 for billing; "1" = bit 0 for reports (u:profile is user-scoped).
    assert claims.org_permissions == [
        "org:billing:read",
        "org:billing:manage",
        "org:reports:read",
    ]
    assert claims.fva == [2, -1]
    assert claims.act is not None and claims.act.sub == "user_admin"
    assert claims.sts == "active"


def test_permission_expansion_edge_cases() -> None:
    assert expand_permissions("o:a,o:b", "x,y,z", "4,x") == ["org:a:z"]
    assert expand_permissions("o:a", "x", None) == []
    assert expand_permissions("o:a", "x,y", "2,3") == ["org:a:y"]  # extra masks are ignored
    # Masks of any length are read, as Clerk's SDK reads them: only the last digits matter.
    assert expand_permissions("o:a", "x,y", "9" * 5000) == ["org:a:x", "org:a:y"]  # ...99 = 0b11
    assert expand_permissions("o:a", "x,y", "1" + "0" * 5000 + "2") == ["org:a:y"]
    # Only o:, ou: and uo: are organization features.
    assert expand_permissions("org:a,ou:b,foo:c,u:d", "x", "1,1,1,1") == ["org:b:x"]


def _none_token() -> str:
    return f"{b64json({'alg': 'none', 'typ': 'JWT', 'kid': KID})}.{b64json(default_claims())}."


def _hs256_with_public_key(keys: Keys) -> str:
    head = b64json({"alg": "HS256", "typ": "JWT", "kid": KID})
    body = b64json(default_claims())
    secret = keys.public_pem.encode()
    mac = hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64(mac)}"


def _flip_signature_bit(token: str) -> str:
    head, body, sig = token.split(".")
    raw = bytearray(__import__("base64").urlsafe_b64decode(sig + "=" * (-len(sig) % 4)))
    raw[len(raw) // 2] ^= 0x01
    return f"{head}.{body}.{b64(bytes(raw))}"


def _edit_payload(token: str) -> str:
    head, _, sig = token.split(".")
    return f"{head}.{b64json(default_claims(sub='user_admin'))}.{sig}"


def _hostile(keys: Keys, sign: Sign) -> list[tuple[str, str, str]]:
    now = int(time.time())
    return [
        ("alg none", _none_token(), "token-invalid-algorithm"),
        ("HS256 with the public key", _hs256_with_public_key(keys), "token-invalid-algorithm"),
        (
            "ES256 header",
            sign(alg="RS256").replace(
                b64json({"alg": "RS256", "kid": KID, "typ": "JWT"}),
                b64json({"alg": "ES256", "kid": KID, "typ": "JWT"}),
            ),
            "token-invalid-algorithm",
        ),
        ("RS384 against an RS256 key", sign(alg="RS384"), "token-invalid-algorithm"),
        ("signed with another key", sign(key=keys.other), "token-invalid-signature"),
        ("swapped kid", sign(kid="ins_unknown"), "jwk-kid-mismatch"),
        ("missing kid", sign(kid=None), "token-invalid"),
        ("flipped signature bit", _flip_signature_bit(sign()), "token-invalid-signature"),
        ("edited payload", _edit_payload(sign()), "token-invalid-signature"),
        ("expired", sign(default_claims(exp=now - 60)), "token-expired"),
        ("nbf beyond skew", sign(default_claims(nbf=now + 60)), "token-not-active-yet"),
        ("iat beyond skew", sign(default_claims(iat=now + 60)), "token-iat-in-the-future"),
        (
            "foreign azp",
            sign(default_claims(azp="https://evil.test")),
            "token-invalid-authorized-parties",
        ),
        ("missing sub", sign(default_claims(sub=None)), "token-verification-failed"),
        ("missing exp", sign(default_claims(exp=None)), "token-verification-failed"),
        ("wrong typ", sign(typ="at+jwt"), "token-invalid"),
        ("malformed base64", "eyJhbGciOi*.e30.c2ln", "token-invalid"),
        ("padded base64", sign() + "==", "token-invalid"),
        ("two parts", "eyJhbGciOiJSUzI1NiJ9.e30", "token-invalid"),
        ("header not JSON", f"{b64(b'{not json')}.{b64json({})}.{b64(b'sig')}", "token-invalid"),
        ("header a JSON list", f"{b64json([1])}.{b64json({})}.{b64(b'sig')}", "token-invalid"),
        ("signed payload not JSON", sign(b"{not json"), "token-invalid"),
        ("signed payload wrong types", sign(json.dumps({"sub": 5}).encode()), "token-invalid"),
        ("non-ASCII", sign() + "é", "token-invalid"),
        ("empty", "", "token-invalid"),
        ("100 kB", sign(default_claims(pad="A" * 100_000)), "token-invalid"),
    ]


async def test_hostile_token_corpus(
    clerk: AsyncClerk, jwks_server: JWKSServer, keys: Keys, sign: Sign
) -> None:
    corpus = _hostile(keys, sign)
    for name, token, reason in corpus:
        with pytest.raises(TokenVerificationError) as info:
            await clerk.verify_token(token, authorized_parties=["https://app.example.test"])
        assert info.value.reason == reason, (name, info.value)
    # The same corpus against a PEM key, where a kid is irrelevant and no algorithm is bound
    # to the key (so a genuine RS384 signature is valid).
    for name, token, reason in corpus:
        if name in ("swapped kid", "missing kid", "RS384 against an RS256 key"):
            continue
        with pytest.raises(TokenVerificationError) as info:
            await verify_token(
                token, jwt_key=keys.public_pem, authorized_parties=["https://app.example.test"]
            )
        assert info.value.reason == reason, (name, info.value)
    assert (await verify_token(sign(alg="RS384"), jwt_key=keys.public_pem)).sub == "user_2abc"


async def test_clock_skew_boundaries(keys: Keys, sign: Sign) -> None:
    now = int(time.time())
    pem = keys.public_pem
    # Within the default 5 s of skew: accepted.
    assert (await verify_token(sign(default_claims(exp=now - 2)), jwt_key=pem)).sub == "user_2abc"
    assert (
        await verify_token(sign(default_claims(nbf=now + 2, iat=now + 2)), jwt_key=pem)
    ).sub == "user_2abc"
    with pytest.raises(TokenVerificationError) as info:
        await verify_token(sign(default_claims(exp=now - 2)), jwt_key=pem, clock_skew=0)
    assert info.value.reason == "token-expired"
    assert (
        await verify_token(sign(default_claims(exp=now - 50)), jwt_key=pem, clock_skew=120)
    ).sub == "user_2abc"


async def test_audience(keys: Keys, sign: Sign) -> None:
    pem = keys.public_pem
    token = sign(default_claims(aud=["api://one", "api://two"]))
    assert (await verify_token(token, jwt_key=pem, audience="api://two")).sub == "user_2abc"
    assert (
        await verify_token(token, jwt_key=pem, audience=["api://x", "api://one"])
    ).sub == "user_2abc"
    with pytest.raises(TokenVerificationError) as info:
        await verify_token(token, jwt_key=pem, audience="api://three")
    assert info.value.reason == "token-verification-failed"
    with pytest.raises(TokenVerificationError):
        await verify_token(sign(), jwt_key=pem, audience="api://one")  # stricter than Clerk's SDK


@pytest.mark.parametrize("empty", ["", [], ["", ""], ()])
async def test_empty_audience_means_not_configured(keys: Keys, sign: Sign, empty: Any) -> None:
    pem = keys.public_pem
    assert (await verify_token(sign(), jwt_key=pem, audience=empty)).sub == "user_2abc"
    assert (
        await verify_token(sign(default_claims(aud="api://x")), jwt_key=pem, audience=empty)
    ).sub == "user_2abc"
    with pytest.raises(TokenVerificationError):  # empty values around a real one are dropped
        await verify_token(
            sign(default_claims(aud="api://x")), jwt_key=pem, audience=["", "api://y"]
        )


@pytest.mark.parametrize("skew", [float("nan"), float("inf"), -1.0, -0.001, "5", None, True])
async def test_clock_skew_must_be_finite_and_not_negative(
    clerk: AsyncClerk, keys: Keys, sign: Sign, skew: Any
) -> None:
    expired = sign(default_claims(exp=int(time.time()) - 3600))
    with pytest.raises(ValueError, match="clock_skew must be a finite number"):
        await verify_token(expired, jwt_key=keys.public_pem, clock_skew=skew)
    with pytest.raises(ValueError, match="clock_skew"):
        await clerk.verify_token(expired, clock_skew=skew)
    with pytest.raises(ValueError, match="clock_skew"):
        await clerk.authenticate_request({"Authorization": f"Bearer {expired}"}, clock_skew=skew)


async def test_azp_is_required_when_parties_are_configured(keys: Keys, sign: Sign) -> None:
    pem = keys.public_pem
    with pytest.raises(TokenVerificationError) as info:
        await verify_token(
            sign(default_claims(azp=None)), jwt_key=pem, authorized_parties=["https://a"]
        )
    assert info.value.reason == "token-invalid-authorized-parties"
    # Without configured parties a token without azp passes, as in Clerk's SDKs.
    assert (await verify_token(sign(default_claims(azp=None)), jwt_key=pem)).azp is None
    assert (
        await verify_token(sign(default_claims(azp=None)), jwt_key=pem, authorized_parties=[])
    ).sub == "user_2abc"


@pytest.mark.parametrize(
    "parties",
    [["https://app.example.com"], "https://app.example.com", ("https://app.example.com",)],
)
async def test_azp_matches_exactly_never_by_prefix(keys: Keys, sign: Sign, parties: Any) -> None:
    pem = keys.public_pem
    good = sign(default_claims(azp="https://app.example.com"))
    claims = await verify_token(good, jwt_key=pem, authorized_parties=parties)
    assert claims.azp == "https://app.example.com"
    for azp in ("https://app.example.com.evil.test", "https://app.example.co", "https://app"):
        with pytest.raises(TokenVerificationError) as info:
            await verify_token(
                sign(default_claims(azp=azp)), jwt_key=pem, authorized_parties=parties
            )
        assert info.value.reason == "token-invalid-authorized-parties", azp


async def test_error_is_picklable_and_a_clerk_error() -> None:
    import pickle

    from clerk_async import ClerkError

    err = TokenVerificationError("token-expired", "old")
    again = pickle.loads(pickle.dumps(err))
    assert isinstance(again, ClerkError) and isinstance(again, TokenVerificationError)
    assert (again.reason, again.message) == ("token-expired", "old")
