"""The exception hierarchy.

Every failure the SDK can report is a :class:`ClerkError`. HTTP answers outside 2xx become a
:class:`ClerkAPIError` subclass chosen by status; transport failures become
:class:`ClerkConnectionError` or :class:`ClerkTimeoutError` with the aiohttp exception as
``__cause__``; a 2xx body that does not match the declared model is a :class:`ClerkDecodeError`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

__all__ = [
    "AuthenticationError",
    "BadRequestError",
    "ClerkAPIError",
    "ClerkClosedError",
    "ClerkConfigurationError",
    "ClerkConnectionError",
    "ClerkDecodeError",
    "ClerkError",
    "ClerkResponseTooLargeError",
    "ClerkTimeoutError",
    "ConflictError",
    "ErrorDetail",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "ServerError",
    "TokenVerificationError",
    "UnprocessableEntityError",
    "WebhookVerificationError",
]


class ErrorDetail(msgspec.Struct, kw_only=True):
    """One entry of the ``errors`` list Clerk sends with a failed request."""

    code: str = ""
    message: str = ""
    long_message: str | None = None
    meta: dict[str, Any] | None = None


class _ErrorBody(msgspec.Struct):
    errors: list[ErrorDetail] = msgspec.field(default_factory=list)
    clerk_trace_id: str | None = None


_decode_error_body = msgspec.json.Decoder(_ErrorBody).decode


class ClerkError(Exception):
    """Base class of every exception raised by clerk_async.

    Every exception pickles with all its attributes (task queues and process pools send
    exceptions between processes); the chained ``__cause__`` is not kept, as for any exception.
    """

    def __reduce__(self) -> tuple[Any, ...]:
        return (_restore, (type(self), self.args, self._pickle_state()))

    def _pickle_state(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _restore(cls: type[ClerkError], args: tuple[Any, ...], state: dict[str, Any]) -> ClerkError:
    error = cls.__new__(cls, *args)
    error.args = args
    error.__dict__.update(state)
    return error


class ClerkConfigurationError(ClerkError):
    """The client is missing something it needs, such as a secret key."""


class ClerkClosedError(ClerkError):
    """The client was used after ``aclose()`` or outside of its ``async with`` block."""


class TokenVerificationError(ClerkError):
    """A session or machine token was refused.

    ``reason`` is one of the reason strings of Clerk's own SDKs, such as ``token-expired``,
    ``token-invalid-signature`` or ``jwk-kid-mismatch``, so it can be logged or matched on.
    """

    def __init__(self, reason: str, message: str = "") -> None:
        super().__init__(f"{reason}: {message}" if message else reason)
        self.reason = reason
        self.message = message or reason


class WebhookVerificationError(ClerkError):
    """A webhook delivery was refused: it cannot be shown to come from Clerk, or is unusable.

    ``reason`` says why, for logs and for deciding the answer:

    - ``missing_header``: no ``svix-id``/``svix-timestamp``/``svix-signature`` (nor the
      ``webhook-*`` spelling);
    - ``malformed_timestamp``: the timestamp header is not a Unix time in seconds;
    - ``timestamp_too_old``, ``timestamp_too_new``: signed outside the tolerance window;
    - ``no_matching_signature``: no ``v1`` signature matches the body and the secret;
    - ``missing_secret``, ``invalid_secret``: the receiver has no usable signing secret;
    - ``invalid_payload``: correctly signed, but the body is not a Clerk event.

    Messages never include the secret.
    """

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class ClerkConnectionError(ClerkError):
    """The request could not be sent, or the connection dropped before a full answer came."""

    def __init__(self, message: str, *, operation: str = "", attempts: int = 1) -> None:
        super().__init__(message)
        self.operation = operation
        self.attempts = attempts

    def __str__(self) -> str:
        # The attempt count is only known once the retry loop gives up, after the message
        # was written by the attempt that failed.
        message = super().__str__()
        return f"{message} (after {self.attempts} attempts)" if self.attempts > 1 else message


class ClerkTimeoutError(ClerkConnectionError):
    """An attempt took longer than its timeout, or the retry budget ran out."""


class ClerkDecodeError(ClerkError):
    """A 2xx answer whose body does not match the model the operation declares.

    ``body`` holds the raw bytes so nothing is lost; ``operation`` names the call;
    ``attempts`` counts the attempts made.
    """

    def __init__(
        self, message: str, *, operation: str, body: bytes, status: int, attempts: int = 1
    ) -> None:
        super().__init__(message)
        self.operation = operation
        self.body = body
        self.status = status
        self.attempts = attempts


class ClerkResponseTooLargeError(ClerkError):
    """An answer's body grew past ``max_response_bytes`` (counted after decompression).

    Reading stopped at the limit and the connection was closed, so a broken or hostile server
    cannot exhaust memory. Raise the client's ``max_response_bytes`` if a legitimate answer is
    that large. Not retried.
    """

    def __init__(self, message: str, *, operation: str, limit: int, attempts: int = 1) -> None:
        super().__init__(message)
        self.operation = operation
        self.limit = limit
        self.attempts = attempts


class ClerkAPIError(ClerkError):
    """Clerk answered with a status outside 2xx.

    Attributes:
        status: the HTTP status code.
        errors: the parsed ``errors`` list of Clerk's error body (empty when the body was not
            Clerk's JSON, such as an HTML page from a proxy).
        clerk_trace_id: Clerk's trace id, to quote when asking Clerk's support.
        headers: the response headers.
        body: the raw response body.
        operation: the operation, as ``resource.method``.
        attempts: how many attempts were made before giving up.
    """

    def __init__(
        self,
        *,
        status: int,
        errors: list[ErrorDetail],
        clerk_trace_id: str | None,
        headers: Mapping[str, str],
        body: bytes,
        operation: str = "",
        attempts: int = 1,
    ) -> None:
        self.status = status
        self.errors = errors
        self.clerk_trace_id = clerk_trace_id
        self.headers = headers
        self.body = body
        self.operation = operation
        self.attempts = attempts
        super().__init__(self._summary())

    @property
    def code(self) -> str | None:
        """The first error's code, such as ``resource_not_found``."""
        return self.errors[0].code if self.errors else None

    def _summary(self) -> str:
        parts = [f"HTTP {self.status}"]
        if self.operation:
            parts.insert(0, self.operation)
        if self.errors:
            first = self.errors[0]
            detail = first.long_message or first.message
            parts.append(f"{first.code}: {detail}" if first.code else detail)
        elif self.body:
            parts.append(_snippet(self.body))
        if self.clerk_trace_id:
            parts.append(f"trace id {self.clerk_trace_id}")
        if self.attempts > 1:
            parts.append(f"after {self.attempts} attempts")
        return " - ".join(parts)

    def __str__(self) -> str:
        return self._summary()

    def _pickle_state(self) -> dict[str, Any]:
        # aiohttp's read-only header proxy cannot be pickled; a copy keeps every value and
        # the case-insensitive lookup.
        from multidict import CIMultiDict

        return {**self.__dict__, "headers": CIMultiDict(self.headers)}


def _snippet(body: bytes, limit: int = 120) -> str:
    text = " ".join(body.decode("utf-8", "replace").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class BadRequestError(ClerkAPIError):
    """400: the request was malformed or a parameter is invalid."""


class AuthenticationError(ClerkAPIError):
    """401: the secret key is missing, malformed or revoked."""


class PermissionDeniedError(ClerkAPIError):
    """403: the key may not perform this operation."""


class NotFoundError(ClerkAPIError):
    """404: the resource does not exist."""


class ConflictError(ClerkAPIError):
    """409: the request conflicts with the resource's current state."""


class UnprocessableEntityError(ClerkAPIError):
    """422: the request was well formed but Clerk refused its content."""


class RateLimitError(ClerkAPIError):
    """429: the application exceeded its rate limit.

    ``retry_after`` is the wait Clerk asked for, in seconds, or None if it gave none.
    """

    def __init__(self, *, retry_after: float | None = None, **kwargs: Any) -> None:
        self.retry_after = retry_after
        super().__init__(**kwargs)

    def _summary(self) -> str:
        summary = super()._summary()
        if self.retry_after is not None:
            summary += f" - retry after {self.retry_after:g}s"
        return summary


class ServerError(ClerkAPIError):
    """5xx: Clerk, or a proxy in front of it, failed to answer."""


_BY_STATUS: dict[int, type[ClerkAPIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def api_error(
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    *,
    operation: str,
    attempts: int = 1,
    retry_after: float | None = None,
) -> ClerkAPIError:
    """Build the exception for a non-2xx answer; any body is accepted."""
    try:
        parsed = _decode_error_body(body)
    except msgspec.MsgspecError:
        parsed = _ErrorBody()
    fields: dict[str, Any] = {
        "status": status,
        "errors": parsed.errors,
        "clerk_trace_id": parsed.clerk_trace_id or headers.get("x-clerk-trace-id"),
        "headers": headers,
        "body": body,
        "operation": operation,
        "attempts": attempts,
    }
    if status == 429:
        return RateLimitError(retry_after=retry_after, **fields)
    cls = _BY_STATUS.get(status) or (ServerError if status >= 500 else ClerkAPIError)
    return cls(**fields)
