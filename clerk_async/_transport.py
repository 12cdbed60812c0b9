"""The one request path: build → send → retry → decode → raise.

Every operation is an :class:`Operation` (plain data written by the generator). A resource
method hands its operation and the caller's arguments to :func:`request`, which alone builds the
URL and body, takes a concurrency slot, sends on the shared session, applies the retry policy,
decodes a 2xx body into the declared type and turns everything else into our exceptions.
"""

from __future__ import annotations

import asyncio
import logging
import mimetypes
import os
import re
import time
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import IO, TYPE_CHECKING, Any, Generic, Literal, Protocol, TypeVar
from urllib.parse import quote

import msgspec

from ._errors import (
    ClerkClosedError,
    ClerkConfigurationError,
    ClerkConnectionError,
    ClerkDecodeError,
    ClerkError,
    ClerkTimeoutError,
    api_error,
)
from ._retry import NO_RETRY, RetryConfig, retry_after_seconds

if TYPE_CHECKING:
    import aiohttp
    import anyio

__all__ = ["FileInput", "Operation", "Timeout", "either"]

logger = logging.getLogger("clerk_async")

FileInput = bytes | bytearray | IO[bytes] | os.PathLike[str] | str | tuple[str, bytes, str]
"""What a multipart file field accepts: bytes, a binary file object, a path, or
``(filename, content, content_type)``."""

_PLACEHOLDER = re.compile(r"\{([^}]+)\}")
T = TypeVar("T")
A = TypeVar("A")
B = TypeVar("B")


@dataclass(frozen=True)
class Timeout:
    """Limits for one attempt, in seconds; ``None`` means no limit.

    Attributes:
        total: the whole attempt, from taking a connection to reading the last byte.
        connect: opening a connection (or waiting for a free one in the pool).
    """

    total: float | None = 60.0
    connect: float | None = 10.0

    @classmethod
    def coerce(cls, value: float | Timeout) -> Timeout:
        if isinstance(value, Timeout):
            return value
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            raise TypeError(f"timeout must be a positive number of seconds or a Timeout, not {value!r}")
        return cls(total=float(value), connect=min(float(value), cls.connect or float(value)))


def either(first: type[A], second: type[B]) -> type[A | B]:
    """An ``Operation.response`` for an answer that comes in one of two shapes, a JSON array or
    a JSON object; msgspec tells which from the JSON itself."""
    return first | second  # type: ignore[return-value]  # a union is a type to msgspec


@dataclass(frozen=True)
class Operation(Generic[T]):
    """Everything the transport needs to know about one Backend API operation.

    Attributes:
        name: ``resource.method``, used in errors and logs.
        method: the HTTP method.
        path: the path template, with ``{name}`` placeholders in path-parameter order.
        response: the type a 2xx body decodes into; ``None`` when the body is ignored.
        body: ``"json"``, ``"multipart"`` or ``None`` for no body.
        files: the multipart fields that carry a file; the others are plain form fields.
        joined_query: query parameters whose lists are sent comma-separated in one pair
            (``explode: false`` in the spec) rather than as repeated pairs.
        empty_body: send ``{}`` when no body field is given (the body is required).
        authenticated: whether the call needs the secret key.
        deprecated: emit a ``DeprecationWarning`` on every call.
        items_key: for a list operation whose answer is an object, the key of its item
            array (see :mod:`clerk_async._pagination`).
    """

    name: str
    method: str
    path: str
    response: type[T] | None = None
    body: Literal["json", "multipart"] | None = None
    files: tuple[str, ...] = ()
    joined_query: tuple[str, ...] = ()
    empty_body: bool = False
    authenticated: bool = True
    deprecated: bool = False
    items_key: str = "data"
    path_params: tuple[str, ...] = field(init=False, repr=False)
    _path_format: str = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "path_params", tuple(_PLACEHOLDER.findall(self.path)))
        object.__setattr__(self, "_path_format", _PLACEHOLDER.sub("{}", self.path))

    @cached_property
    def decoder(self) -> msgspec.json.Decoder[T]:
        """Built on first use: building it resolves the model's annotations."""
        return msgspec.json.Decoder(self.response)

    def warn_deprecated(self, stacklevel: int) -> None:
        """Warn that this operation is deprecated, at ``stacklevel`` frames above the caller."""
        warnings.warn(
            f"{self.name} is deprecated by Clerk and may be removed; see its docstring",
            DeprecationWarning,
            stacklevel=stacklevel + 1,
        )

    def format_path(self, values: Sequence[object]) -> str:
        escaped = []
        for name, value in zip(self.path_params, values, strict=True):
            if not isinstance(value, str):
                raise TypeError(f"{self.name}: {name} must be a str, not {type(value).__name__}")
            if not value:
                raise ValueError(f"{self.name}: {name} must not be empty")
            escaped.append(quote(value, safe=""))
        return self._path_format.format(*escaped)


@dataclass(frozen=True)
class Config:
    """The settings one client (or one ``with_options`` copy) sends requests with."""

    server_url: str
    bearer_auth: str | None
    api_version: str
    timeout: Timeout
    retry: RetryConfig
    headers: Mapping[str, str]


class Pool:
    """The aiohttp session and concurrency limit shared by a client and all its copies.

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


_json_encode = msgspec.json.Encoder().encode


class _AttemptFailed(Exception):
    """A transport failure, and whether it happened before the request could reach Clerk."""

    def __init__(self, error: ClerkConnectionError, *, before_send: bool) -> None:
        self.error = error
        self.before_send = before_send


class Requester(Protocol):
    """The signature of ``AsyncClerk._request``, which every resource method calls."""

    async def __call__(
        self,
        op: Operation[T],
        path_args: Sequence[object] = (),
        query: Mapping[str, object] | None = None,
        body: object = msgspec.UNSET,
        *,
        timeout: float | Timeout | None = None,
        retries: RetryConfig | Literal[False] | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> T: ...


async def request(
    pool: Pool,
    config: Config,
    op: Operation[T],
    path_args: Sequence[object] = (),
    query: Mapping[str, object] | None = None,
    body: object = msgspec.UNSET,
    *,
    timeout: float | Timeout | None = None,
    retries: RetryConfig | Literal[False] | None = None,
    extra_headers: Mapping[str, str] | None = None,
) -> T:
    """Send one operation and return its decoded answer; see the module docstring."""
    if op.deprecated:
        op.warn_deprecated(stacklevel=4)  # request() <- AsyncClerk._request <- method <- caller
    url = config.server_url + op.format_path(path_args)
    params = _query_pairs(query, op.joined_query) if query else None
    headers = _headers(config, op, extra_headers)
    payload = await _payload(op, body, headers)
    attempt_timeout = Timeout.coerce(timeout) if timeout is not None else config.timeout
    policy = config.retry if retries is None else (retries or NO_RETRY)
    session = pool.session()

    started = time.monotonic()
    deadline = started + policy.total_timeout if policy.total_timeout is not None else None
    waits: Iterator[float] | None = None  # built on the first retry: most calls never need it
    attempt = 0
    while True:
        attempt += 1
        retry_after: float | None = None
        try:
            status, response_headers, data = await _attempt(
                session, pool.limiter(), op, url, params, headers, payload, attempt_timeout, deadline
            )
        except _AttemptFailed as failed:
            error: ClerkError = failed.error
            retryable = failed.before_send or policy.allows_unsafe(op.method)
            outcome = type(failed.error).__name__
        else:
            if 200 <= status < 300:
                _log_attempt(op, url, attempt, str(status), None)
                return _decode(op, status, data)
            retry_after = retry_after_seconds(response_headers)
            error = api_error(
                status,
                response_headers,
                data,
                operation=op.name,
                attempts=attempt,
                retry_after=retry_after,
            )
            retryable = policy.should_retry_status(status, op.method)
            outcome = str(status)

        if not retryable or attempt > policy.max_retries:
            _log_attempt(op, url, attempt, outcome, None)
            raise _final(error, attempt)
        if retry_after is not None:
            delay = min(retry_after, policy.max_delay)
            # Retrying before the wait Clerk asked for would most likely be refused again, so
            # a wait beyond the budget ends the call now rather than after a futile attempt.
            needed = retry_after
        else:
            if waits is None:
                waits = policy.waits()
            delay = needed = policy.jittered(next(waits))
        if deadline is not None and time.monotonic() + needed > deadline:
            _log_attempt(op, url, attempt, outcome + ", retry budget exhausted", None)
            raise _final(error, attempt)
        _log_attempt(op, url, attempt, outcome, delay)
        await asyncio.sleep(delay)


async def _attempt(
    session: aiohttp.ClientSession,
    limiter: anyio.CapacityLimiter | None,
    op: Operation[Any],
    url: str,
    params: list[tuple[str, str]] | None,
    headers: dict[str, str],
    payload: bytes | list[_Part] | None,
    timeout: Timeout,
    deadline: float | None,
) -> tuple[int, Mapping[str, str], bytes]:
    import aiohttp

    total = timeout.total
    if deadline is not None:
        remaining = max(deadline - time.monotonic(), 0.001)
        total = remaining if total is None else min(total, remaining)
    client_timeout = aiohttp.ClientTimeout(total=total, connect=timeout.connect)
    data = _form(payload) if isinstance(payload, list) else payload
    try:
        if limiter is None:
            return await _send(session, op, url, params, headers, data, client_timeout)
        async with limiter:
            return await _send(session, op, url, params, headers, data, client_timeout)
    except aiohttp.ConnectionTimeoutError as exc:
        raise _AttemptFailed(
            _chain(ClerkTimeoutError(
                f"{op.name}: timed out connecting to {_origin(url)} after {timeout.connect}s;"
                " raise `timeout=` or check the network",
                operation=op.name,
            ), exc),
            before_send=True,
        ) from None
    except aiohttp.ClientConnectorError as exc:
        raise _AttemptFailed(
            _chain(ClerkConnectionError(
                f"{op.name}: could not connect to {_origin(url)}: {exc.os_error or exc}",
                operation=op.name,
            ), exc),
            before_send=True,
        ) from None
    except (asyncio.TimeoutError, aiohttp.ServerTimeoutError) as exc:
        raise _AttemptFailed(
            _chain(ClerkTimeoutError(
                f"{op.name}: no complete answer within {_seconds(total)}; raise `timeout=` if"
                " the call is expected to be slow",
                operation=op.name,
            ), exc),
            before_send=False,
        ) from None
    except aiohttp.ClientError as exc:
        raise _AttemptFailed(
            _chain(ClerkConnectionError(
                f"{op.name}: the connection failed before a complete answer came:"
                f" {type(exc).__name__}: {exc}",
                operation=op.name,
            ), exc),
            before_send=False,
        ) from None


async def _send(
    session: aiohttp.ClientSession,
    op: Operation[Any],
    url: str,
    params: list[tuple[str, str]] | None,
    headers: dict[str, str],
    data: Any,
    timeout: aiohttp.ClientTimeout,
) -> tuple[int, Mapping[str, str], bytes]:
    async with session.request(
        op.method, url, params=params, data=data, headers=headers, timeout=timeout,
        allow_redirects=False,
    ) as response:
        return response.status, response.headers, await response.read()


def _final(error: ClerkError, attempts: int) -> ClerkError:
    """The error to raise after the last attempt, knowing how many attempts were made.

    API errors are built with their attempt count; a transport error is built by the attempt
    that failed, before anyone knows it will be the last.
    """
    if isinstance(error, ClerkConnectionError):
        error.attempts = attempts
    return error


def _chain(error: ClerkConnectionError, cause: BaseException) -> ClerkConnectionError:
    error.__cause__ = cause
    return error


def _seconds(value: float | None) -> str:
    return "the time allowed" if value is None else f"{value:g}s"


def _origin(url: str) -> str:
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}"


def _decode(op: Operation[T], status: int, data: bytes) -> T:
    if op.response is None:
        return None  # type: ignore[return-value]  # Operation[None]: the body is ignored
    try:
        return op.decoder.decode(data)
    except msgspec.MsgspecError as exc:
        raise ClerkDecodeError(
            f"{op.name}: HTTP {status} answer does not match the expected model: {exc}",
            operation=op.name,
            body=data,
            status=status,
        ) from exc


def _headers(config: Config, op: Operation[Any], extra: Mapping[str, str] | None) -> dict[str, str]:
    headers = dict(config.headers)
    if op.authenticated:
        if not config.bearer_auth:
            raise ClerkConfigurationError(
                f"{op.name} needs a Clerk secret key: pass AsyncClerk(bearer_auth='sk_...')"
                " or set the CLERK_SECRET_KEY environment variable"
            )
        headers["Authorization"] = "Bearer " + config.bearer_auth
    if extra:
        headers.update(extra)
    return headers


def _query_pairs(query: Mapping[str, object], joined: tuple[str, ...]) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for name, value in query.items():
        if value is msgspec.UNSET or value is None:
            continue
        if isinstance(value, (list, tuple)) and name in joined:
            pairs.append((name, ",".join(_query_value(item) for item in value)))
        elif isinstance(value, (list, tuple)):
            pairs.extend((name, _query_value(item)) for item in value)
        else:
            pairs.append((name, _query_value(value)))
    return pairs


def _query_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


async def _payload(op: Operation[Any], body: object, headers: dict[str, str]) -> bytes | list[_Part] | None:
    if op.body is None:
        return None
    if isinstance(body, dict):
        body = {name: value for name, value in body.items() if value is not msgspec.UNSET}
        if not body and not op.empty_body:
            return None
    elif body is msgspec.UNSET:
        return None
    if op.body == "multipart":
        assert isinstance(body, dict)
        return [
            await _Part.file(op, name, value) if name in op.files else _Part(name, _query_value(value))
            for name, value in body.items()
        ]
    headers["Content-Type"] = "application/json"
    try:
        return _json_encode(body)
    except (TypeError, msgspec.EncodeError) as exc:
        raise TypeError(f"{op.name}: the request body cannot be encoded as JSON: {exc}") from exc


@dataclass(frozen=True)
class _Part:
    """One multipart field, read into memory so that a retry can send it again."""

    name: str
    value: bytes | str
    filename: str | None = None
    content_type: str | None = None

    @classmethod
    async def file(cls, op: Operation[Any], name: str, value: object) -> _Part:
        if isinstance(value, tuple):
            filename, content, content_type = value
            return cls(name, bytes(content), filename, content_type)
        if isinstance(value, (bytes, bytearray)):
            content = bytes(value)
            filename = name
        elif isinstance(value, (str, os.PathLike)):
            path = os.fspath(value)
            try:
                content = await asyncio.to_thread(_read_file, path)
            except OSError as exc:
                raise ClerkError(f"{op.name}: cannot read {name} from {path!r}: {exc}") from exc
            filename = os.path.basename(path)
        elif hasattr(value, "read"):
            content = value.read()
            if not isinstance(content, bytes):
                raise TypeError(f"{op.name}: {name} must be opened in binary mode ('rb')")
            filename = os.path.basename(str(getattr(value, "name", name)))
        else:
            raise TypeError(
                f"{op.name}: {name} must be bytes, a binary file, a path or"
                f" (filename, content, content_type), not {type(value).__name__}"
            )
        content_type = _sniff(content) or mimetypes.guess_type(filename)[0]
        if content_type and "." not in filename:
            filename += mimetypes.guess_extension(content_type) or ""
        return cls(name, content, filename, content_type or "application/octet-stream")


def _read_file(path: str) -> bytes:
    with open(path, "rb") as file:
        return file.read()


_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)


def _sniff(content: bytes) -> str | None:
    for magic, content_type in _SIGNATURES:
        if content.startswith(magic):
            return content_type
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "image/webp"
    return None


def _form(parts: list[_Part]) -> aiohttp.FormData:
    import aiohttp

    form = aiohttp.FormData()
    for part in parts:
        form.add_field(part.name, part.value, filename=part.filename, content_type=part.content_type)
    return form


def _log_attempt(op: Operation[Any], url: str, attempt: int, outcome: str, delay: float | None) -> None:
    if not logger.isEnabledFor(logging.DEBUG):
        return
    path = url.split("://", 1)[-1].partition("/")[2]
    if delay is None:
        logger.debug("%s %s /%s attempt %d: %s", op.name, op.method, path, attempt, outcome)
    else:
        logger.debug(
            "%s %s /%s attempt %d: %s, retrying in %.3fs",
            op.name, op.method, path, attempt, outcome, delay,
        )
