"""Request authentication: verify Clerk session and machine tokens without blocking.

``verify_token`` checks one session token; ``authenticate_request`` reads the token of an
incoming request and reports the outcome as a :class:`RequestState` instead of raising. Both
are also methods of :class:`~clerk_async.AsyncClerk`, which verifies with the client's key,
connection pool and JWKS cache.
"""

from .._errors import TokenVerificationError
from ._claims import ActorClaim, OrganizationClaim, SessionClaims, expand_permissions
from ._keys import MAX_JWKS_KEYS, JWKSCache, PublicKey
from ._machine_cache import MachineTokenCache
from ._request import (
    Auth,
    MachineToken,
    RequestState,
    TokenType,
    authenticate_request,
    token_from_request,
)
from ._token import MAX_HEADER_LENGTH
from ._verify import MAX_TOKEN_LENGTH, jwks_cache, verify_token

__all__ = [
    "MAX_HEADER_LENGTH",
    "MAX_JWKS_KEYS",
    "MAX_TOKEN_LENGTH",
    "ActorClaim",
    "Auth",
    "JWKSCache",
    "MachineToken",
    "MachineTokenCache",
    "OrganizationClaim",
    "PublicKey",
    "RequestState",
    "SessionClaims",
    "TokenType",
    "TokenVerificationError",
    "authenticate_request",
    "expand_permissions",
    "jwks_cache",
    "token_from_request",
    "verify_token",
]
