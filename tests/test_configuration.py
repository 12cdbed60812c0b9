"""Configuration is checked where it is written: unsafe or malformed values fail at construction."""

from __future__ import annotations

import gc
import warnings
from typing import Any

import backoff
import pytest

from clerk_async import AsyncClerk, ClerkConfigurationError, RetryConfig, Timeout

from .conftest import SECRET, RecordingServer


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://api.example.com/v1", "clear text"),
        ("http://10.0.0.8/v1", "clear text"),
        ("ftp://api.clerk.com/v1", "https URL"),
        ("api.clerk.com/v1", "https URL"),
        ("https:///v1", "https URL"),
        ("https://user:pass@api.clerk.com/v1", "user name or password"),
        ("https://api.clerk.com/v1?x=1", "query or fragment"),
        ("https://api.clerk.com/v1#top", "query or fragment"),
        ("https://api.clerk.com/v1?", "query or fragment"),
        ("https://api.clerk.com/v 1", "whitespace"),
        ("https://api.clerk.com/v1\r\nX-Evil: 1", "whitespace"),
        ("https://api.clerk.com:99999/v1", "not a valid URL"),
    ],
)
def test_unsafe_server_urls_are_refused(url: str, message: str) -> None:
    with pytest.raises(ClerkConfigurationError, match=message):
        AsyncClerk(SECRET, server_url=url)


@pytest.mark.parametrize(
    "url",
    [
        "https://api.clerk.com/v1/",
        "http://localhost:8080/v1",
        "http://127.0.0.1:9/v1",
        "http://127.8.9.10/v1",
        "http://[::1]:8080/v1",
        "http://app.localhost/v1",
    ],
)
def test_https_and_loopback_http_are_accepted(url: str) -> None:
    assert AsyncClerk(SECRET, server_url=url).server_url == url.rstrip("/")


def test_the_server_url_and_jwt_key_fall_back_to_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CLERK_API_URL", "http://127.0.0.1:7/v1")
    monkeypatch.setenv("CLERK_SECRET_KEY", "  sk_test_fromenv  ")
    monkeypatch.setenv("CLERK_JWT_KEY", "not checked until used")
    clerk = AsyncClerk()
    assert clerk.server_url == "http://127.0.0.1:7/v1"
    assert clerk._config.bearer_auth == "sk_test_fromenv"
    assert clerk._jwt_key == "not checked until used"
    assert (
        AsyncClerk(server_url="https://api.clerk.com/v1").server_url == "https://api.clerk.com/v1"
    )
    monkeypatch.setenv("CLERK_API_URL", "http://evil.example/v1")
    with pytest.raises(ClerkConfigurationError, match="clear text"):
        AsyncClerk()
    # As Clerk's other SDKs read it: an origin gets the API version's path.
    monkeypatch.setenv("CLERK_API_URL", "https://api.clerk.com/")
    assert AsyncClerk().server_url == "https://api.clerk.com/v1"
    monkeypatch.setenv("CLERK_API_URL", "http://localhost:8080")
    assert AsyncClerk().server_url == "http://localhost:8080/v1"


async def test_a_secret_key_with_surrounding_whitespace_is_stripped(
    server: RecordingServer,
) -> None:
    async with AsyncClerk(f"\t{SECRET} \n", server_url=server.url) as clerk:
        await clerk.jwks.get_jwks()
    assert server.last.headers["Authorization"] == f"Bearer {SECRET}"


@pytest.mark.parametrize("key", ["sk_test_a b", "sk_test_a\r\nX-Evil: 1", "sk_test_\x00"])
def test_a_secret_key_with_inner_whitespace_or_controls_is_refused(key: str) -> None:
    with pytest.raises(ClerkConfigurationError, match="whitespace or control") as caught:
        AsyncClerk(key)
    assert key.strip() not in str(caught.value)


def test_a_publishable_key_is_recognised() -> None:
    with pytest.raises(ClerkConfigurationError, match="publishable key"):
        AsyncClerk("pk_test_Y2xlcmsuZXhhbXBsZS5jb20k")


@pytest.mark.parametrize(
    ("headers", "error"),
    [
        ({"X-A": "1\r\nX-Injected: 1"}, ValueError),
        ({"X-A": "1\n"}, ValueError),
        ({"X-A": "\x00"}, ValueError),
        ({"X-A\r\nX-B": "1"}, ValueError),
        ({"": "1"}, ValueError),
        ({"X A": "1"}, ValueError),
        ({"X-A": 1}, TypeError),
    ],
)
async def test_header_injection_is_refused_everywhere(
    server: RecordingServer, headers: dict[str, Any], error: type[Exception]
) -> None:
    with pytest.raises(error, match=r"headers?"):
        AsyncClerk(SECRET, server_url=server.url, headers=headers)
    async with AsyncClerk(SECRET, server_url=server.url) as clerk:
        with pytest.raises(error, match="headers"):
            clerk.with_options(headers=headers)
        with pytest.raises(error, match="extra_headers"):
            await clerk.users.count(extra_headers=headers)
    assert server.requests == []


@pytest.mark.parametrize(
    ("options", "error"),
    [
        ({"jitter": 0.0}, TypeError),
        ({"max_retries": 2.5}, TypeError),
        ({"max_retries": True}, TypeError),
        ({"initial_delay": "1"}, TypeError),
        ({"max_delay": float("nan")}, TypeError),
        ({"total_timeout": float("inf")}, TypeError),
        ({"multiplier": 0.5}, ValueError),
        ({"retry_statuses": {200}}, ValueError),
        ({"retry_statuses": 503}, TypeError),
        ({"retry_non_idempotent": "yes"}, TypeError),
    ],
)
def test_retry_config_fields_are_type_checked(
    options: dict[str, Any], error: type[Exception]
) -> None:
    with pytest.raises(error, match="RetryConfig"):
        RetryConfig(**options)


def test_a_valid_retry_config_keeps_its_values() -> None:
    config = RetryConfig(jitter=backoff.random_jitter, retry_statuses=[429, 503])
    assert config.retry_statuses == frozenset({429, 503})


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -1, 0])
def test_timeouts_must_be_finite_and_positive(bad: float) -> None:
    with pytest.raises((TypeError, ValueError)):
        AsyncClerk(SECRET, timeout=bad)
    with pytest.raises(ValueError, match=r"Timeout\.total"):
        Timeout(total=bad)


@pytest.mark.parametrize("bad", [0, -5, 1.5, True, "64"])
def test_max_response_bytes_must_be_a_positive_int(bad: object) -> None:
    with pytest.raises(ValueError, match="max_response_bytes"):
        AsyncClerk(SECRET, max_response_bytes=bad)  # type: ignore[arg-type]


async def test_a_client_never_closed_warns_naming_asyncclerk(server: RecordingServer) -> None:
    clerk = AsyncClerk(SECRET, server_url=server.url)
    await clerk.jwks.get_jwks()
    session = clerk._pool._session
    assert session is not None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        del clerk
        gc.collect()
    ours = [
        w
        for w in caught
        if issubclass(w.category, ResourceWarning) and "AsyncClerk" in str(w.message)
    ]
    assert len(ours) == 1
    await session.close()


async def test_a_closed_client_does_not_warn(server: RecordingServer) -> None:
    async with AsyncClerk(SECRET, server_url=server.url) as clerk:
        await clerk.jwks.get_jwks()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        del clerk
        gc.collect()
    assert not [w for w in caught if "AsyncClerk" in str(w.message)]


@pytest.mark.parametrize("bad", [True, 3, "no", RetryConfig])
async def test_a_retry_policy_must_be_a_retry_config_or_false(
    server: RecordingServer, bad: Any
) -> None:
    with pytest.raises(TypeError, match="retry must be a RetryConfig or False"):
        AsyncClerk(SECRET, server_url=server.url, retry=bad)
    async with AsyncClerk(SECRET, server_url=server.url) as clerk:
        with pytest.raises(TypeError, match="retry must be a RetryConfig or False"):
            clerk.with_options(retry=bad)
        with pytest.raises(TypeError, match="retries must be a RetryConfig or False"):
            await clerk.users.count(retries=bad)
    assert server.requests == []
