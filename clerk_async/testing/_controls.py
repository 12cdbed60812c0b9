"""Test controls of the server: the request log and injected failures."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import msgspec
from multidict import CIMultiDictProxy, MultiDictProxy

from ._reject import Reject

__all__ = ["FailureQueue", "RecordedRequest"]

# Default error codes for failures injected with ``FakeClerk.fail_next``.
_FAILURE_CODES = {
    400: "bad_request",
    401: "authentication_invalid",
    403: "authorization_invalid",
    404: "resource_not_found",
    409: "conflict",
    422: "form_param_value_invalid",
    429: "too_many_requests",
    500: "internal_clerk_error",
    502: "bad_gateway",
    503: "service_unavailable",
    504: "gateway_timeout",
}


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the fake received it, before any checks.

    Attributes:
        method: the HTTP method.
        path: the path, including the ``/v1`` prefix.
        query: the query string, with repeated names kept.
        headers: the request headers.
        body: the raw body (empty when there was none).

    The headers and body carry the secret key and tokens, so the repr leaves them out.
    """

    method: str
    path: str
    query: MultiDictProxy[str]
    headers: CIMultiDictProxy[str] = field(repr=False)
    body: bytes = field(repr=False)

    def json(self) -> Any:
        """The body decoded as JSON, or None when it is empty."""
        return msgspec.json.decode(self.body) if self.body else None


@dataclass
class _Failure:
    status: int
    code: str
    headers: Mapping[str, str]
    remaining: int
    when: Callable[[RecordedRequest], bool] | None


class FailureQueue:
    """Failures queued by ``fail_next``, each used up before the next one applies."""

    def __init__(self) -> None:
        self._failures: list[_Failure] = []

    def add(
        self,
        status: int,
        times: int,
        code: str | None,
        headers: Mapping[str, str] | None,
        when: Callable[[RecordedRequest], bool] | None,
    ) -> None:
        if times < 1:
            raise ValueError("times must be at least 1")
        code = code or _FAILURE_CODES.get(status, "fake_failure")
        self._failures.append(_Failure(status, code, dict(headers or {}), times, when))

    def check(self, request: RecordedRequest) -> None:
        """Raise the first queued failure if it applies to ``request``."""
        if not self._failures:
            return
        failure = self._failures[0]
        if failure.when is not None and not failure.when(request):
            return
        failure.remaining -= 1
        if failure.remaining == 0:
            self._failures.pop(0)
        raise Reject(
            failure.status,
            failure.code,
            f"injected HTTP {failure.status}",
            f"FakeClerk.fail_next answered this request with HTTP {failure.status}.",
            headers=failure.headers,
        )
