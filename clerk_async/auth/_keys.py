"""Verification keys: a PEM key parsed once, or Clerk's JWKS fetched once and cached.

The cache is what keeps verification off the network: keys are parsed when fetched, a burst
of cold verifications shares one fetch, unknown key ids refetch at most once per cooldown,
keys past their TTL keep serving while one background refresh runs, and a failed refresh
keeps serving the keys already known.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from joserfc.errors import JoseError
from joserfc.jwk import RSAKey

from .._errors import TokenVerificationError
from .._operation import Operation
from ..models.jwks import JWKS

if TYPE_CHECKING:
    from .._config import Config, Pool

__all__ = ["MAX_JWKS_KEYS", "JWKSCache", "PublicKey", "fetch_jwks", "parse_jwks", "parse_pem"]

logger = logging.getLogger("clerk_async.auth")

# The only algorithms Clerk signs with; anything else is refused before any key is touched.
RSA_ALGORITHMS = frozenset({"RS256", "RS384", "RS512"})

# An instance publishes a handful of keys; a JWKS with more is refused as a whole (the keys
# already known stay in use), which bounds the parsing a hostile or broken answer can cause.
MAX_JWKS_KEYS = 100
# Parsing an RSA key costs about 0.15 ms; more keys than this are parsed in a worker thread
# so the event loop keeps serving requests.
_PARSE_IN_THREAD_ABOVE = 8

Fetch = Callable[[], Awaitable[JWKS]]

# The verifier's own description of the JWKS call, so it can carry its own short timeout and
# body cap through the client's one request path.
JWKS_OPERATION = Operation("jwks.get_jwks", "GET", "/jwks", response=JWKS)


# A JWKS is a few kB; a megabyte is far beyond any real one.
JWKS_MAX_BYTES = 1024 * 1024
DEFAULT_JWKS_TIMEOUT = 5.0


async def fetch_jwks(pool: Pool, config: Config, timeout: float) -> JWKS:
    """Fetch the instance's JWKS through the request path of the pool and config given, with
    its own short timeout and body cap (and no retry: the cache has its own cooldowns)."""
    from .._config import CallOptions, Timeout
    from .._retry import NO_RETRY
    from .._transport import request

    options = CallOptions(
        timeout=Timeout(total=timeout, connect=timeout),
        retries=NO_RETRY,
        max_response_bytes=JWKS_MAX_BYTES,
    )
    return await request(pool, config, JWKS_OPERATION, options=options)


class PublicKey:
    """An RSA public key ready to verify with, and the algorithm it is bound to (if any)."""

    __slots__ = ("alg", "jwk", "kid")

    def __init__(self, jwk: RSAKey, *, kid: str | None = None, alg: str | None = None) -> None:
        self.jwk = jwk
        self.kid = kid
        self.alg = alg

    def __repr__(self) -> str:
        return f"PublicKey(kid={self.kid!r}, alg={self.alg!r})"


@functools.lru_cache(maxsize=16)
def parse_pem(pem: str) -> PublicKey:
    """Parse a PEM public key (the instance's "JWT public key"), once per distinct string.

    Clerk's dashboard shows the key on one line; the body is re-wrapped so that form works too.
    """
    text = pem.strip()
    if "-----BEGIN" not in text:
        body = "".join(text.split())
        text = "-----BEGIN PUBLIC KEY-----\n" + body + "\n-----END PUBLIC KEY-----"
    elif "\n" not in text:
        _, _, rest = text.partition("-----BEGIN PUBLIC KEY-----")
        body, _, _ = rest.partition("-----END PUBLIC KEY-----")
        text = "-----BEGIN PUBLIC KEY-----\n" + "".join(body.split()) + "\n-----END PUBLIC KEY-----"
    try:
        key = RSAKey.import_key(text)
    except (JoseError, ValueError, TypeError) as exc:
        raise TokenVerificationError(
            "jwk-failed-to-load", "jwt_key is not an RSA public key"
        ) from exc
    if key.is_private:
        # Never keep private material around for verification.
        key = RSAKey.import_key(key.as_dict(private=False))
    return PublicKey(key)


def parse_jwks(jwks: JWKS) -> dict[str, PublicKey]:
    """The usable RSA signing keys of a JWKS, by key id; others are skipped.

    A key marked for another use (``use`` other than ``sig``, such as ``enc``) never verifies
    a signature.

    Raises:
        ValueError: the JWKS lists more than :data:`MAX_JWKS_KEYS` keys.
    """
    items = jwks.keys or ()
    if len(items) > MAX_JWKS_KEYS:
        raise ValueError(f"the JWKS lists {len(items)} keys, more than {MAX_JWKS_KEYS}")
    keys: dict[str, PublicKey] = {}
    for item in items:
        if item.kty != "RSA" or not item.n or not item.e or not item.kid:
            continue
        if item.use not in (None, "", "sig"):
            continue
        try:
            jwk = RSAKey.import_key({"kty": "RSA", "n": item.n, "e": item.e})
        except (JoseError, ValueError, TypeError):
            logger.warning("skipping a malformed JWKS key (kid %s)", item.kid)
            continue
        alg = item.alg if item.alg else None
        keys[item.kid] = PublicKey(jwk, kid=item.kid, alg=alg)
    return keys


class JWKSCache:
    """The parsed JWKS of one Clerk instance.

    Args:
        ttl: how long fetched keys are fresh, in seconds. Past it, the known keys keep
            verifying while one refresh runs in the background; no request waits for it.
        refetch_cooldown: the least time between two fetches caused by an unknown key id, and
            the wait before retrying a failed refresh while older keys are still served.
        failure_cooldown: after a failed fetch with no keys at all, how long verifications
            fail at once (``jwk-failed-to-load``) instead of trying again.

    ``fetch_count`` counts the fetches started, which makes the cache's behaviour observable.
    The fetch function (a coroutine function returning the JWKS) is passed per call, so the
    cache holds no reference to a client.
    """

    def __init__(
        self, *, ttl: float = 300.0, refetch_cooldown: float = 60.0, failure_cooldown: float = 5.0
    ) -> None:
        self.ttl = ttl
        self.refetch_cooldown = refetch_cooldown
        self.failure_cooldown = failure_cooldown
        self.fetch_count = 0
        self._keys: dict[str, PublicKey] = {}
        self._expires_at = float("-inf")
        self._last_refetch = float("-inf")
        self._failed_until = float("-inf")
        self._last_error = ""
        self._inflight: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        return f"JWKSCache(keys={sorted(self._keys)!r}, ttl={self.ttl!r})"

    def clear(self) -> None:
        """Forget every key, so the next verification fetches again."""
        self._keys = {}
        self._expires_at = self._last_refetch = self._failed_until = float("-inf")

    def lookup(self, kid: str) -> PublicKey | None:
        """The key, when it is cached and fresh: the synchronous hot path."""
        if time.monotonic() < self._expires_at:
            return self._keys.get(kid)
        return None

    async def load(self, fetch: Fetch) -> None:
        """Fetch and parse the JWKS now (one fetch shared with any already running).

        Call it at start-up to warm the cache, so the first request neither waits for the
        fetch nor pays for loading the crypto code.

        Raises:
            TokenVerificationError: ``jwk-failed-to-load`` when no key could be loaded.
        """
        await self._refresh(fetch)
        if not self._keys:
            raise self._load_error()

    async def aclose(self) -> None:
        """Stop a background refresh, if one runs; the cached keys stay usable."""
        task = self._inflight
        if task is not None and not task.done() and _same_loop(task):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def get(self, kid: str, fetch: Fetch) -> PublicKey:
        """The key with this id, fetching the JWKS when needed."""
        now = time.monotonic()
        if now >= self._expires_at:
            if self._keys:
                # Stale keys are still Clerk's keys: serve them, refresh behind the request.
                self._refresh_in_background(fetch)
            else:
                if now < self._failed_until:
                    raise self._load_error()
                await self._refresh(fetch)
                if not self._keys:
                    raise self._load_error()
        key = self._keys.get(kid)
        if key is not None:
            return key
        inflight = self._inflight
        if inflight is not None and _same_loop(inflight):
            # A refresh is already on its way; it may bring this key.
            await asyncio.shield(inflight)
        elif time.monotonic() - self._last_refetch >= self.refetch_cooldown:
            await self._refresh(fetch)
        key = self._keys.get(kid)
        if key is None:
            raise TokenVerificationError(
                "jwk-kid-mismatch", f"no JWKS key matches the token's kid {kid!r}"
            )
        return key

    def _start(self, fetch: Fetch) -> asyncio.Task[None]:
        task = self._inflight
        if task is None or task.done() or not _same_loop(task):
            self._last_refetch = time.monotonic()
            task = asyncio.get_running_loop().create_task(self._load(fetch))
            self._inflight = task
        return task

    def _refresh_in_background(self, fetch: Fetch) -> None:
        # Keep the stale keys for one more cooldown whatever happens, so the requests
        # arriving while this refresh runs do not start another one.
        self._expires_at = time.monotonic() + min(self.ttl, self.refetch_cooldown)
        self._start(fetch)

    async def _refresh(self, fetch: Fetch) -> None:
        # Shielded: a caller that is cancelled leaves the shared fetch running for the others.
        await asyncio.shield(self._start(fetch))

    async def _load(self, fetch: Fetch) -> None:
        self.fetch_count += 1
        try:
            jwks = await fetch()
            if len(jwks.keys or ()) > _PARSE_IN_THREAD_ABOVE:
                keys = await asyncio.to_thread(parse_jwks, jwks)
            else:
                keys = parse_jwks(jwks)
            if not keys:
                raise ValueError("the JWKS holds no RSA signing key")
        except Exception as exc:  # any failure is reported through the cache's state
            now = time.monotonic()
            self._last_error = f"{type(exc).__name__}: {exc}"
            if self._keys:
                logger.warning(
                    "refreshing the JWKS failed (%s); still using the %d cached keys",
                    self._last_error,
                    len(self._keys),
                )
                self._expires_at = now + min(self.ttl, self.refetch_cooldown)
            else:
                self._failed_until = now + self.failure_cooldown
        else:
            now = time.monotonic()
            self._keys = keys
            self._expires_at = now + self.ttl
            # Keys fetched a moment ago are current: no refetch for an unknown kid before the
            # cooldown, so a burst of made-up kids costs nothing.
            self._last_refetch = now
        finally:
            if self._inflight is asyncio.current_task():
                self._inflight = None

    def _load_error(self) -> TokenVerificationError:
        detail = f" ({self._last_error})" if self._last_error else ""
        return TokenVerificationError("jwk-failed-to-load", f"could not load the JWKS{detail}")


def _same_loop(task: asyncio.Task[None]) -> bool:
    return task.get_loop() is asyncio.get_running_loop()
