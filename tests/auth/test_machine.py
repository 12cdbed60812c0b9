"""Opaque machine tokens: Clerk's answers read correctly, and the opt-in verification cache."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest

from clerk_async import AsyncClerk, TokenVerificationError
from clerk_async.auth import MachineTokenCache, RequestState, authenticate_request, verify_token

from .conftest import SECRET_KEY, JWKSServer, Keys, api_key_json

Sign = Callable[..., str]


async def _state(
    clerk: AsyncClerk, token: str, cache: MachineTokenCache | None = None
) -> RequestState:
    return await authenticate_request(
        clerk,
        {"Authorization": f"Bearer {token}"},
        accepts_token="any",
        machine_token_cache=cache,
    )


async def test_expired_opaque_tokens_are_refused(
    clerk: AsyncClerk, jwks_server: JWKSServer
) -> None:
    past_ms = (time.time() - 60) * 1000
    future_ms = (time.time() + 60) * 1000
    jwks_server.machine_answers = {
        "ak_flagged": (200, api_key_json(expired=True)),
        "ak_past": (200, api_key_json(expiration=past_ms)),
        "ak_future": (200, api_key_json(expiration=future_ms)),
    }
    for token in ("ak_flagged", "ak_past"):
        state = await _state(clerk, token)
        assert (state.is_signed_in, state.reason) == (False, "token-expired"), token
    state = await _state(clerk, "ak_future")
    assert state.is_signed_in
    assert state.machine is not None and state.machine.expires_at == pytest.approx(future_ms / 1000)


@pytest.mark.parametrize("status", [500, 502, 503, 504, 429, 401, 403])
async def test_clerk_failing_is_not_the_tokens_fault(
    clerk: AsyncClerk, jwks_server: JWKSServer, status: int
) -> None:
    body = {"errors": [{"code": "unavailable", "message": "try later"}]}
    jwks_server.machine_answers = {t: (status, body) for t in ("ak_x", "mt_x", "oat_x")}
    cache = MachineTokenCache(negative_ttl=60)
    for token in ("ak_x", "mt_x", "oat_x"):
        for _ in range(2):
            state = await _state(clerk, token, cache)
            assert (state.is_signed_in, state.reason) == (False, "token-verification-failed")
    assert jwks_server.machine_calls == 6  # failures are never cached
    assert len(cache) == 0


@pytest.mark.parametrize("status", [400, 404, 422])
async def test_clerk_refusing_the_token_is_token_invalid(
    clerk: AsyncClerk, jwks_server: JWKSServer, status: int
) -> None:
    jwks_server.machine_answers = {"ak_x": (status, {"errors": [{"code": "not_found"}]})}
    assert (await _state(clerk, "ak_x")).reason == "token-invalid"


async def test_clerk_unreachable_is_verification_failed(jwks_server: JWKSServer) -> None:
    async with AsyncClerk(SECRET_KEY, server_url="http://127.0.0.1:9/v1", retry=False) as clerk:
        assert (await _state(clerk, "mt_x")).reason == "token-verification-failed"


async def test_cache_answers_repeated_tokens_without_asking(
    clerk: AsyncClerk, jwks_server: JWKSServer
) -> None:
    jwks_server.machine_answers = {"ak_good": (200, api_key_json())}
    cache = MachineTokenCache(ttl=0.2)
    for _ in range(5):
        state = await _state(clerk, "ak_good", cache)
        assert state.is_signed_in and state.token == "ak_good"
        assert state.machine is not None and state.machine.subject == "user_1"
    assert jwks_server.machine_calls == 1
    assert (cache.calls, cache.hits) == (1, 4)
    # Revocation shows once the TTL has run out.
    jwks_server.machine_answers = {"ak_good": (200, api_key_json(revoked=True))}
    assert (await _state(clerk, "ak_good", cache)).is_signed_in
    await asyncio.sleep(0.25)
    assert (await _state(clerk, "ak_good", cache)).reason == "token-invalid"
    assert jwks_server.machine_calls == 2


async def test_cache_keys_are_digests_never_tokens(
    clerk: AsyncClerk, jwks_server: JWKSServer
) -> None:
    token = "ak_live_do_not_store_me_0123456789"
    jwks_server.machine_answers = {token: (200, api_key_json())}
    cache = MachineTokenCache()
    await _state(clerk, token, cache)
    stored = list(cache._entries.items())
    assert len(stored) == 1
    key, entry = stored[0]
    assert isinstance(key, bytes) and len(key) == 32 and token.encode() not in key
    assert entry.state.token is None
    assert token not in repr(cache) + repr(entry)


async def test_cache_is_per_instance(clerk: AsyncClerk, jwks_server: JWKSServer) -> None:
    # A token valid for one instance must not be accepted by a client of another through a
    # shared cache.
    jwks_server.machine_answers = {"ak_good": (200, api_key_json())}
    cache = MachineTokenCache()
    assert (await _state(clerk, "ak_good", cache)).is_signed_in
    async with AsyncClerk("sk_test_other", server_url=jwks_server.server_url, retry=False) as other:
        jwks_server.machine_answers = {}
        assert (await _state(other, "ak_good", cache)).reason == "token-invalid"


async def test_cache_expiry_never_outlives_the_token(
    clerk: AsyncClerk, jwks_server: JWKSServer
) -> None:
    soon_ms = (time.time() + 0.2) * 1000
    jwks_server.machine_answers = {"ak_soon": (200, api_key_json(expiration=soon_ms))}
    cache = MachineTokenCache(ttl=60)
    assert (await _state(clerk, "ak_soon", cache)).is_signed_in
    await asyncio.sleep(0.25)
    jwks_server.machine_answers = {"ak_soon": (200, api_key_json(expiration=soon_ms, expired=True))}
    assert (await _state(clerk, "ak_soon", cache)).reason == "token-expired"
    assert jwks_server.machine_calls == 2


async def test_cache_is_bounded_lru(clerk: AsyncClerk, jwks_server: JWKSServer) -> None:
    jwks_server.machine_answers = {f"ak_{i}": (200, api_key_json()) for i in range(5)}
    cache = MachineTokenCache(max_size=3)
    for i in range(4):
        await _state(clerk, f"ak_{i}", cache)
    await _state(clerk, "ak_1", cache)  # ak_0 went first; ak_1 is now the most recent
    assert len(cache) == 3 and jwks_server.machine_calls == 4
    await _state(clerk, "ak_4", cache)  # evicts ak_2
    await _state(clerk, "ak_1", cache)
    assert jwks_server.machine_calls == 5
    await _state(clerk, "ak_2", cache)
    assert jwks_server.machine_calls == 6


async def test_negative_answers(clerk: AsyncClerk, jwks_server: JWKSServer) -> None:
    jwks_server.machine_answers = {"ak_revoked": (200, api_key_json(revoked=True))}
    uncached = MachineTokenCache()
    for _ in range(3):
        assert (await _state(clerk, "ak_revoked", uncached)).reason == "token-invalid"
        assert (await _state(clerk, "ak_unknown", uncached)).reason == "token-invalid"
    assert jwks_server.machine_calls == 6
    briefly = MachineTokenCache(negative_ttl=0.2)
    for _ in range(3):
        assert (await _state(clerk, "ak_revoked", briefly)).reason == "token-invalid"
    assert jwks_server.machine_calls == 7
    await asyncio.sleep(0.25)
    await _state(clerk, "ak_revoked", briefly)
    assert jwks_server.machine_calls == 8


async def test_single_flight_survives_a_cancelled_waiter(
    clerk: AsyncClerk, jwks_server: JWKSServer
) -> None:
    jwks_server.machine_answers = {
        "mt_slow": (
            200,
            {
                "object": "machine_to_machine_token",
                "id": "mt_1",
                "subject": "mch_1",
                "scopes": [],
                "revoked": False,
                "revocation_reason": None,
                "expired": False,
                "expiration": None,
                "last_used_at": None,
                "created_at": 1,
                "updated_at": 1,
            },
        )
    }
    jwks_server.delay = 0.2
    cache = MachineTokenCache()
    waiters = [asyncio.ensure_future(_state(clerk, "mt_slow", cache)) for _ in range(50)]
    await asyncio.sleep(0.05)
    waiters[0].cancel()
    results = await asyncio.gather(*waiters[1:])
    assert waiters[0].cancelled()
    assert all(state.is_signed_in and state.token == "mt_slow" for state in results)
    assert jwks_server.machine_calls == 1
    assert not cache._inflight


@pytest.mark.parametrize(
    "options",
    [
        {"ttl": -1},
        {"ttl": float("nan")},
        {"negative_ttl": float("inf")},
        {"max_size": 0},
        {"max_size": 1.5},
        {"ttl": "10"},
    ],
)
def test_cache_options_are_checked(options: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        MachineTokenCache(**options)


async def test_standalone_caches_never_share_keys_across_secret_keys(
    jwks_server: JWKSServer, keys: Keys, sign: Sign
) -> None:
    # Two instances behind one URL (as with a proxy): each secret key sees only its own keys.
    jwks_server.other_instances = {"sk_test_instance_b": [keys.public_jwk("kid_b")]}
    url = jwks_server.server_url
    assert (await verify_token(sign(), secret_key=SECRET_KEY, server_url=url)).sub
    token_for_a = sign()
    with pytest.raises(TokenVerificationError) as info:
        await verify_token(token_for_a, secret_key="sk_test_instance_b", server_url=url)
    assert info.value.reason == "jwk-kid-mismatch"
    assert jwks_server.fetches == 2  # instance B fetched its own JWKS
    assert await verify_token(sign(kid="kid_b"), secret_key="sk_test_instance_b", server_url=url)
    with pytest.raises(TokenVerificationError):
        await verify_token(sign(kid="kid_b"), secret_key=SECRET_KEY, server_url=url)
