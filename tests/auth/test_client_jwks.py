"""The client's side of the JWKS: its own short timeout, a body cap, warming at start-up, and
the CLERK_JWT_KEY fallback."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from clerk_async import AsyncClerk, TokenVerificationError

from .conftest import SECRET_KEY, JWKSServer, Keys


async def test_a_hanging_jwks_endpoint_fails_within_the_jwks_timeout(
    jwks_server: JWKSServer, sign: Callable[..., str]
) -> None:
    jwks_server.delay = 2.5
    async with AsyncClerk(SECRET_KEY, server_url=jwks_server.server_url, jwks_timeout=0.3) as clerk:
        started = time.monotonic()
        with pytest.raises(TokenVerificationError) as caught:
            await clerk.verify_token(sign())
    assert caught.value.reason == "jwk-failed-to-load"
    assert "timed out" in caught.value.message or "no complete answer" in caught.value.message
    assert time.monotonic() - started < 2.0


async def test_an_oversized_jwks_is_refused_without_reading_it_all(
    jwks_server: JWKSServer, keys: Keys, sign: Callable[..., str]
) -> None:
    jwks_server.jwks = [{**keys.public_jwk(), "padding": "x" * (2 * 1024 * 1024)}]
    async with AsyncClerk(SECRET_KEY, server_url=jwks_server.server_url) as clerk:
        with pytest.raises(TokenVerificationError) as caught:
            await clerk.verify_token(sign())
    assert caught.value.reason == "jwk-failed-to-load"
    assert "max_response_bytes" in caught.value.message


async def test_prefetch_warms_the_cache_shared_by_copies(
    jwks_server: JWKSServer, sign: Callable[..., str]
) -> None:
    async with AsyncClerk(SECRET_KEY, server_url=jwks_server.server_url) as clerk:
        await clerk.prefetch_jwks()
        assert jwks_server.fetches == 1
        copy = clerk.with_options(timeout=3)
        assert copy.jwks_cache is clerk.jwks_cache
        claims = await copy.verify_token(sign())
        assert claims.sub == "user_2abc"
        assert jwks_server.fetches == 1  # the first verification did not wait for a fetch


async def test_prefetch_reports_a_jwks_that_cannot_load(jwks_server: JWKSServer) -> None:
    async with AsyncClerk("sk_test_wrong_key", server_url=jwks_server.server_url) as clerk:
        with pytest.raises(TokenVerificationError) as caught:
            await clerk.prefetch_jwks()
    assert caught.value.reason == "jwk-failed-to-load"
    assert "AuthenticationError" in caught.value.message


async def test_the_jwt_key_comes_from_the_environment(
    jwks_server: JWKSServer, keys: Keys, sign: Callable[..., str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLERK_JWT_KEY", keys.public_pem)
    async with AsyncClerk(SECRET_KEY, server_url=jwks_server.server_url) as clerk:
        await clerk.prefetch_jwks()  # nothing to fetch with a PEM key
        assert (await clerk.verify_token(sign())).sub == "user_2abc"
    assert jwks_server.fetches == 0
