"""Local verification of Clerk JWTs: header, key, signature, then claims."""

from __future__ import annotations

import hashlib
import math
import os
import time
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from joserfc.jws import JWSRegistry

from .._errors import TokenVerificationError
from ._claims import SessionClaims
from ._keys import (
    DEFAULT_JWKS_TIMEOUT,
    RSA_ALGORITHMS,
    Fetch,
    JWKSCache,
    PublicKey,
    fetch_jwks,
    parse_pem,
)
from ._token import CATEGORY_M2M_TOKEN, MAX_TOKEN_LENGTH, ParsedToken, invalid

if TYPE_CHECKING:
    from .._client import AsyncClerk
    from ..models.jwks import JWKS

__all__ = [
    "MAX_TOKEN_LENGTH",
    "ParsedToken",
    "check_clock_skew",
    "jwks_cache",
    "parse_token",
    "verify_token",
]

SESSION_TYPES = frozenset({"JWT"})
OAUTH_JWT_TYPES = frozenset({"at+jwt", "application/at+jwt"})

_ALGORITHMS = {name: JWSRegistry.algorithms[name] for name in RSA_ALGORITHMS}


def parse_token(token: str) -> ParsedToken:
    """Split a token and decode its header without verifying anything."""
    return ParsedToken(token)


def check_clock_skew(clock_skew: float) -> float:
    """``clock_skew`` itself, when it is a finite number of seconds >= 0.

    A NaN or infinite skew would make every time comparison pass (or fail), disabling
    expiry checks, so it is a programming error, reported at once.
    """
    if type(clock_skew) in (int, float) and 0 <= clock_skew < math.inf:
        return clock_skew  # the common case, checked without the slower tests below
    if (
        isinstance(clock_skew, bool)
        or not isinstance(clock_skew, (int, float))
        or not math.isfinite(clock_skew)
        or clock_skew < 0
    ):
        raise ValueError(f"clock_skew must be a finite number of seconds >= 0, not {clock_skew!r}")
    return clock_skew


@dataclass(frozen=True, slots=True)
class Keys:
    """Where a token's verification key comes from: one PEM key, or a JWKS cache and the
    function that fetches the JWKS when the cache needs it."""

    pem: PublicKey | None = None
    cache: JWKSCache | None = None
    fetch: Fetch | None = None

    @classmethod
    def from_pem(cls, pem: str) -> Keys:
        return cls(pem=parse_pem(pem))

    async def load(self) -> None:
        """Warm the JWKS cache (nothing to do for a PEM key)."""
        if self.cache is not None and self.fetch is not None:
            await self.cache.load(self.fetch)

    async def key_for(self, kid: str | None) -> PublicKey:
        if self.pem is not None:
            return self.pem
        if not kid:
            raise TokenVerificationError("token-invalid", "the token has no key id (kid)")
        assert self.cache is not None and self.fetch is not None
        return self.cache.lookup(kid) or await self.cache.get(kid, self.fetch)


async def verify_signature(parsed: ParsedToken, keys: Keys, types: frozenset[str]) -> None:
    """Check the header (``typ``, ``alg``), find the key and check the signature."""
    if parsed.typ is not None and parsed.typ not in types:
        raise invalid(f"unexpected token type (typ) {parsed.typ!r}")
    alg = parsed.alg
    if alg not in RSA_ALGORITHMS:
        raise TokenVerificationError(
            "token-invalid-algorithm", f"algorithm {alg!r} is not one of RS256, RS384, RS512"
        )
    key = await keys.key_for(parsed.kid)
    if key.alg is not None and key.alg != alg:
        raise TokenVerificationError(
            "token-invalid-algorithm", f"the key is for {key.alg}, the token says {alg}"
        )
    if not _ALGORITHMS[alg].verify(parsed.signing_input, parsed.signature, key.jwk):
        raise TokenVerificationError("token-invalid-signature", "the signature does not match")


async def verify_parsed(
    parsed: ParsedToken,
    keys: Keys,
    *,
    authorized_parties: Collection[str] | None = None,
    audience: str | Iterable[str] | None = None,
    clock_skew: float = 5.0,
    types: frozenset[str] = SESSION_TYPES,
) -> SessionClaims:
    """Check a parsed token as a session token (or a JWT-template token): header, key,
    signature, then claims; the claims if all pass. An M2M JWT is refused."""
    check_clock_skew(clock_skew)
    if parsed.cat == CATEGORY_M2M_TOKEN:
        raise invalid("the token is a machine-to-machine token (header cat), not a session token")
    await verify_signature(parsed, keys, types)
    claims = parsed.decode_claims()
    check_claims(
        claims,
        authorized_parties=authorized_parties,
        audience=audience,
        clock_skew=clock_skew,
    )
    return claims


def _wanted_audience(audience: str | Iterable[str] | None) -> frozenset[str]:
    """The configured audiences; empty strings do not count, so ``""``, ``[]`` and
    ``["", ""]`` all mean that no audience is configured."""
    if audience is None:
        return frozenset()
    values = (audience,) if isinstance(audience, str) else audience
    return frozenset(value for value in values if value)


def _allowed_parties(authorized_parties: Collection[str] | None) -> frozenset[str]:
    # A bare string is one origin, not a collection of characters to match against.
    if authorized_parties is None:
        return frozenset()
    if isinstance(authorized_parties, str):
        return frozenset((authorized_parties,))
    return frozenset(authorized_parties)


def check_claims(
    claims: SessionClaims,
    *,
    authorized_parties: Collection[str] | None,
    audience: str | Iterable[str] | None,
    clock_skew: float,
    now: float | None = None,
) -> None:
    """The claim checks of Clerk's SDKs, each failing with its own reason."""
    if not claims.sub:
        raise TokenVerificationError(
            "token-verification-failed", "the subject claim (sub) is required"
        )
    now = time.time() if now is None else now
    if claims.exp is None:
        raise TokenVerificationError(
            "token-verification-failed", "the expiry claim (exp) is required"
        )
    if claims.exp <= now - clock_skew:
        raise TokenVerificationError("token-expired", f"the token expired at {claims.exp:g}")
    if claims.nbf is not None and claims.nbf > now + clock_skew:
        raise TokenVerificationError(
            "token-not-active-yet", f"the token is not valid before {claims.nbf:g}"
        )
    if claims.iat is not None and claims.iat > now + clock_skew:
        raise TokenVerificationError(
            "token-iat-in-the-future", f"the token was issued in the future ({claims.iat:g})"
        )
    parties = _allowed_parties(authorized_parties)
    # With parties configured the claim is required: leaving it out must not skip the check.
    if parties and claims.azp not in parties:
        raise TokenVerificationError(
            "token-invalid-authorized-parties",
            f"authorized party (azp) {claims.azp!r} is not one of the allowed origins",
        )
    wanted = _wanted_audience(audience)
    if wanted:
        aud = claims.aud
        given = {aud} if isinstance(aud, str) else set(aud or ())
        if not wanted & given:
            raise TokenVerificationError(
                "token-verification-failed",
                f"the audience claim (aud) {aud!r} matches none of {sorted(wanted)!r}",
            )


# The standalone verify_token's caches, per server and secret key (hashed, so no secret is kept
# as a dictionary key): two keys on one server never share keys.
_STANDALONE_CACHES: dict[tuple[str, str], JWKSCache] = {}


def jwks_cache(
    clerk: AsyncClerk,
    *,
    ttl: float | None = None,
    refetch_cooldown: float | None = None,
    failure_cooldown: float | None = None,
) -> JWKSCache:
    """The JWKS cache a client verifies with; the options, when given, reconfigure it.

    The client and its :meth:`~AsyncClerk.with_options` copies share one cache, as they share
    one connection pool (it is ``clerk.jwks_cache``).
    """
    cache = clerk.jwks_cache
    if ttl is not None:
        cache.ttl = ttl
    if refetch_cooldown is not None:
        cache.refetch_cooldown = refetch_cooldown
    if failure_cooldown is not None:
        cache.failure_cooldown = failure_cooldown
    return cache


def standalone_jwks_cache(server_url: str, secret_key: str) -> JWKSCache:
    cache_key = (server_url.rstrip("/"), hashlib.sha256(secret_key.encode()).hexdigest())
    cache = _STANDALONE_CACHES.get(cache_key)
    if cache is None:
        cache = _STANDALONE_CACHES[cache_key] = JWKSCache()
    return cache


async def verify_token(
    token: str,
    *,
    jwt_key: str | None = None,
    secret_key: str | None = None,
    server_url: str | None = None,
    authorized_parties: Collection[str] | None = None,
    audience: str | Iterable[str] | None = None,
    clock_skew: float = 5.0,
) -> SessionClaims:
    """Verify a Clerk session token and return its claims.

    With ``jwt_key`` (the instance's PEM public key; else ``CLERK_JWT_KEY``) nothing is
    fetched: the key is parsed once and reused. Otherwise the instance's JWKS is fetched with
    ``secret_key`` (or ``CLERK_SECRET_KEY``) from ``server_url`` (``CLERK_API_URL``, else
    Clerk's API) and cached in this module, per server and key; each fetch opens a
    connection that is closed right after.

    The token must be a session token or a JWT-template token: an M2M JWT (header ``cat``)
    is refused. See ``docs/auth.md`` for every check, in order.

    Raises:
        TokenVerificationError: with Clerk's ``reason`` string when the token is refused or
            no key could be loaded.
        ValueError: ``clock_skew`` is not a finite number of seconds >= 0.
    """
    jwt_key = jwt_key if jwt_key is not None else os.environ.get("CLERK_JWT_KEY") or None
    keys = (
        Keys.from_pem(jwt_key) if jwt_key is not None else _standalone_keys(secret_key, server_url)
    )
    return await verify_with_keys(
        token,
        keys,
        authorized_parties=authorized_parties,
        audience=audience,
        clock_skew=clock_skew,
    )


def _standalone_keys(secret_key: str | None, server_url: str | None) -> Keys:
    """The JWKS cache of the standalone :func:`verify_token`, fetching through a connection
    pool that lives for one fetch (the module-level cache outlives any pool)."""
    from .._config import Pool, make_config, server_url_from_environment

    secret = secret_key if secret_key is not None else os.environ.get("CLERK_SECRET_KEY")
    if not secret:
        raise TokenVerificationError(
            "secret-key-invalid", "pass jwt_key, secret_key, or set CLERK_SECRET_KEY"
        )
    config = make_config(
        server_url=server_url or server_url_from_environment(),
        bearer_auth=secret,
    )

    async def fetch() -> JWKS:
        pool = Pool(session=None, max_connections=1, max_concurrency=None)
        try:
            return await fetch_jwks(pool, config, DEFAULT_JWKS_TIMEOUT)
        finally:
            await pool.close()

    return Keys(cache=standalone_jwks_cache(config.server_url, secret), fetch=fetch)


async def verify_with_keys(
    token: str,
    keys: Keys,
    *,
    authorized_parties: Collection[str] | None = None,
    audience: str | Iterable[str] | None = None,
    clock_skew: float = 5.0,
) -> SessionClaims:
    """:func:`verify_token` with the keys already chosen (a client's, or the standalone ones)."""
    check_clock_skew(clock_skew)
    return await verify_parsed(
        ParsedToken(token),
        keys,
        authorized_parties=authorized_parties,
        audience=audience,
        clock_skew=clock_skew,
    )
