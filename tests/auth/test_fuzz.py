"""Fuzzing: whatever the input, verification either succeeds or raises TokenVerificationError."""

from __future__ import annotations

import json
import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from joserfc import jws
from joserfc.jwk import RSAKey

from clerk_async import TokenVerificationError
from clerk_async.auth import verify_token

# Hypothesis examples cannot use function-scoped fixtures, so the fuzz tests own one key.
_KEY = RSAKey.generate_key(2048)
_PEM = _KEY.as_pem(private=False).decode()
_NOW = int(time.time())
_VALID = jws.serialize_compact(
    {"alg": "RS256", "typ": "JWT", "kid": "k"},
    json.dumps({"sub": "user_1", "exp": _NOW + 3600, "iat": _NOW, "nbf": _NOW}),
    _KEY,
    algorithms=["RS256"],
)
_FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


async def _outcome(token: str) -> str:
    try:
        await verify_token(token, jwt_key=_PEM)
    except TokenVerificationError as exc:
        assert exc.reason
        return exc.reason
    return "accepted"


@_FUZZ
@given(st.text(max_size=300))
async def test_random_strings(token: str) -> None:
    assert await _outcome(token) != "accepted"


@_FUZZ
@given(
    st.text(
        alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.", max_size=400
    )
)
async def test_random_base64url_shaped_strings(token: str) -> None:
    assert await _outcome(token) != "accepted"


@_FUZZ
@given(
    st.integers(min_value=0, max_value=len(_VALID) - 1),
    st.sampled_from("abcXYZ019-_.=+/"),
)
async def test_one_character_mutations(position: int, replacement: str) -> None:
    mutated = _VALID[:position] + replacement + _VALID[position + 1 :]
    outcome = await _outcome(mutated)
    # Only a mutation that leaves the token byte-identical may be accepted, apart from
    # changes to the unused low bits of the final base64url character, which the strict
    # decoder refuses.
    assert outcome != "accepted" or mutated == _VALID


@_FUZZ
@given(
    st.dictionaries(
        st.text(max_size=8),
        st.recursive(
            st.none()
            | st.booleans()
            | st.integers()
            | st.floats(allow_nan=False)
            | st.text(max_size=20),
            lambda inner: (
                st.lists(inner, max_size=3)
                | st.dictionaries(st.text(max_size=5), inner, max_size=3)
            ),
            max_leaves=10,
        ),
        max_size=8,
    )
)
async def test_signed_random_claims(claims: dict[str, object]) -> None:
    # Genuinely signed but arbitrary claims: typed decoding must fail cleanly, never crash.
    token = jws.serialize_compact(
        {"alg": "RS256", "typ": "JWT"}, json.dumps(claims), _KEY, algorithms=["RS256"]
    )
    await _outcome(token)


async def test_valid_token_is_accepted() -> None:
    assert await _outcome(_VALID) == "accepted"
