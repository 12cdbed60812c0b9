"""Benchmark request authentication: clerk_async against the official SDK and raw joserfc.

Runs a JWKS server on 127.0.0.1 in-process, signs real RS256 tokens with a fresh 2048-bit key,
and prints verifications per second for:

- ``AsyncClerk.verify_token`` with the JWKS cached;
- ``verify_token(jwt_key=...)`` (PEM key, no network);
- ``AsyncClerk.authenticate_request`` on a mapping of headers;
- the official SDK's ``clerk_backend_api.security.authenticate_request`` with ``jwt_key``;
- raw ``joserfc.jws.deserialize_compact`` with a pre-parsed key (the floor: RSA itself);

- ``authenticate_request`` on an opaque API key, asking the local server every time and
  with a ``MachineTokenCache``;

then the JWKS fetch counts of a cold burst of 1,000 requests and of 1,000 unknown key ids, and
the verify calls made for 1,000 concurrent requests carrying one API key, with the cache.

Usage: ``python benchmarks/bench_auth.py [--quick]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import sys
import time
import types
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from joserfc import jws
from joserfc.jwk import RSAKey

from clerk_async import AsyncClerk, TokenVerificationError
from clerk_async.auth import MachineTokenCache, authenticate_request, jwks_cache, verify_token

SECRET_KEY = "sk_test_bench_auth_00000000000000000000000"
KID = "ins_bench"


def _token(key: RSAKey, kid: str = KID) -> str:
    now = int(time.time())
    claims = {
        "sub": "user_2bench",
        "sid": "sess_2bench",
        "azp": "https://app.example.test",
        "iat": now,
        "nbf": now,
        "exp": now + 3600,
        "v": 2,
        "fea": "o:billing",
        "o": {"id": "org_1", "slg": "acme", "rol": "admin", "per": "read,manage", "fpm": "3"},
    }
    header = {"alg": "RS256", "typ": "JWT", "kid": kid}
    return jws.serialize_compact(header, json.dumps(claims), key, algorithms=["RS256"])


async def _rate_async(fn: Callable[[], Awaitable[Any]], n: int) -> float:
    for _ in range(min(100, n)):
        await fn()
    start = time.perf_counter()
    for _ in range(n):
        await fn()
    return n / (time.perf_counter() - start)


def _rate_sync(fn: Callable[[], Any], n: int) -> float:
    for _ in range(min(100, n)):
        fn()
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return n / (time.perf_counter() - start)


_API_KEY = "ak_bench_0123456789abcdef"
_API_KEY_ANSWER = {
    "object": "api_key",
    "id": "ak_id_bench",
    "type": "api_key",
    "subject": "user_2bench",
    "name": "bench",
    "claims": None,
    "scopes": ["read"],
    "revoked": False,
    "revocation_reason": None,
    "expired": False,
    "expiration": None,
    "created_by": None,
    "last_used_at": None,
    "created_at": 1,
    "updated_at": 1,
}


class _JWKSServer:
    def __init__(self, key: RSAKey) -> None:
        self.fetches = 0
        self.api_key_calls = 0
        self.body = {
            "keys": [{**key.as_dict(private=False), "kid": KID, "alg": "RS256", "use": "sig"}]
        }

    async def handle(self, request: web.Request) -> web.Response:
        self.fetches += 1
        await asyncio.sleep(0.01)  # a little latency, as a real fetch has
        return web.json_response(self.body)

    async def verify_api_key(self, request: web.Request) -> web.Response:
        self.api_key_calls += 1
        return web.json_response(_API_KEY_ANSWER)


async def main(quick: bool) -> None:
    n = 2_000 if quick else 20_000
    key = RSAKey.generate_key(2048)
    pem = key.as_pem(private=False).decode()
    token = _token(key)
    server = _JWKSServer(key)
    app = web.Application()
    app.router.add_get("/v1/jwks", server.handle)
    app.router.add_post("/v1/api_keys/verify", server.verify_api_key)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/v1"
    headers = {"Authorization": f"Bearer {token}"}
    rows: list[tuple[str, float]] = []
    try:
        async with AsyncClerk(SECRET_KEY, server_url=url) as clerk:
            await clerk.verify_token(token)  # warm the cache
            rows.append(
                (
                    "clerk_async verify_token (cached JWKS)",
                    await _rate_async(lambda: clerk.verify_token(token), n),
                )
            )
            rows.append(
                (
                    "clerk_async verify_token(jwt_key=PEM)",
                    await _rate_async(lambda: verify_token(token, jwt_key=pem), n),
                )
            )
            rows.append(
                (
                    "clerk_async authenticate_request",
                    await _rate_async(lambda: clerk.authenticate_request(headers), n),
                )
            )
            api_key = {"Authorization": f"Bearer {_API_KEY}"}
            machine_cache = MachineTokenCache(ttl=60)

            def opaque(cache: MachineTokenCache | None) -> Callable[[], Awaitable[Any]]:
                return lambda: authenticate_request(
                    clerk, api_key, accepts_token="api_key", machine_token_cache=cache
                )

            rows.append(
                (
                    "authenticate_request, API key, asking every time",
                    await _rate_async(opaque(None), max(n // 10, 100)),
                )
            )
            rows.append(
                (
                    "authenticate_request, API key, MachineTokenCache",
                    await _rate_async(opaque(machine_cache), n),
                )
            )
            server.api_key_calls = 0
            burst_cache = MachineTokenCache(ttl=60)
            await asyncio.gather(*(opaque(burst_cache)() for _ in range(1000)))
            burst_calls = server.api_key_calls
        try:
            from clerk_backend_api.security import authenticate_request as official
            from clerk_backend_api.security.types import AuthenticateRequestOptions
        except ImportError:
            rows.append(("official SDK authenticate_request (jwt_key)", float("nan")))
        else:
            options = AuthenticateRequestOptions(
                jwt_key=pem, authorized_parties=["https://app.example.test"]
            )
            request = types.SimpleNamespace(headers=headers)
            state = official(request, options)  # type: ignore[arg-type]
            assert state.is_signed_in, state.reason
            rows.append(
                (
                    "official SDK authenticate_request (jwt_key)",
                    _rate_sync(lambda: official(request, options), n),
                )  # type: ignore[arg-type]
            )
        public = RSAKey.import_key(pem)
        rows.append(
            (
                "raw joserfc deserialize_compact (pre-parsed key)",
                _rate_sync(
                    lambda: json.loads(jws.deserialize_compact(token, public, ["RS256"]).payload), n
                ),
            )
        )

        # Cold burst: 1,000 concurrent first verifications on a fresh client.
        server.fetches = 0
        async with AsyncClerk(SECRET_KEY, server_url=url) as cold:
            await asyncio.gather(*(cold.verify_token(token) for _ in range(1000)))
            cold_fetches = server.fetches

            # 1,000 unknown key ids, after the refetch cooldown has passed once.
            jwks_cache(cold, refetch_cooldown=0.2)
            await asyncio.sleep(0.25)
            _, body, sig = token.split(".")
            forged = [
                jws.serialize_compact(
                    {"alg": "RS256", "typ": "JWT", "kid": secrets.token_hex(6)}, b"{}", key
                ).split(".")[0]
                + f".{body}.{sig}"
                for _ in range(1000)
            ]
            server.fetches = 0

            async def unknown(t: str) -> str:
                try:
                    await cold.verify_token(t)
                except TokenVerificationError as exc:
                    return exc.reason
                return "accepted"

            reasons = set(await asyncio.gather(*map(unknown, forged)))
            kid_fetches = server.fetches
    finally:
        await runner.cleanup()

    width = max(len(name) for name, _ in rows)
    print(f"{'what':<{width}}  verifications/s   ({n} sequential calls each)")
    for name, rate in rows:
        print(f"{name:<{width}}  {rate:>14,.0f}")
    print(f"JWKS fetches for a cold burst of 1,000 requests: {cold_fetches}")
    print(f"JWKS fetches for 1,000 unknown kids: {kid_fetches} (outcomes: {sorted(reasons)})")
    print(f"API key verify calls for 1,000 concurrent requests, with the cache: {burst_calls}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer iterations, for a smoke run")
    asyncio.run(main(parser.parse_args().quick))
    sys.exit(0)
