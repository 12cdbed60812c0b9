"""AsyncClerk: configuration, the shared connection pool, and the resources as attributes."""

from __future__ import annotations

import dataclasses
import os
import platform
from collections.abc import Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Literal, TypeVar

import msgspec

from . import _transport
from ._retry import NO_RETRY, RetryConfig
from ._transport import Config, Operation, Pool, Timeout
from ._version import __version__
from .resources import Resources

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Collection, Iterable, Sequence
    from typing import Any

    import aiohttp

    from ._bulk import Outcome
    from .auth._claims import SessionClaims
    from .auth._request import AcceptsToken, RequestState

__all__ = ["API_VERSION", "DEFAULT_SERVER_URL", "AsyncClerk"]

DEFAULT_SERVER_URL = "https://api.clerk.com/v1"
API_VERSION = "2026-05-12"
T = TypeVar("T")
R = TypeVar("R")
_DEFAULT_TIMEOUT = Timeout()
_DEFAULT_RETRY = RetryConfig()
_USER_AGENT = f"clerk_async/{__version__} python/{platform.python_version()}"


class AsyncClerk(Resources):
    """An asyncio client for Clerk's Backend API.

    Every operation is a coroutine on a resource attribute, for example
    ``await clerk.users.get("user_123")``. One aiohttp session (one connection pool) is
    created on first use inside the running event loop and shared by every call, task and
    :meth:`with_options` copy; close it with ``await clerk.aclose()`` or ``async with``.

    Args:
        bearer_auth: the instance's secret key (``sk_live_...`` or ``sk_test_...``). Falls back
            to the ``CLERK_SECRET_KEY`` environment variable; without either, calls that need
            it raise :class:`ClerkConfigurationError`.
        server_url: the API's base URL, without a trailing slash.
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
    """

    def __init__(
        self,
        bearer_auth: str | None = None,
        *,
        server_url: str = DEFAULT_SERVER_URL,
        api_version: str = API_VERSION,
        timeout: float | Timeout = _DEFAULT_TIMEOUT,
        retry: RetryConfig | Literal[False] = _DEFAULT_RETRY,
        max_connections: int = 100,
        max_concurrency: int | None = None,
        session: aiohttp.ClientSession | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        if max_connections < 1:
            raise ValueError("max_connections must be at least 1")
        if max_concurrency is not None and max_concurrency < 1:
            raise ValueError("max_concurrency must be at least 1, or None for the default")
        if max_concurrency is None and session is None:
            # Queueing in our limiter costs no timeout; queueing in aiohttp's pool would count
            # against each attempt's connect timeout, so a large gather would time out.
            max_concurrency = max_connections
        key = bearer_auth if bearer_auth is not None else os.environ.get("CLERK_SECRET_KEY")
        self._config = Config(
            server_url=server_url.rstrip("/"),
            bearer_auth=key or None,
            api_version=api_version,
            timeout=Timeout.coerce(timeout),
            retry=retry or NO_RETRY,
            headers=_default_headers(api_version, headers),
        )
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

    def with_options(
        self,
        *,
        timeout: float | Timeout | None = None,
        retry: RetryConfig | Literal[False] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> AsyncClerk:
        """A copy with other defaults that shares this client's connection pool.

        The copy is cheap to make, for example per request or per job; it lives as long as
        this client, and closing it does not close the shared pool.
        """
        copy = object.__new__(type(self))
        copy._config = dataclasses.replace(
            self._config,
            timeout=Timeout.coerce(timeout) if timeout is not None else self._config.timeout,
            retry=self._config.retry if retry is None else (retry or NO_RETRY),
            headers={**self._config.headers, **(headers or {})},
        )
        copy._pool = self._pool
        copy._owns_pool = False
        return copy

    async def aclose(self) -> None:
        """Close the connection pool (unless it was passed in). Later calls raise
        :class:`ClerkClosedError`. Closing a :meth:`with_options` copy does nothing."""
        if self._owns_pool:
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
        timeout: float | Timeout | None = None,
        retries: RetryConfig | Literal[False] | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> T:
        return await _transport.request(
            self._pool,
            self._config,
            op,
            path_args,
            query,
            body,
            timeout=timeout,
            retries=retries,
            extra_headers=extra_headers,
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
        from .auth._verify import verify_token_with_client

        return await verify_token_with_client(
            self,
            token,
            jwt_key=jwt_key,
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
    ) -> RequestState:
        """Authenticate an incoming request; never raises for a bad token.

        See :func:`clerk_async.auth.authenticate_request`.
        """
        from .auth._request import authenticate_request

        return await authenticate_request(
            self,
            request,
            authorized_parties=authorized_parties,
            audience=audience,
            accepts_token=accepts_token,
            jwt_key=jwt_key,
            clock_skew=clock_skew,
            treat_pending_as_signed_out=treat_pending_as_signed_out,
        )


def _default_headers(api_version: str, extra: Mapping[str, str] | None) -> dict[str, str]:
    headers = {
        "Clerk-API-Version": api_version,
        "User-Agent": _USER_AGENT,
        "Accept": "application/json",
    }
    headers.update(extra or {})
    return headers


def _mask(key: str | None) -> str:
    """Show which kind of key is set, never the key itself."""
    if not key:
        return "None"
    prefix = "_".join(key.split("_")[:2]) + "_" if key.count("_") >= 2 else ""
    return f"'{prefix}***'"
