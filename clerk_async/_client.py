"""AsyncClerk: configuration, the shared connection pool, and the resources as attributes."""

from __future__ import annotations

import dataclasses
import functools
import os
from collections.abc import Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Literal, TypeVar

import msgspec

from . import _transport
from ._config import (
    API_VERSION,
    DEFAULT_MAX_RESPONSE_BYTES,
    DEFAULT_OPTIONS,
    DEFAULT_RETRY,
    DEFAULT_SERVER_URL,
    DEFAULT_TIMEOUT,
    CallOptions,
    Pool,
    Timeout,
    check_headers,
    make_config,
    resolve_retry,
    server_url_from_environment,
)
from ._retry import RetryConfig
from .resources import Resources

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Collection, Iterable, Sequence
    from typing import Any

    import aiohttp

    from ._bulk import Outcome
    from ._operation import Operation
    from .auth._claims import SessionClaims
    from .auth._keys import JWKSCache
    from .auth._machine_cache import MachineTokenCache
    from .auth._request import AcceptsToken, RequestState
    from .auth._verify import Keys
    from .ratelimit import RateLimiter

__all__ = ["API_VERSION", "DEFAULT_SERVER_URL", "AsyncClerk"]

T = TypeVar("T")
R = TypeVar("R")


class AsyncClerk(Resources):
    """An asyncio client for Clerk's Backend API.

    Every operation is a coroutine on a resource attribute, for example
    ``await clerk.users.get("user_123")``. One aiohttp session (one connection pool) is
    created on first use inside the running event loop and shared by every call, task and
    :meth:`with_options` copy; close it with ``await clerk.aclose()`` or ``async with``.

    Args:
        bearer_auth: the instance's secret key (``sk_live_...`` or ``sk_test_...``). Falls back
            to the ``CLERK_SECRET_KEY`` environment variable; without either, calls that need
            it raise :class:`ClerkConfigurationError`. Surrounding whitespace is removed.
        server_url: the API's base URL; falls back to ``CLERK_API_URL`` (as Clerk's other
            SDKs read it: an origin such as ``https://api.clerk.com`` gets ``/v1``), then
            Clerk's API.
            It must be ``https`` (plain ``http`` only for a loopback host) and carry no
            credentials, query or fragment.
        api_version: the ``Clerk-API-Version`` header sent with every call.
        timeout: the limit for each attempt, in seconds or as a :class:`Timeout`.
        retry: the default :class:`RetryConfig`; ``False`` disables retries.
        max_connections: the size of the connection pool.
        max_concurrency: at most this many requests in flight at once, however many tasks
            call; the others queue in order without holding a connection and without their
            wait counting against any timeout. Defaults to ``max_connections``; with your own
            ``session`` it defaults to no limit (the session's connector limits instead).
            See docs/bulk.md for how it meets the pool and 429 retries.
        session: an aiohttp session to send on instead of our own. It is never closed by us,
            and ``max_connections`` does not apply to it.
        headers: extra headers sent with every call.
        rate_limit: a limiter every request waits for before it is sent (see
            :mod:`clerk_async.ratelimit`), shared with any other client given the same
            object; ``"auto"`` picks Clerk's documented budget from the secret key's prefix.
            Whatever this is, a 429 with ``Retry-After`` closes that endpoint to every call
            of the client until the time has passed (docs/rate-limits.md).
        max_response_bytes: the largest answer body accepted, counted after decompression;
            a larger one raises :class:`ClerkResponseTooLargeError`.
        jwt_key: the instance's PEM public key, to verify session tokens without fetching
            the JWKS; falls back to the ``CLERK_JWT_KEY`` environment variable.
        jwks_timeout: the limit, in seconds, for fetching the JWKS when verifying tokens.

    Raises:
        ClerkConfigurationError: an unsafe ``server_url``, or a publishable key given as the
            secret key.
        TypeError, ValueError: any other argument of the wrong type or range.
    """

    def __init__(
        self,
        bearer_auth: str | None = None,
        *,
        server_url: str | None = None,
        api_version: str = API_VERSION,
        timeout: float | Timeout = DEFAULT_TIMEOUT,
        retry: RetryConfig | Literal[False] = DEFAULT_RETRY,
        max_connections: int = 100,
        max_concurrency: int | None = None,
        session: aiohttp.ClientSession | None = None,
        headers: Mapping[str, str] | None = None,
        rate_limit: RateLimiter | Literal["auto"] | None = None,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        jwt_key: str | None = None,
        jwks_timeout: float = 5.0,
    ) -> None:
        _check_count("max_connections", max_connections)
        if max_concurrency is not None:
            _check_count("max_concurrency", max_concurrency)
        elif session is None:
            # Queueing in our limiter costs no timeout; queueing in aiohttp's pool would count
            # against each attempt's connect timeout, so a large gather would time out.
            max_concurrency = max_connections
        key = bearer_auth if bearer_auth is not None else os.environ.get("CLERK_SECRET_KEY")
        self._config = make_config(
            server_url=server_url or server_url_from_environment(),
            bearer_auth=key,
            api_version=api_version,
            timeout=timeout,
            retry=retry,
            headers=headers,
            max_response_bytes=max_response_bytes,
            rate_limit=_rate_limiter(rate_limit, key),
        )
        self._jwt_key = jwt_key if jwt_key is not None else os.environ.get("CLERK_JWT_KEY") or None
        self._jwks_timeout = _seconds("jwks_timeout", jwks_timeout)
        self._pool = Pool(
            session=session, max_connections=max_connections, max_concurrency=max_concurrency
        )
        self._owns_pool = True

    @property
    def server_url(self) -> str:
        return self._config.server_url

    @property
    def api_version(self) -> str:
        return self._config.api_version

    @property
    def timeout(self) -> Timeout:
        return self._config.timeout

    @property
    def retry(self) -> RetryConfig:
        return self._config.retry

    @property
    def rate_limit(self) -> RateLimiter | None:
        """The limiter every request of this client waits for, if any."""
        return self._config.rate_limit

    @property
    def rate_limit_wait(self) -> float:
        """Seconds the calls of this client and its copies have spent, in all, waiting at the
        429 gate or for the rate limiter (a measure of how hard a job ran into the limits)."""
        return self._pool.rate_limit_wait

    def with_options(
        self,
        *,
        timeout: float | Timeout | None = None,
        retry: RetryConfig | Literal[False] | None = None,
        headers: Mapping[str, str] | None = None,
        rate_limit: RateLimiter | Literal["auto"] | None = None,
    ) -> AsyncClerk:
        """A copy with other defaults that shares this client's connection pool.

        The copy is cheap to make, for example per request or per job; it lives as long as
        this client, and closing it does not close the shared pool. It shares the pool's
        429 gate and JWKS cache too.
        """
        copy = object.__new__(type(self))
        config = self._config
        copy._config = dataclasses.replace(
            config,
            timeout=Timeout.coerce(timeout) if timeout is not None else config.timeout,
            retry=resolve_retry(retry, config.retry, "retry"),
            headers={**config.headers, **check_headers(headers, "headers")},
            rate_limit=(
                config.rate_limit
                if rate_limit is None
                else _rate_limiter(rate_limit, config.bearer_auth)
            ),
        )
        copy._jwt_key = self._jwt_key
        copy._jwks_timeout = self._jwks_timeout
        copy._pool = self._pool
        copy._owns_pool = False
        return copy

    async def aclose(self) -> None:
        """Close the connection pool (unless it was passed in). Later calls raise
        :class:`ClerkClosedError`. Closing a :meth:`with_options` copy does nothing."""
        if self._owns_pool:
            if self._pool.jwks is not None:
                await self._pool.jwks.aclose()
            await self._pool.close()

    async def __aenter__(self) -> AsyncClerk:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return (
            f"AsyncClerk(server_url={self._config.server_url!r},"
            f" api_version={self._config.api_version!r},"
            f" bearer_auth={_mask(self._config.bearer_auth)})"
        )

    async def _request(
        self,
        op: Operation[T],
        path_args: Sequence[object] = (),
        query: Mapping[str, object] | None = None,
        body: object = msgspec.UNSET,
        *,
        options: CallOptions = DEFAULT_OPTIONS,
    ) -> T:
        return await _transport.request(
            self._pool, self._config, op, path_args, query, body, options
        )

    async def map(
        self,
        fn: Callable[[T], Awaitable[R]],
        items: Iterable[T],
        *,
        concurrency: int | None = None,
    ) -> list[Outcome[T, R]]:
        """Apply a coroutine function to every item, a bounded number at a time.

        ::

            outcomes = await clerk.map(clerk.users.ban, user_ids)
            failed = [o for o in outcomes if not o.ok]

        One :class:`Outcome` per item, in the items' order, holds the value returned or the
        exception raised (after that call's own retries): one failure does not stop the job.
        Cancelling the job cancels the calls in flight and raises. Exceptions that are not
        ``Exception`` (cancellation, ``KeyboardInterrupt``) are never captured.

        Args:
            fn: called once per item, for example a resource method.
            items: the items; read into a list first.
            concurrency: at most this many calls of ``fn`` at once. Defaults to the client's
                ``max_concurrency`` (else ``max_connections``), which bounds the requests in
                flight in any case.

        Raises:
            ValueError: when ``concurrency`` is not a positive int (before any call).
        """
        from ._bulk import map_bounded

        return await map_bounded(fn, items, concurrency or self._pool.capacity)

    @property
    def jwks_cache(self) -> JWKSCache:
        """The instance's cached JWKS, shared by this client and its :meth:`with_options`
        copies; see :class:`clerk_async.auth.JWKSCache`."""
        pool = self._pool
        if pool.jwks is None:
            from .auth._keys import JWKSCache

            pool.jwks = JWKSCache()
        return pool.jwks

    async def prefetch_jwks(self) -> None:
        """Fetch and parse the instance's JWKS now, so the first verification does not wait.

        Call it at start-up (for example in a FastAPI lifespan); it also loads the crypto
        libraries. Does nothing with a ``jwt_key``, which needs no fetch.

        Raises:
            TokenVerificationError: ``jwk-failed-to-load`` when the JWKS cannot be fetched.
        """
        if self._jwt_key is None:
            await self._verification_keys(None).load()

    def _verification_keys(self, jwt_key: str | None) -> Keys:
        from .auth._verify import Keys

        jwt_key = jwt_key if jwt_key is not None else self._jwt_key
        if jwt_key is not None:
            return Keys.from_pem(jwt_key)
        from .auth._keys import fetch_jwks

        fetch = functools.partial(fetch_jwks, self._pool, self._config, self._jwks_timeout)
        return Keys(cache=self.jwks_cache, fetch=fetch)

    async def verify_token(
        self,
        token: str,
        *,
        jwt_key: str | None = None,
        authorized_parties: Collection[str] | None = None,
        audience: str | Iterable[str] | None = None,
        clock_skew: float = 5.0,
    ) -> SessionClaims:
        """Verify a session token with this client's key, pool and JWKS cache.

        See :func:`clerk_async.auth.verify_token`; raises :class:`TokenVerificationError`.
        """
        from .auth._verify import verify_with_keys

        return await verify_with_keys(
            token,
            self._verification_keys(jwt_key),
            authorized_parties=authorized_parties,
            audience=audience,
            clock_skew=clock_skew,
        )

    async def authenticate_request(
        self,
        request: Any,
        *,
        authorized_parties: Collection[str] | None = None,
        audience: str | Iterable[str] | None = None,
        accepts_token: AcceptsToken = "session_token",
        jwt_key: str | None = None,
        clock_skew: float = 5.0,
        treat_pending_as_signed_out: bool = True,
        machine_token_cache: MachineTokenCache | None = None,
    ) -> RequestState:
        """Authenticate an incoming request; never raises for a bad token.

        See :func:`clerk_async.auth.authenticate_request`.
        """
        from .auth._request import authenticate_with_keys

        return await authenticate_with_keys(
            self,
            self._verification_keys(jwt_key),
            request,
            authorized_parties=authorized_parties,
            audience=audience,
            accepts_token=accepts_token,
            clock_skew=clock_skew,
            treat_pending_as_signed_out=treat_pending_as_signed_out,
            machine_token_cache=machine_token_cache,
            instance=self._config.instance_id,
        )


def _seconds(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number of seconds, not {value!r}")
    if not 0 < value < float("inf"):
        raise ValueError(f"{name} must be a positive, finite number of seconds, not {value!r}")
    return float(value)


def _check_count(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be at least 1")


def _rate_limiter(
    value: RateLimiter | Literal["auto"] | None, key: str | None
) -> RateLimiter | None:
    if value is None:
        return None
    if value == "auto":
        from .ratelimit import RateLimit

        if not key:
            raise ValueError(
                "rate_limit='auto' needs the secret key, to tell production from development"
            )
        return RateLimit.for_secret_key(key.strip())
    from .ratelimit import RateLimiter

    if isinstance(value, str) or not isinstance(value, RateLimiter):
        raise TypeError(f"rate_limit must be a RateLimit, 'auto' or None, not {value!r}")
    return value


def _mask(key: str | None) -> str:
    """Show which kind of key is set, never the key itself."""
    if not key:
        return "None"
    prefix = "_".join(key.split("_")[:2]) + "_" if key.count("_") >= 2 else ""
    return f"'{prefix}***'"
