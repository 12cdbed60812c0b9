"""The one request path: prepare → queue → send → retry → decode → raise.

A resource method hands its :class:`~clerk_async._operation.Operation`, the caller's arguments
and one :class:`~clerk_async._config.CallOptions` to :func:`request`. The request is prepared
once (URL, headers, body); each attempt then queues at the 429 gate, the optional rate limiter
and the concurrency limit, goes out through the pool's narrow ``send`` step, and its outcome is
handed to the call's :class:`~clerk_async._retry.RetrySchedule`, which says how long to wait or
to give up. A 2xx body is decoded into the declared type; everything else becomes one of our
exceptions, carrying the number of attempts made.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import msgspec

from ._config import DEFAULT_OPTIONS, CallOptions, Config, Pool, Timeout
from ._errors import (
    ClerkAPIError,
    ClerkConfigurationError,
    ClerkConnectionError,
    ClerkDecodeError,
    ClerkError,
    ClerkResponseTooLargeError,
    ClerkTimeoutError,
    api_error,
)
from ._multipart import Part, form_data, parts
from ._retry import RetrySchedule, retry_after_seconds

if TYPE_CHECKING:
    import aiohttp
    from yarl import URL

    from ._operation import Operation

__all__ = ["Answer", "Prepared", "Requester", "Sender", "request"]

logger = logging.getLogger("clerk_async")

T = TypeVar("T")
Answer = tuple[int, Mapping[str, str], bytes]
"""What one exchange returns: status, headers and the whole body."""

_json_encode = msgspec.json.Encoder().encode


@dataclass(frozen=True, slots=True)
class Prepared:
    """One request, built once per call and sent as is by every attempt.

    The headers (which carry the secret key) and the body stay out of the repr.
    """

    operation: str
    method: str
    url: URL
    headers: dict[str, str] = field(repr=False)
    body: bytes | list[Part] | None = field(repr=False)
    timeout: Timeout
    max_response_bytes: int


class Sender(Protocol):
    """The narrow step where a request leaves the client: one exchange, no retries.

    Raises ``aiohttp.ClientError`` or ``asyncio.TimeoutError`` for transport failures, and
    :class:`ClerkResponseTooLargeError` when the body passes ``max_response_bytes``.
    """

    async def __call__(
        self, session: aiohttp.ClientSession, prepared: Prepared, timeout: aiohttp.ClientTimeout
    ) -> Answer: ...


class Requester(Protocol):
    """The signature of ``AsyncClerk._request``, which every resource method calls."""

    async def __call__(
        self,
        op: Operation[T],
        path_args: Sequence[object] = (),
        query: Mapping[str, object] | None = None,
        body: object = msgspec.UNSET,
        *,
        options: CallOptions = DEFAULT_OPTIONS,
    ) -> T: ...


async def request(
    pool: Pool,
    config: Config,
    op: Operation[T],
    path_args: Sequence[object] = (),
    query: Mapping[str, object] | None = None,
    body: object = msgspec.UNSET,
    options: CallOptions = DEFAULT_OPTIONS,
) -> T:
    """Send one operation and return its decoded answer; see the module docstring."""
    if op.deprecated:
        op.warn_deprecated(stacklevel=4)  # request() <- AsyncClerk._request <- method <- caller
    prepared = await _prepare(config, op, path_args, query, body, options)
    schedule = options.retry_config(config.retry).start(op.method)
    session = pool.session()
    while True:
        schedule.attempts += 1
        gated = False  # whether the wait before the next attempt happens at the 429 gate
        try:
            status, headers, data = await _attempt(pool, config, op, prepared, session, schedule)
        except _AttemptFailed as failed:
            error: ClerkError = failed.error
            wait = schedule.next_wait(reached_server=failed.reached_server)
            outcome = type(error).__name__
        except ClerkResponseTooLargeError as too_large:
            error, wait, outcome = too_large, None, "answer too large"  # it would come again
        else:
            if 200 <= status < 300:
                _log_attempt(op, prepared, schedule.attempts, str(status), None)
                return _decode(op, status, data, schedule.attempts)
            retry_after = retry_after_seconds(headers)
            error = api_error(status, headers, data, operation=op.name, retry_after=retry_after)
            wait = schedule.next_wait(status=status, retry_after=retry_after)
            outcome = str(status)
            if status == 429 and retry_after is not None:
                # Close the endpoint for everyone sharing the pool (and the rate limiter)
                # instead of letting each task find the limit by itself; a retry of this call
                # then waits at the gate with the others, in order.
                await _close_gate(pool, config, op, min(retry_after, schedule.max_delay))
                gated = True
        if wait is None:
            if schedule.out_of_budget:
                outcome += ", retry budget exhausted"
            _log_attempt(op, prepared, schedule.attempts, outcome, None)
            raise _final(error, schedule.attempts)
        _log_attempt(op, prepared, schedule.attempts, outcome, wait)
        if not gated:
            await asyncio.sleep(wait)


async def _attempt(
    pool: Pool,
    config: Config,
    op: Operation[Any],
    prepared: Prepared,
    session: aiohttp.ClientSession,
    schedule: RetrySchedule,
) -> Answer:
    """Queue for the gate, the rate limiter and a concurrency slot, then send once."""
    import aiohttp

    queued_at = time.monotonic()
    await pool.gate.acquire(op.endpoint)
    if config.rate_limit is not None:
        await config.rate_limit.acquire(op.endpoint)
    pool.rate_limit_wait += time.monotonic() - queued_at
    slot = pool.limiter()
    if slot is not None:
        await slot.acquire()
    try:
        # Queueing behind other calls is not this call's time: it does not use up the budget.
        schedule.exclude(time.monotonic() - queued_at)
        total = prepared.timeout.total
        remaining = schedule.remaining()
        if remaining is not None:
            total = remaining if total is None else min(total, remaining)
        timeout = aiohttp.ClientTimeout(total=total, connect=prepared.timeout.connect)
        send = pool.send or http_send
        try:
            return await send(session, prepared, timeout)
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise _transport_failure(prepared, exc, total) from None
    finally:
        if slot is not None:
            slot.release()


async def http_send(
    session: aiohttp.ClientSession, prepared: Prepared, timeout: aiohttp.ClientTimeout
) -> Answer:
    """The default :class:`Sender`: one exchange on the pool's aiohttp session."""
    body: Any = form_data(prepared.body) if isinstance(prepared.body, list) else prepared.body
    async with session.request(
        prepared.method,
        prepared.url,
        data=body,
        headers=prepared.headers,
        timeout=timeout,
        allow_redirects=False,
    ) as response:
        length = response.content_length
        if (
            length is not None
            and length <= prepared.max_response_bytes
            and "Content-Encoding" not in response.headers
        ):
            return response.status, response.headers, await response.read()  # the common case
        return response.status, response.headers, await _read_bounded(response, prepared)


async def _read_bounded(response: aiohttp.ClientResponse, prepared: Prepared) -> bytes:
    """The whole body, refusing to hold more than ``max_response_bytes`` of it.

    The limit is counted after decompression; leaving unread bytes behind makes aiohttp close
    the connection rather than return it to the pool.
    """
    limit = prepared.max_response_bytes
    if response.content_length is not None and response.content_length > limit:
        raise _too_large(prepared)
    body = bytearray()
    async for chunk in response.content.iter_any():
        body += chunk
        if len(body) > limit:
            raise _too_large(prepared)
    return bytes(body)


def _too_large(prepared: Prepared) -> ClerkResponseTooLargeError:
    return ClerkResponseTooLargeError(
        f"{prepared.operation}: the answer is larger than max_response_bytes"
        f" ({prepared.max_response_bytes} bytes); reading stopped there. Raise"
        " AsyncClerk(max_response_bytes=...) if the answer is legitimately that large",
        operation=prepared.operation,
        limit=prepared.max_response_bytes,
    )


async def _close_gate(pool: Pool, config: Config, op: Operation[Any], seconds: float) -> None:
    await pool.gate.block(op.endpoint, seconds)
    if config.rate_limit is not None:
        await config.rate_limit.block(op.endpoint, seconds)


class _AttemptFailed(Exception):
    """A transport failure, and whether the request may have reached Clerk."""

    def __init__(self, error: ClerkConnectionError, *, reached_server: bool) -> None:
        self.error = error
        self.reached_server = reached_server


def _transport_failure(
    prepared: Prepared, exc: BaseException, total: float | None
) -> _AttemptFailed:
    import aiohttp

    name, origin = prepared.operation, _origin(prepared.url)
    error: ClerkConnectionError
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        error = ClerkTimeoutError(
            f"{name}: timed out connecting to {origin} after {prepared.timeout.connect}s;"
            " raise `timeout=` or check the network",
            operation=name,
        )
        reached = False
    elif isinstance(exc, aiohttp.ClientConnectorError):
        error = ClerkConnectionError(
            f"{name}: could not connect to {origin}: {exc.os_error or exc}", operation=name
        )
        reached = False
    elif isinstance(exc, (asyncio.TimeoutError, aiohttp.ServerTimeoutError)):
        error = ClerkTimeoutError(
            f"{name}: no complete answer within {_seconds(total)}; raise `timeout=` if"
            " the call is expected to be slow",
            operation=name,
        )
        reached = True
    else:
        error = ClerkConnectionError(
            f"{name}: the connection failed before a complete answer came:"
            f" {type(exc).__name__}: {exc}",
            operation=name,
        )
        reached = True
    error.__cause__ = _without_frames(exc)
    return _AttemptFailed(error, reached_server=reached)


def _without_frames(exc: BaseException) -> BaseException:
    """The exception chain with its tracebacks dropped: aiohttp's frames hold the request
    headers, secret key included, in their local variables, which error trackers record."""
    seen: set[int] = set()
    link: BaseException | None = exc
    while link is not None and id(link) not in seen:
        seen.add(id(link))
        link.__traceback__ = None
        link = link.__cause__ or link.__context__
    return exc


def _final(error: ClerkError, attempts: int) -> ClerkError:
    """The error to raise after the last attempt, knowing how many attempts were made."""
    if isinstance(error, (ClerkAPIError, ClerkConnectionError, ClerkResponseTooLargeError)):
        error.attempts = attempts
    return error


def _seconds(value: float | None) -> str:
    return "the time allowed" if value is None else f"{value:g}s"


def _origin(url: URL) -> str:
    return f"{url.scheme}://{url.raw_authority}"


def _decode(op: Operation[T], status: int, data: bytes, attempts: int) -> T:
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
            attempts=attempts,
        ) from exc


async def _prepare(
    config: Config,
    op: Operation[Any],
    path_args: Sequence[object],
    query: Mapping[str, object] | None,
    body: object,
    options: CallOptions,
) -> Prepared:
    from yarl import URL

    # encoded=True: the path is already percent-encoded segment by segment, and must reach the
    # wire exactly so (no re-quoting, no dot-segment normalisation).
    url = URL(config.server_url + op.format_path(path_args), encoded=True)
    if query:
        pairs = _query_pairs(query, op.joined_query)
        if pairs:
            url = url.with_query(pairs)
    headers = _headers(config, op, options.extra_headers)
    return Prepared(
        operation=op.name,
        method=op.method,
        url=url,
        headers=headers,
        body=await _payload(op, body, headers),
        timeout=options.timeout or config.timeout,
        max_response_bytes=options.max_response_bytes or config.max_response_bytes,
    )


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


async def _payload(
    op: Operation[Any], body: object, headers: dict[str, str]
) -> bytes | list[Part] | None:
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
        return await parts(op.name, body, op.files)
    headers["Content-Type"] = "application/json"
    try:
        return _json_encode(body)
    except (TypeError, msgspec.EncodeError) as exc:
        raise TypeError(f"{op.name}: the request body cannot be encoded as JSON: {exc}") from exc


def _log_attempt(
    op: Operation[Any], prepared: Prepared, attempt: int, outcome: str, delay: float | None
) -> None:
    if not logger.isEnabledFor(logging.DEBUG):
        return
    path = prepared.url.raw_path
    if delay is None:
        logger.debug("%s %s %s attempt %d: %s", op.name, op.method, path, attempt, outcome)
    else:
        logger.debug(
            "%s %s %s attempt %d: %s, retrying in %.3fs",
            op.name,
            op.method,
            path,
            attempt,
            outcome,
            delay,
        )
