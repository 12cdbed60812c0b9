"""Real keys, real signed tokens and a real JWKS server on 127.0.0.1 for the auth tests."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from joserfc import jws
from joserfc.jwk import RSAKey
from joserfc.jws import JWSRegistry

from clerk_async import AsyncClerk

from .._support import serve

SECRET_KEY = "sk_test_auth_suite_000000000000000000000000"
KID = "ins_test_kid_1"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64json(value: Any) -> str:
    return b64(json.dumps(value, separators=(",", ":")).encode())


@dataclass
class Keys:
    signing: RSAKey
    other: RSAKey  # a second key pair, for tokens signed with a key the server never serves

    @property
    def public_pem(self) -> str:
        return self.signing.as_pem(private=False).decode()

    def public_jwk(self, kid: str = KID, alg: str = "RS256") -> dict[str, Any]:
        return {**self.signing.as_dict(private=False), "kid": kid, "alg": alg, "use": "sig"}


@pytest.fixture(scope="session")
def keys() -> Keys:
    return Keys(RSAKey.generate_key(2048), RSAKey.generate_key(2048))


def default_claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": "user_2abc",
        "sid": "sess_2abc",
        "iss": "https://clerk.example.test",
        "azp": "https://app.example.test",
        "iat": now - 10,
        "nbf": now - 10,
        "exp": now + 60,
        "v": 2,
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


@pytest.fixture
def sign(keys: Keys) -> Callable[..., str]:
    """Sign claims (or raw payload bytes) as Clerk does: RS256 with a kid header."""

    def _sign(
        claims: dict[str, Any] | bytes | None = None,
        *,
        key: RSAKey | None = None,
        alg: str = "RS256",
        kid: str | None = KID,
        typ: str | None = "JWT",
        cat: str | None = None,
    ) -> str:
        header: dict[str, Any] = {"alg": alg}
        if kid is not None:
            header["kid"] = kid
        if typ is not None:
            header["typ"] = typ
        if cat is not None:
            header["cat"] = cat
        payload = claims if isinstance(claims, bytes) else json.dumps(claims or default_claims())
        registry = JWSRegistry(algorithms=[alg], strict_check_header=False)  # allows cat
        return jws.serialize_compact(header, payload, key or keys.signing, registry=registry)

    return _sign


@dataclass
class JWKSServer:
    """A stand-in for Clerk's ``GET /v1/jwks`` that counts its fetches."""

    keys: Keys
    url: str = ""
    fetches: int = 0
    fail: bool = False
    delay: float = 0.0
    jwks: list[dict[str, Any]] = field(default_factory=list)
    # Other secret keys this server accepts, each with the JWKS of its own instance.
    other_instances: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    machine_calls: int = 0
    machine_answers: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)
    seen_bodies: list[dict[str, Any]] = field(default_factory=list)

    @property
    def server_url(self) -> str:
        return self.url + "/v1"

    async def handle_jwks(self, request: web.Request) -> web.Response:
        self.fetches += 1
        authorization = request.headers.get("Authorization", "")
        secret = authorization.removeprefix("Bearer ")
        if secret in self.other_instances:
            return web.json_response({"keys": self.other_instances[secret]})
        if authorization != f"Bearer {SECRET_KEY}":
            return web.json_response({"errors": [{"code": "unauthorized"}]}, status=401)
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.fail:
            return web.json_response({"errors": [{"code": "internal"}]}, status=500)
        return web.json_response({"keys": self.jwks or [self.keys.public_jwk()]})

    async def handle_machine(self, request: web.Request) -> web.Response:
        self.machine_calls += 1
        body = await request.json()
        self.seen_bodies.append(body)
        if self.delay:
            await asyncio.sleep(self.delay)
        token = next(iter(body.values()))
        status, answer = self.machine_answers.get(
            token, (404, {"errors": [{"code": "resource_not_found", "message": "not found"}]})
        )
        return web.json_response(answer, status=status)


@pytest.fixture
async def jwks_server(keys: Keys) -> AsyncIterator[JWKSServer]:
    server = JWKSServer(keys)
    app = web.Application()
    app.router.add_get("/v1/jwks", server.handle_jwks)
    for path in (
        "/v1/m2m_tokens/verify",
        "/v1/api_keys/verify",
        "/v1/oauth_applications/access_tokens/verify",
    ):
        app.router.add_post(path, server.handle_machine)
    async with serve(app) as url:
        server.url = url
        yield server


@pytest.fixture
async def clerk(jwks_server: JWKSServer) -> AsyncIterator[AsyncClerk]:
    async with AsyncClerk(SECRET_KEY, server_url=jwks_server.server_url, retry=False) as client:
        yield client


def api_key_json(**overrides: Any) -> dict[str, Any]:
    """An API key as Clerk's verify route answers for it; fields overridden as given."""
    answer: dict[str, Any] = {
        "object": "api_key",
        "id": "ak_id_1",
        "type": "api_key",
        "subject": "user_1",
        "name": "ci",
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
    answer.update(overrides)
    return answer
