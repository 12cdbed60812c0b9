"""What a call is sent with: the client's settings, one call's options, and the shared pool.

Everything a user configures is checked here, at construction, so a bad value fails where it
was written and not later inside a request.
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import math
import os
import platform
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from ._errors import ClerkClosedError, ClerkConfigurationError, ClerkError
from ._retry import NO_RETRY, RetryConfig
from ._version import __version__

if TYPE_CHECKING:
    import aiohttp
    import anyio

    from ._transport import Sender
    from .auth._keys import JWKSCache
    from .ratelimit import RateLimiter

__all__ = [
    "API_VERSION",
    "DEFAULT_MAX_RESPONSE_BYTES",
    "DEFAULT_RETRY",
    "DEFAULT_SERVER_URL",
    "DEFAULT_TIMEOUT",
    "CallOptions",
    "Config",
    "Pool",
    "Timeout",
    "check_headers",
    "check_secret_key",
    "check_server_url",
    "make_config",
    "resolve_retry",
    "server_url_from_environment",
]

DEFAULT_SERVER_URL = "https://api.clerk.com/v1"
API_VERSION = "2026-05-12"
DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024
_USER_AGENT = f"clerk_async/{__version__} python/{platform.python_version()}"
_FORBIDDEN_IN_HEADERS = ("\r", "\n", "\x00")


def _positive(value: object) -> bool:
    return (
        not isinstance(value, bool)
        and isinstance(value, (int, float))
        and math.isfinite(value)
        and value > 0
    )


@dataclass(frozen=True)
class Timeout:
    """Limits for one attempt, in seconds; ``None`` means no limit.

    Attributes:
        total: the whole attempt, from taking a connection to reading the last byte.
        connect: opening a connection (or waiting for a free one in the pool).
    """

    total: float | None = 60.0
    connect: float | None = 10.0

    def __post_init__(self) -> None:
        for name in ("total", "connect"):
            value = getattr(self, name)
            if value is not None and not _positive(value):
                raise ValueError(f"Timeout.{name} must be a positive number of seconds or None")

    @classmethod
    def coerce(cls, value: float | Timeout) -> Timeout:
        """A :class:`Timeout` from seconds (the whole attempt) or a :class:`Timeout`."""
        if isinstance(value, Timeout):
            return value
        if not _positive(value):
            raise TypeError(
                f"timeout must be a positive number of seconds or a Timeout, not {value!r}"
            )
        return cls(total=float(value), connect=min(float(value), cls.connect or float(value)))


@dataclass(frozen=True, slots=True)
class CallOptions:
    """One call's departures from the client's settings; ``None`` keeps the client's value.

    Resource methods build it from their ``timeout=``, ``retries=`` and ``extra_headers=``
    keywords; it travels unchanged to the attempt that sends the request.
    """

    timeout: Timeout | None = None
    retries: RetryConfig | None = None
    extra_headers: Mapping[str, str] | None = field(default=None, repr=False)
    max_response_bytes: int | None = None

    @classmethod
    def of(
        cls,
        *,
        timeout: float | Timeout | None = None,
        retries: RetryConfig | Literal[False] | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> CallOptions:
        """Check and bundle a resource method's per-call keywords."""
        if timeout is None and retries is None and extra_headers is None:
            return DEFAULT_OPTIONS
        return cls(
            timeout=Timeout.coerce(timeout) if timeout is not None else None,
            retries=resolve_retry(retries, None, "retries") if retries is not None else None,
            extra_headers=check_headers(extra_headers, "extra_headers") if extra_headers else None,
        )

    def retry_config(self, default: RetryConfig) -> RetryConfig:
        return default if self.retries is None else self.retries


DEFAULT_OPTIONS = CallOptions()


@dataclass(frozen=True)
class Config:
    """The settings one client (or one ``with_options`` copy) sends requests with.

    The secret key and the headers are left out of the repr: a traceback rendered with its
    local variables must not show them.
    """

    server_url: str
    bearer_auth: str | None = field(repr=False)
    api_version: str
    timeout: Timeout
    retry: RetryConfig
    headers: Mapping[str, str] = field(repr=False)
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES
    rate_limit: RateLimiter | None = None

    @cached_property
    def instance_id(self) -> str:
        """A digest naming the instance these settings reach (server and secret key): safe to
        keep as a cache key, and never the key itself."""
        return hashlib.sha256(f"{self.server_url}\0{self.bearer_auth}".encode()).hexdigest()


DEFAULT_TIMEOUT = Timeout()
DEFAULT_RETRY = RetryConfig()


def make_config(
    *,
    server_url: str = DEFAULT_SERVER_URL,
    bearer_auth: str | None,
    api_version: str = API_VERSION,
    timeout: float | Timeout = DEFAULT_TIMEOUT,
    retry: RetryConfig | Literal[False] = DEFAULT_RETRY,
    headers: Mapping[str, str] | None = None,
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    rate_limit: RateLimiter | None = None,
) -> Config:
    """A :class:`Config` from user-given values, each checked (see the ``check_*`` functions)."""
    if not isinstance(api_version, str) or not api_version.strip():
        raise ValueError("api_version must be a non-empty string such as '2026-05-12'")
    return Config(
        server_url=check_server_url(server_url),
        bearer_auth=check_secret_key(bearer_auth),
        api_version=api_version,
        timeout=Timeout.coerce(timeout),
        retry=resolve_retry(retry, None, "retry"),
        headers=check_headers(
            {
                "Clerk-API-Version": api_version,
                "User-Agent": _USER_AGENT,
                "Accept": "application/json",
                **(headers or {}),
            },
            "headers",
        ),
        max_response_bytes=check_max_response_bytes(max_response_bytes),
        rate_limit=rate_limit,
    )


class Pool:
    """What a client and all its ``with_options`` copies share: the aiohttp session, the
    concurrency limit, the 429 gate and the JWKS cache.

    The session is created on first use inside the running event loop, so a client can be
    built anywhere; one passed in by the caller is used as is and never closed here.
    """

    def __init__(
        self,
        *,
        session: aiohttp.ClientSession | None,
        max_connections: int,
        max_concurrency: int | None,
    ) -> None:
        self._session = session
        self._owns_session = session is None
        self._max_connections = max_connections
        self._max_concurrency = max_concurrency
        self.capacity = max_concurrency or max_connections
        """How many requests this pool is meant to carry at once, for sizing bulk jobs."""
        self._limiter: anyio.CapacityLimiter | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.closed = False
        from .ratelimit._gate import Gate

        self.gate = Gate()
        """The 429 gate: closed per endpoint when Clerk answers 429 with ``Retry-After``."""
        self.rate_limit_wait = 0.0
        """Seconds calls have spent waiting at the gate and the rate limiter, in all."""
        self.jwks: JWKSCache | None = None
        """The instance's keys, for verifying session tokens; created by the client."""
        self.send: Sender | None = None
        """Where requests leave the client; ``None`` sends them with aiohttp. A seam for
        recording or replaying traffic."""

    def session(self) -> aiohttp.ClientSession:
        if self.closed:
            raise ClerkClosedError(
                "this AsyncClerk is closed; create a new client, or keep using it inside its"
                " `async with` block"
            )
        loop = asyncio.get_running_loop()
        if self._loop is None:
            self._loop = loop
        elif self._loop is not loop:
            raise ClerkError(
                "this AsyncClerk was first used in another event loop; create one client per loop"
            )
        if self._session is None:
            import aiohttp

            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._max_connections),
                auto_decompress=True,
            )
            # aiohttp re-sends an idempotent request once on its own when a pooled connection
            # drops; our retry policy decides that, and counts it, or `retries=False` could
            # still send twice.
            if hasattr(self._session, "_retry_connection"):
                self._session._retry_connection = False
        return self._session

    def limiter(self) -> anyio.CapacityLimiter | None:
        if self._max_concurrency is not None and self._limiter is None:
            import anyio

            self._limiter = anyio.CapacityLimiter(self._max_concurrency)
        return self._limiter

    async def close(self) -> None:
        self.closed = True
        session, self._session = self._session, None
        if session is not None and self._owns_session:
            await session.close()

    def __del__(self, _warn: Any = warnings.warn) -> None:
        session = getattr(self, "_session", None)
        if session is not None and self._owns_session and not session.closed:
            _warn(
                "an AsyncClerk was never closed and its connections leaked; use"
                " `async with AsyncClerk(...) as clerk:` or `await clerk.aclose()`",
                ResourceWarning,
                stacklevel=2,
            )


def server_url_from_environment() -> str:
    """``CLERK_API_URL``, read as Clerk's other SDKs read it (an origin, to which ``/v1`` is
    added; a URL with a path is used as is), or Clerk's API when it is not set."""
    value = os.environ.get("CLERK_API_URL", "").strip()
    if not value:
        return DEFAULT_SERVER_URL
    if urlsplit(value).path.strip("/") == "":
        return value.rstrip("/") + "/v1"
    return value


def resolve_retry(
    value: RetryConfig | Literal[False] | None, default: RetryConfig | None, argument: str
) -> RetryConfig:
    """The policy a ``retry``/``retries`` argument stands for: ``False`` is no retry, ``None``
    keeps ``default``.

    Raises:
        TypeError: anything else than a :class:`RetryConfig`, ``False`` or (with a default)
            ``None``.
    """
    if value is False:
        return NO_RETRY
    if isinstance(value, RetryConfig):
        return value
    if value is None and default is not None:
        return default
    raise TypeError(f"{argument} must be a RetryConfig or False, not {value!r}")


def check_server_url(url: str) -> str:
    """The server URL without a trailing slash, if it is safe to send the secret key to.

    Raises:
        ClerkConfigurationError: it is not ``https`` (plain ``http`` is allowed only to a
            loopback host), or it has no host, or it carries credentials, a query or a
            fragment, which would end up in every request.
    """
    if not isinstance(url, str):
        raise TypeError(f"server_url must be a str, not {type(url).__name__}")
    if any(char.isspace() or char == "\x00" for char in url.strip()):
        raise ClerkConfigurationError(f"server_url must not contain whitespace: {url!r}")
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname
        parts.port  # noqa: B018  # parses the port: a bad one raises here, not at the first call
    except ValueError as exc:
        raise ClerkConfigurationError(f"server_url {url!r} is not a valid URL: {exc}") from None
    if parts.scheme not in ("https", "http") or not host:
        raise ClerkConfigurationError(
            f"server_url must be an https URL such as 'https://api.clerk.com/v1', not {url!r}"
        )
    if parts.scheme == "http" and not _is_loopback(host):
        raise ClerkConfigurationError(
            f"server_url {url!r} is plain http: the secret key would travel in clear text;"
            " use https (plain http is allowed only for localhost and 127.0.0.1)"
        )
    if parts.username is not None or parts.password is not None:
        raise ClerkConfigurationError("server_url must not contain a user name or password")
    if parts.query or parts.fragment or url.rstrip().endswith(("?", "#")):
        raise ClerkConfigurationError(f"server_url must not have a query or fragment: {url!r}")
    return url.strip().rstrip("/")


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_secret_key(key: str | None) -> str | None:
    """The secret key without surrounding whitespace, or ``None`` when there is none.

    Raises:
        ClerkConfigurationError: a publishable key was given, or the key holds characters
            that cannot go in a header. The key itself is never part of the message.
    """
    if key is None:
        return None
    if not isinstance(key, str):
        raise TypeError(f"bearer_auth must be a str, not {type(key).__name__}")
    key = key.strip()
    if key.startswith("pk_"):
        raise ClerkConfigurationError(
            "bearer_auth is a publishable key (pk_...), which is meant for browsers; pass the"
            " instance's secret key (sk_live_... or sk_test_...) from the API keys page"
        )
    if any(char in key for char in _FORBIDDEN_IN_HEADERS) or any(char.isspace() for char in key):
        raise ClerkConfigurationError(
            "bearer_auth contains whitespace or control characters; copy the secret key again"
        )
    return key or None


def check_headers(headers: Mapping[str, str] | None, argument: str) -> dict[str, str]:
    """A copy of ``headers`` once every name and value is a string free of CR, LF and NUL,
    which would otherwise split a header and let a value inject others.

    Raises:
        TypeError: a name or value is not a string.
        ValueError: a name or value contains CR, LF or NUL, or a name is empty.
    """
    checked: dict[str, str] = {}
    for name, value in (headers or {}).items():
        if not isinstance(name, str) or not isinstance(value, str):
            raise TypeError(f"{argument}: header names and values must be str, got {name!r}")
        if not name.strip() or any(char in name for char in (*_FORBIDDEN_IN_HEADERS, ":", " ")):
            raise ValueError(f"{argument}: {name!r} is not a valid header name")
        if any(char in value for char in _FORBIDDEN_IN_HEADERS):
            raise ValueError(
                f"{argument}: the value of {name!r} contains CR, LF or NUL, which could inject"
                " other headers"
            )
        checked[name] = value
    return checked


def check_max_response_bytes(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"max_response_bytes must be a positive int, not {value!r}")
    return value
