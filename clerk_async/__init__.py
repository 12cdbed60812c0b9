"""clerk_async: an asyncio-first SDK for Clerk's Backend API.

``import clerk_async`` is cheap: the client, aiohttp and the models load on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._version import __version__

if TYPE_CHECKING:
    from ._bulk import Outcome
    from ._client import API_VERSION, DEFAULT_SERVER_URL, AsyncClerk
    from ._config import Timeout
    from ._errors import (
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
        ErrorDetail,
        NotFoundError,
        PermissionDeniedError,
        RateLimitError,
        ServerError,
        TokenVerificationError,
        UnprocessableEntityError,
        WebhookVerificationError,
    )
    from ._multipart import FileInput
    from ._pagination import AsyncPager, Page
    from ._retry import RetryConfig
    from .auth import Auth, RequestState, SessionClaims, verify_token

# Public name -> the private module that defines it, imported on first access.
_EXPORTS = {
    "API_VERSION": "_client",
    "DEFAULT_SERVER_URL": "_client",
    "AsyncClerk": "_client",
    "AuthenticationError": "_errors",
    "BadRequestError": "_errors",
    "ClerkAPIError": "_errors",
    "ClerkClosedError": "_errors",
    "ClerkConfigurationError": "_errors",
    "ClerkConnectionError": "_errors",
    "ClerkDecodeError": "_errors",
    "ClerkError": "_errors",
    "ClerkResponseTooLargeError": "_errors",
    "ClerkTimeoutError": "_errors",
    "ConflictError": "_errors",
    "ErrorDetail": "_errors",
    "NotFoundError": "_errors",
    "PermissionDeniedError": "_errors",
    "RateLimitError": "_errors",
    "ServerError": "_errors",
    "TokenVerificationError": "_errors",
    "UnprocessableEntityError": "_errors",
    "WebhookVerificationError": "_errors",
    "Outcome": "_bulk",
    "AsyncPager": "_pagination",
    "Page": "_pagination",
    "RetryConfig": "_retry",
    "FileInput": "_multipart",
    "Timeout": "_config",
    "Auth": "auth",
    "RequestState": "auth",
    "SessionClaims": "auth",
    "verify_token": "auth",
}

__all__ = [
    "API_VERSION",
    "DEFAULT_SERVER_URL",
    "AsyncClerk",
    "AsyncPager",
    "Auth",
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
    "FileInput",
    "NotFoundError",
    "Outcome",
    "Page",
    "PermissionDeniedError",
    "RateLimitError",
    "RequestState",
    "RetryConfig",
    "ServerError",
    "SessionClaims",
    "Timeout",
    "TokenVerificationError",
    "UnprocessableEntityError",
    "WebhookVerificationError",
    "__version__",
    "verify_token",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'clerk_async' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
