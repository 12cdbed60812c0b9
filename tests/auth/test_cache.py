"""The JWKS cache: single flight, unknown-kid cooldown, stale keys on failure, isolation."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable

import pytest

from clerk_async import AsyncClerk, TokenVerificationError
from clerk_async.auth import jwks_cache

from .._support import wait_until
from .conftest import KID, SECRET_KEY, JWKSServer, Keys, b64json

Sign = Callable[..., str]


def _refreshing(clerk: AsyncClerk) -> bool:
    task = jwks_cache(clerk)._inflight
    return task is not None and not task.done()


async def test_cold_burst_single_flight(
    clerk: AsyncClerk, jwks_server: JWKSServer, sign: Sign
) -> None:
    jwks_server.delay = 0.05  # keep the fetch open while the burst piles up behind it
    token = sign()
    results = await asyncio.gather(*(clerk.verify_token(token) for _ in range(1000)))
    assert {c.sub for c in results} == {"user_2abc"}
    assert jwks_server.fetches == 1
    assert jwks_cache(clerk).fetch_count == 1


async def test_unknown_kids_refetch_at_most_once_per_cooldown(
    clerk: AsyncClerk, jwks_server: JWKSServer, sign: Sign
) -> None:
    # A cooldown long enough for a burst to be verified on a busy machine.
    jwks_cache(clerk, refetch_cooldown=1.0)
    await clerk.verify_token(sign())
    assert jwks_server.fetches == 1

    async def reason(token: str) -> str:
        try:
            await clerk.verify_token(token)
        except TokenVerificationError as exc:
            return exc.reason
        return "accepted"

    _, body, sig = sign().split(".")

    def random_kid_tokens() -> list[str]:
        # The key is looked up before the signature is checked, so re-signing is not needed.
        return [
            f"{b64json({'alg': 'RS256', 'typ': 'JWT', 'kid': secrets.token_hex(8)})}.{body}.{sig}"
            for _ in range(300)
        ]

    # Keys fetched moments ago are current: made-up kids cost no fetch at all.
    burst = random_kid_tokens()
    assert set(await asyncio.gather(*map(reason, burst))) == {"jwk-kid-mismatch"}
    assert jwks_server.fetches == 1
    burst = random_kid_tokens()
    await asyncio.sleep(1.05)
    assert set(await asyncio.gather(*map(reason, burst))) == {"jwk-kid-mismatch"}
    assert jwks_server.fetches == 2  # one refetch for the whole burst
    assert set(await asyncio.gather(*map(reason, burst))) == {"jwk-kid-mismatch"}
    assert jwks_server.fetches == 2  # still inside the cooldown


async def test_rotated_key_is_found_by_a_refetch(
    clerk: AsyncClerk, jwks_server: JWKSServer, keys: object, sign: Sign
) -> None:
    jwks_cache(clerk, refetch_cooldown=0.0)
    await clerk.verify_token(sign())
    jwks_server.jwks = [jwks_server.keys.public_jwk(), jwks_server.keys.public_jwk("ins_new")]
    assert (await clerk.verify_token(sign(kid="ins_new"))).sub == "user_2abc"
    assert jwks_server.fetches == 2


async def test_failed_refresh_keeps_cached_keys(
    clerk: AsyncClerk, jwks_server: JWKSServer, sign: Sign, caplog: pytest.LogCaptureFixture
) -> None:
    jwks_cache(clerk, ttl=0.05, refetch_cooldown=10.0)
    token = sign()
    await clerk.verify_token(token)
    jwks_server.fail = True
    await asyncio.sleep(0.1)
    with caplog.at_level(logging.WARNING, logger="clerk_async.auth"):
        assert (await clerk.verify_token(token)).sub == "user_2abc"
        await wait_until(lambda: jwks_cache(clerk).fetch_count == 2 and not _refreshing(clerk))
    assert jwks_server.fetches == 2
    assert any("still using the 1 cached keys" in r.getMessage() for r in caplog.records)
    # The failed refresh is not retried on every request.
    for _ in range(10):
        await clerk.verify_token(token)
    assert jwks_server.fetches == 2


async def test_no_keys_at_all_fails_to_load(
    clerk: AsyncClerk, jwks_server: JWKSServer, sign: Sign
) -> None:
    jwks_server.fail = True
    jwks_cache(clerk, failure_cooldown=0.2)
    for _ in range(3):
        with pytest.raises(TokenVerificationError) as info:
            await clerk.verify_token(sign())
        assert info.value.reason == "jwk-failed-to-load"
    assert jwks_server.fetches == 1  # later calls fail fast inside the failure cooldown
    await asyncio.sleep(0.25)
    jwks_server.fail = False
    assert (await clerk.verify_token(sign())).sub == "user_2abc"
    assert jwks_server.fetches == 2


async def test_bad_secret_key_fails_to_load(jwks_server: JWKSServer, sign: Sign) -> None:
    async with AsyncClerk("sk_test_wrong", server_url=jwks_server.server_url, retry=False) as bad:
        with pytest.raises(TokenVerificationError) as info:
            await bad.verify_token(sign())
    assert info.value.reason == "jwk-failed-to-load"
    assert "AuthenticationError" in info.value.message


async def test_ttl_expiry_refetches(clerk: AsyncClerk, jwks_server: JWKSServer, sign: Sign) -> None:
    jwks_cache(clerk, ttl=0.05)
    await clerk.verify_token(sign())
    await asyncio.sleep(0.1)
    await clerk.verify_token(sign())
    await wait_until(lambda: jwks_server.fetches == 2 and not _refreshing(clerk))
    assert jwks_cache(clerk).lookup("ins_test_kid_1") is not None  # fresh again


async def test_caches_are_per_client_and_shared_with_copies(
    clerk: AsyncClerk, jwks_server: JWKSServer, sign: Sign
) -> None:
    token = sign()
    await clerk.verify_token(token)
    await clerk.with_options(timeout=3).verify_token(token)
    assert jwks_server.fetches == 1
    async with AsyncClerk(SECRET_KEY, server_url=jwks_server.server_url) as other:
        assert jwks_cache(other) is not jwks_cache(clerk)
        await other.verify_token(token)
    assert jwks_server.fetches == 2


async def test_stale_keys_serve_while_one_background_refresh_runs(
    clerk: AsyncClerk, jwks_server: JWKSServer, sign: Sign
) -> None:
    cache = jwks_cache(clerk, ttl=0.05, refetch_cooldown=0.0)
    token = sign()
    await clerk.verify_token(token)
    await asyncio.sleep(0.1)
    jwks_server.delay = 2.0  # the refresh hangs; no request may wait for it
    loop = asyncio.get_running_loop()
    started = loop.time()
    results = await asyncio.gather(*(clerk.verify_token(token) for _ in range(200)))
    assert loop.time() - started < 1.0
    assert {c.sub for c in results} == {"user_2abc"}
    await wait_until(lambda: jwks_server.fetches == 2)
    assert cache.fetch_count == 2  # one refresh for the whole burst
    await cache.aclose()  # cancels the hanging refresh; the known keys stay
    assert not _refreshing(clerk)
    assert (await clerk.verify_token(token)).sub == "user_2abc"


async def test_cancelled_waiter_leaves_the_shared_fetch_running(
    clerk: AsyncClerk, jwks_server: JWKSServer, sign: Sign
) -> None:
    jwks_server.delay = 0.2
    token = sign()
    first = asyncio.ensure_future(clerk.verify_token(token))
    second = asyncio.ensure_future(clerk.verify_token(token))
    await asyncio.sleep(0.05)
    first.cancel()
    assert (await second).sub == "user_2abc"
    assert first.cancelled()
    assert jwks_server.fetches == 1


async def test_load_warms_the_cache(clerk: AsyncClerk, jwks_server: JWKSServer) -> None:
    cache = jwks_cache(clerk)
    await cache.load(clerk.jwks.get_jwks)
    assert jwks_server.fetches == 1
    assert cache.lookup(KID) is not None
    jwks_server.fail = True
    cache.clear()
    with pytest.raises(TokenVerificationError) as info:
        await cache.load(clerk.jwks.get_jwks)
    assert info.value.reason == "jwk-failed-to-load"
    assert "ServerError" in info.value.message


async def test_too_many_keys_is_a_load_failure_that_keeps_known_keys(
    clerk: AsyncClerk, jwks_server: JWKSServer, keys: Keys, sign: Sign
) -> None:
    cache = jwks_cache(clerk, refetch_cooldown=0.0)
    many = [keys.public_jwk(f"kid_{i}") for i in range(101)]
    jwks_server.jwks = many
    with pytest.raises(TokenVerificationError) as info:
        await clerk.verify_token(sign())
    assert info.value.reason == "jwk-failed-to-load"
    assert "101 keys, more than 100" in info.value.message
    jwks_server.jwks = [*many[:99], keys.public_jwk()]  # 100 keys: accepted, parsed off-loop
    cache.clear()
    assert (await clerk.verify_token(sign())).sub == "user_2abc"
    jwks_server.jwks = many
    cache.refetch_cooldown = 60.0  # so the kept keys count as fresh until the next retry
    await cache.load(clerk.jwks.get_jwks)  # refused answer; the 100 known keys stay
    assert cache.lookup("kid_5") is not None
    assert "more than 100" in cache._last_error


@pytest.mark.parametrize("use", ["enc", "other"])
async def test_keys_for_another_use_never_verify(
    clerk: AsyncClerk, jwks_server: JWKSServer, keys: Keys, sign: Sign, use: str
) -> None:
    jwks_server.jwks = [{**keys.public_jwk("enc_key"), "use": use}, keys.public_jwk()]
    with pytest.raises(TokenVerificationError) as info:
        await clerk.verify_token(sign(kid="enc_key"))
    assert info.value.reason == "jwk-kid-mismatch"
    assert (await clerk.verify_token(sign())).sub == "user_2abc"
