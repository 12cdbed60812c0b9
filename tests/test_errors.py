"""Every non-2xx answer becomes the documented exception, with Clerk's details parsed."""

from __future__ import annotations

import pickle

import pytest

from clerk_async import (
    AsyncClerk,
    AuthenticationError,
    BadRequestError,
    ClerkAPIError,
    ClerkClosedError,
    ClerkConfigurationError,
    ClerkConnectionError,
    ClerkDecodeError,
    ClerkError,
    ClerkResponseTooLargeError,
    ClerkTimeoutError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    TokenVerificationError,
    UnprocessableEntityError,
    WebhookVerificationError,
)

from .conftest import SECRET, RecordingServer

CLERK_BODY = {
    "errors": [
        {
            "code": "resource_not_found",
            "message": "not found",
            "long_message": "No user was found with id user_1",
            "meta": {"param_name": "user_id"},
        },
        {"code": "second", "message": "another", "long_message": "another one"},
    ],
    "clerk_trace_id": "trace_abc",
}


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (409, ConflictError),
        (422, UnprocessableEntityError),
        (429, RateLimitError),
        (500, ServerError),
        (503, ServerError),
        (402, ClerkAPIError),
    ],
)
async def test_status_maps_to_class(
    server: RecordingServer, clerk: AsyncClerk, status: int, cls: type
) -> None:
    server.reply("/v1/users/user_1", CLERK_BODY, status=status)
    with pytest.raises(cls) as caught:
        await clerk.users.get("user_1")
    error = caught.value
    assert type(error) is cls
    assert isinstance(error, ClerkAPIError) and isinstance(error, ClerkError)
    assert error.status == status
    assert [e.code for e in error.errors] == ["resource_not_found", "second"]
    assert error.errors[0].meta == {"param_name": "user_id"}
    assert error.clerk_trace_id == "trace_abc"
    assert error.code == "resource_not_found"
    assert error.operation == "users.get"
    assert error.headers["Content-Type"].startswith("application/json")
    assert b"trace_abc" in error.body
    text = str(error)
    assert "\n" not in text
    assert f"HTTP {status}" in text
    assert "resource_not_found: No user was found with id user_1" in text
    assert "trace_abc" in text


async def test_html_error_page_keeps_class_and_text(
    server: RecordingServer, clerk: AsyncClerk
) -> None:
    page = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
    server.reply("/v1/users/user_1", raw=page, status=502, headers={"Content-Type": "text/html"})
    with pytest.raises(ServerError) as caught:
        await clerk.users.get("user_1")
    assert caught.value.errors == []
    assert caught.value.body == page
    assert "502 Bad Gateway" in str(caught.value)


async def test_rate_limit_error_carries_retry_after(
    server: RecordingServer, clerk: AsyncClerk
) -> None:
    server.reply("/v1/users/user_1", CLERK_BODY, status=429, headers={"Retry-After": "7"})
    with pytest.raises(RateLimitError) as caught:
        await clerk.users.get("user_1")
    assert caught.value.retry_after == 7
    assert "retry after 7s" in str(caught.value)


async def test_undecodable_success_body_is_a_decode_error(
    server: RecordingServer, clerk: AsyncClerk
) -> None:
    server.reply(
        "/v1/users/user_1",
        raw=b'{"id": "user_1", "trunc',
        headers={"Content-Type": "application/json"},
    )
    with pytest.raises(ClerkDecodeError) as caught:
        await clerk.users.get("user_1")
    assert caught.value.operation == "users.get"
    assert caught.value.body == b'{"id": "user_1", "trunc'
    assert caught.value.status == 200
    assert "users.get" in str(caught.value)


async def test_connection_refused_is_a_connection_error_with_cause() -> None:
    import aiohttp

    async with AsyncClerk(SECRET, server_url="http://127.0.0.1:9/v1", retry=False) as clerk:
        with pytest.raises(ClerkConnectionError) as caught:
            await clerk.users.get("user_1")
    assert isinstance(caught.value.__cause__, aiohttp.ClientError)
    assert "could not connect to http://127.0.0.1:9" in str(caught.value)
    assert SECRET not in str(caught.value)


def test_api_errors_pickle_for_process_pools() -> None:
    from clerk_async._errors import api_error

    error = api_error(404, {}, b"{}", operation="users.get", attempts=1, retry_after=None)
    clone = pickle.loads(pickle.dumps(error))
    assert type(clone) is NotFoundError and clone.status == 404


async def test_every_error_from_a_real_answer_pickles_with_its_details(
    server: RecordingServer,
) -> None:
    server.reply(
        "/v1/users/user_1",
        CLERK_BODY,
        status=429,
        headers={"Retry-After": "7", "X-Clerk-Trace-Id": "trace_hdr"},
    )
    async with AsyncClerk(SECRET, server_url=server.url, retry=False) as clerk:
        with pytest.raises(RateLimitError) as caught:
            await clerk.users.get("user_1")
    error = caught.value
    assert type(error.headers).__name__ == "CIMultiDictProxy"  # aiohttp's, as answered
    clone = pickle.loads(pickle.dumps(error))
    assert type(clone) is RateLimitError
    assert (clone.status, clone.code, clone.clerk_trace_id) == (
        429,
        "resource_not_found",
        "trace_abc",
    )
    assert clone.retry_after == 7.0 and clone.attempts == 1
    assert clone.headers["retry-after"] == "7"  # still case-insensitive
    assert clone.errors == error.errors and clone.body == error.body
    assert str(clone) == str(error)


@pytest.mark.parametrize(
    "error",
    [
        ClerkError("plain"),
        ClerkConnectionError("dropped", operation="users.get", attempts=3),
        ClerkTimeoutError("slow", operation="users.get", attempts=2),
        ClerkDecodeError("bad", operation="users.get", body=b"{", status=200, attempts=2),
        ClerkResponseTooLargeError("big", operation="users.get", limit=10, attempts=1),
        ClerkConfigurationError("no key"),
        ClerkClosedError("closed"),
        TokenVerificationError("token-expired", "the token expired"),
        WebhookVerificationError("bad signature", reason="no_matching_signature"),
    ],
    ids=lambda error: type(error).__name__,
)
def test_every_exception_class_pickles(error: ClerkError) -> None:
    clone = pickle.loads(pickle.dumps(error))
    assert type(clone) is type(error)
    assert clone.__dict__ == error.__dict__
    assert str(clone) == str(error)
