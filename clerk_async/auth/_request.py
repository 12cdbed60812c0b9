"""authenticate_request: find the token of an incoming request, verify it, never raise."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

from .._errors import ClerkAPIError, ClerkError, TokenVerificationError
from ._claims import ActorClaim, SessionClaims, with_org_prefix
from ._machine_cache import MachineTokenCache
from ._token import (
    CATEGORY_IGNORE,
    CATEGORY_M2M_TOKEN,
    CATEGORY_SESSION_TOKEN,
    ParsedToken,
    invalid,
)
from ._verify import (
    OAUTH_JWT_TYPES,
    SESSION_TYPES,
    Keys,
    check_claims,
    check_clock_skew,
    verify_signature,
)

if TYPE_CHECKING:
    from .._client import AsyncClerk

__all__ = ["Auth", "MachineToken", "RequestState", "TokenType", "authenticate_request"]

TokenType = Literal["session_token", "m2m_token", "api_key", "oauth_token"]
AcceptsToken = TokenType | Literal["any"] | Sequence[TokenType]
_ALL_TYPES: frozenset[str] = frozenset({"session_token", "m2m_token", "api_key", "oauth_token"})
_OPAQUE_PREFIXES: tuple[tuple[str, TokenType], ...] = (
    ("mt_", "m2m_token"),
    ("ak_", "api_key"),
    ("oat_", "oauth_token"),
)
# Machine-to-machine JWTs are issued for machines, whose ids carry this prefix.
_MACHINE_SUBJECT_PREFIX = "mch_"
_SESSION_COOKIE = "__session"
_SESSION_CATEGORIES = frozenset({None, CATEGORY_SESSION_TOKEN, CATEGORY_IGNORE})
# Clerk answers these to a verify call when the fault is not the token's: our secret key is
# refused (401, 403), we are rate limited (429), or Clerk failed (5xx).
_NOT_THE_TOKENS_FAULT = frozenset({401, 403, 429})


def _mask_token(token: str | None) -> str | None:
    """A token as it may appear in a repr or a log: its kind and last 4 characters."""
    if token is None:
        return None
    kind = next((prefix for prefix, _ in _OPAQUE_PREFIXES if token.startswith(prefix)), "")
    tail = token[-4:] if len(token) >= 16 else ""
    return f"{kind}...{tail}"


@dataclasses.dataclass(frozen=True, slots=True)
class MachineToken:
    """What Clerk says about an opaque machine token (or a JWT one, from its claims)."""

    id: str | None
    subject: str | None
    scopes: tuple[str, ...] = ()
    client_id: str | None = None
    claims: Any = None
    expires_at: float | None = None
    """When the token expires, in seconds since 1970 (None: it does not)."""


@dataclasses.dataclass(frozen=True, slots=True)
class Auth:
    """Who made the request, as application code reads it.

    ``is_authenticated`` is False for a signed-out request, whose other fields are None.
    For session tokens, the organization fields are normalised across token versions.
    """

    is_authenticated: bool
    token_type: TokenType | None = None
    user_id: str | None = None
    session_id: str | None = None
    session_status: str | None = None
    org_id: str | None = None
    org_slug: str | None = None
    org_role: str | None = None
    org_permissions: tuple[str, ...] = ()
    factor_verification_age: tuple[int, ...] | None = None
    actor: ActorClaim | None = None
    claims: SessionClaims | None = None
    machine: MachineToken | None = None

    @property
    def subject(self) -> str | None:
        """The user id for sessions; the machine, user or org the token was issued to."""
        if self.machine is not None:
            return self.machine.subject
        return self.user_id

    def has(self, *, permission: str | None = None, role: str | None = None) -> bool:
        """Whether the active organization grants ``permission`` and/or ``role`` (both, when
        both are given).

        As in Clerk's SDKs, names are compared with one ``org:`` prefix, so
        ``has(role="admin")`` and ``has(role="org:admin")`` are the same question.
        """
        if not self.is_authenticated or (permission is None and role is None):
            return False
        if not self.org_id:
            return False
        if role is not None:
            if not isinstance(role, str) or not self.org_role:
                return False
            if with_org_prefix(self.org_role) != with_org_prefix(role):
                return False
        if permission is not None:
            if not isinstance(permission, str):
                return False
            if with_org_prefix(permission) not in self.org_permissions:
                return False
        return True


_SIGNED_OUT = Auth(is_authenticated=False)


@dataclasses.dataclass(frozen=True, slots=True, repr=False)
class RequestState:
    """The outcome of :func:`authenticate_request`.

    ``reason`` and ``message`` say why a request is signed out (``reason`` is Clerk's string,
    such as ``token-expired``); ``claims`` are set for verified JWTs, ``machine`` for machine
    tokens. The repr masks ``token`` (a bearer credential, sometimes a long-lived API key).
    """

    is_signed_in: bool
    reason: str | None = None
    message: str | None = None
    token: str | None = None
    token_type: TokenType | None = None
    claims: SessionClaims | None = None
    machine: MachineToken | None = None

    def __repr__(self) -> str:
        return (
            f"RequestState(is_signed_in={self.is_signed_in!r}, reason={self.reason!r}, "
            f"message={self.message!r}, token={_mask_token(self.token)!r}, "
            f"token_type={self.token_type!r}, claims={self.claims!r}, machine={self.machine!r})"
        )

    @property
    def status(self) -> str:
        return "signed-in" if self.is_signed_in else "signed-out"

    def to_auth(self) -> Auth:
        """The auth object for application code; signed out unless ``is_signed_in``."""
        if not self.is_signed_in:
            return _SIGNED_OUT
        if self.token_type == "session_token" and self.claims is not None:
            c = self.claims
            return Auth(
                is_authenticated=True,
                token_type="session_token",
                user_id=c.sub,
                session_id=c.sid,
                session_status=c.sts,
                org_id=c.org_id,
                org_slug=c.org_slug,
                org_role=c.org_role,
                org_permissions=tuple(c.org_permissions or ()),
                factor_verification_age=tuple(c.fva) if c.fva is not None else None,
                actor=c.act,
                claims=c,
            )
        return Auth(
            is_authenticated=True,
            token_type=self.token_type,
            claims=self.claims,
            machine=self.machine,
        )


def _signed_out(
    reason: str, message: str, token: str | None = None, token_type: TokenType | None = None
) -> RequestState:
    return RequestState(
        is_signed_in=False, reason=reason, message=message, token=token, token_type=token_type
    )


def _accepted(accepts_token: AcceptsToken) -> frozenset[str]:
    if accepts_token == "any":
        return _ALL_TYPES
    if isinstance(accepts_token, str):
        names: Iterable[str] = (accepts_token,)
    else:
        names = accepts_token
    accepted = frozenset(names)
    unknown = accepted - _ALL_TYPES
    if unknown:
        raise ValueError(f"unknown token types in accepts_token: {sorted(unknown)}")
    return accepted


def _header(headers: Any, name: str) -> str | None:
    """One header from a Starlette/aiohttp headers object or a plain mapping, any case."""
    value = headers.get(name)
    if value is None and isinstance(headers, dict):
        lowered = name.lower()
        for key, item in headers.items():
            if isinstance(key, str) and key.lower() == lowered:
                value = item
                break
    return value if isinstance(value, str) else None


def token_from_request(request: Any) -> tuple[str | None, bool]:
    """The request's token and whether it came from the session cookie.

    ``Authorization: Bearer`` wins over the ``__session`` cookie, as in Clerk's SDKs.
    """
    headers = getattr(request, "headers", None)
    if headers is None:
        if not isinstance(request, Mapping):
            raise TypeError(
                "request must be a Starlette/FastAPI or aiohttp request, or a mapping of headers"
            )
        headers = request
    authorization = _header(headers, "Authorization")
    if authorization:
        scheme, _, credentials = authorization.strip().partition(" ")
        if scheme.lower() == "bearer" and credentials.strip():
            return credentials.strip(), False
    cookies = getattr(request, "cookies", None)
    if isinstance(cookies, Mapping):
        value = cookies.get(_SESSION_COOKIE)
        if value:
            return str(value), True
        return None, False
    raw = _header(headers, "Cookie")
    if raw and _SESSION_COOKIE in raw:
        value = _cookie_value(raw, _SESSION_COOKIE)
        if value:
            return value, True
    return None, False


def _cookie_value(header: str, name: str) -> str | None:
    """The first value of cookie ``name`` in a ``Cookie`` header (``a=1; b=2``), in time
    linear in the header's length, whatever it holds."""
    for pair in header.split(";"):
        key, sep, value = pair.partition("=")
        if sep and key.strip() == name:
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] == '"':
                value = value[1:-1]
            return value
    return None


def _header_type(parsed: ParsedToken) -> TokenType | None:
    """The token type the header alone proves, or None when the payload must tell."""
    if parsed.typ in OAUTH_JWT_TYPES:
        return "oauth_token"
    if parsed.cat == CATEGORY_M2M_TOKEN:
        return "m2m_token"
    return None


def _payload_type(claims: SessionClaims) -> TokenType:
    if claims.sub and claims.sub.startswith(_MACHINE_SUBJECT_PREFIX):
        return "m2m_token"
    return "session_token"


def _check_category(parsed: ParsedToken, token_type: TokenType) -> None:
    """Refuse a token whose header ``cat`` says it is another class of JWT than it looks."""
    if token_type == "m2m_token" and parsed.cat not in (None, CATEGORY_M2M_TOKEN):
        raise invalid(f"an M2M JWT must have the M2M category, not cat {parsed.cat!r}")


def _is_session_category(parsed: ParsedToken) -> bool:
    # A JWT-template token (or any other non-session class) is signed by the same key but
    # carries no session: it must not sign a request in as one.
    return parsed.cat in _SESSION_CATEGORIES


async def authenticate_request(
    clerk: AsyncClerk,
    request: Any,
    *,
    authorized_parties: Collection[str] | None = None,
    audience: str | Iterable[str] | None = None,
    accepts_token: AcceptsToken = "session_token",
    jwt_key: str | None = None,
    clock_skew: float = 5.0,
    treat_pending_as_signed_out: bool = True,
    machine_token_cache: MachineTokenCache | None = None,
) -> RequestState:
    """Authenticate an incoming request; a bad or missing token gives a signed-out state.

    Args:
        request: a Starlette/FastAPI request, an aiohttp request, or a mapping of headers.
        authorized_parties: the origins allowed in the ``azp`` claim, for example
            ``["https://example.com"]``. When given, a token without ``azp`` is refused.
        audience: when given, the ``aud`` claim must contain one of these (empty strings do
            not count as an audience).
        accepts_token: ``"session_token"`` (the default), ``"m2m_token"``, ``"api_key"``,
            ``"oauth_token"``, a list of these, or ``"any"``. Other tokens are refused with
            ``token-type-mismatch``.
        jwt_key: the instance's PEM public key, to verify JWTs without fetching the JWKS
            (else the client's ``jwt_key`` or ``CLERK_JWT_KEY``).
        clock_skew: the leeway for ``exp``, ``nbf`` and ``iat``, in seconds (finite, >= 0).
        treat_pending_as_signed_out: sessions with ``sts: pending`` (a task such as choosing
            an organization is still open) are signed out unless this is False.
        machine_token_cache: a :class:`MachineTokenCache` remembering Clerk's answers about
            opaque machine tokens for a few seconds (see its revocation delay).

    Raises:
        ValueError: ``accepts_token`` names an unknown type, or ``clock_skew`` is not a
            finite number >= 0. Never for anything in the request.
    """
    return await clerk.authenticate_request(
        request,
        authorized_parties=authorized_parties,
        audience=audience,
        accepts_token=accepts_token,
        jwt_key=jwt_key,
        clock_skew=clock_skew,
        treat_pending_as_signed_out=treat_pending_as_signed_out,
        machine_token_cache=machine_token_cache,
    )


async def authenticate_with_keys(
    clerk: AsyncClerk,
    keys: Keys,
    request: Any,
    *,
    authorized_parties: Collection[str] | None = None,
    audience: str | Iterable[str] | None = None,
    accepts_token: AcceptsToken = "session_token",
    clock_skew: float = 5.0,
    treat_pending_as_signed_out: bool = True,
    machine_token_cache: MachineTokenCache | None = None,
    instance: str = "",
) -> RequestState:
    """The work of :func:`authenticate_request`, with the verification keys chosen.

    ``instance`` names the client's instance (a digest, see ``Config.instance_id``), so one
    machine-token cache can serve clients of several instances without mixing their answers.
    """
    accepted = _accepted(accepts_token)
    check_clock_skew(clock_skew)
    token, from_cookie = token_from_request(request)
    if token is None:
        if "session_token" in accepted:
            return _signed_out("session-token-missing", "no session token in the request")
        return _signed_out("token-missing", "no bearer token in the request")

    for prefix, opaque_type in _OPAQUE_PREFIXES:
        if token.startswith(prefix):
            if opaque_type not in accepted or from_cookie:
                return _mismatch(token, opaque_type, accepted)
            return await _opaque(
                clerk, token, opaque_type, clock_skew, machine_token_cache, instance
            )

    try:
        parsed = ParsedToken(token)
    except TokenVerificationError as exc:
        return _signed_out(exc.reason, exc.message, token)
    header_type = _header_type(parsed)
    if header_type is not None and (header_type not in accepted or from_cookie):
        # Decided by the header alone: refused without fetching a key or checking anything.
        return _mismatch(token, header_type, accepted)
    try:
        await verify_signature(
            parsed,
            keys,
            OAUTH_JWT_TYPES if header_type == "oauth_token" else SESSION_TYPES,
        )
        claims = parsed.decode_claims()
    except TokenVerificationError as exc:
        return _signed_out(exc.reason, exc.message, token, header_type)
    token_type = header_type or _payload_type(claims)
    if token_type not in accepted or (from_cookie and token_type != "session_token"):
        return _mismatch(token, token_type, accepted)
    if token_type == "session_token" and not _is_session_category(parsed):
        return _signed_out(
            "token-type-mismatch",
            f"the token's category (cat {parsed.cat!r}) is not a session token's",
            token,
            token_type,
        )
    try:
        _check_category(parsed, token_type)
        check_claims(
            claims,
            authorized_parties=authorized_parties,
            audience=audience,
            clock_skew=clock_skew,
        )
    except TokenVerificationError as exc:
        return _signed_out(exc.reason, exc.message, token, token_type)

    if token_type != "session_token":
        return RequestState(
            is_signed_in=True,
            token=token,
            token_type=token_type,
            claims=claims,
            machine=_jwt_machine(claims, token_type),
        )
    if claims.sts == "pending" and treat_pending_as_signed_out:
        return RequestState(
            is_signed_in=False,
            reason="session-token-pending",
            message="the session is pending: a session task is still open",
            token=token,
            token_type="session_token",
            claims=claims,
        )
    return RequestState(is_signed_in=True, token=token, token_type="session_token", claims=claims)


def _split(value: str | list[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    return tuple(value.split()) if isinstance(value, str) else tuple(value)


def _jwt_machine(claims: SessionClaims, token_type: TokenType) -> MachineToken:
    """The machine details of a verified JWT machine token, read as Clerk's SDKs read them:
    M2M scopes from ``scopes``, falling back to ``aud``; OAuth scopes from ``scp``, falling
    back to ``scope``."""
    if token_type == "m2m_token":
        scopes = _split(claims.scopes) if claims.scopes is not None else _split(claims.aud)
    else:
        scopes = tuple(claims.scp) if claims.scp is not None else _split(claims.scope)
    return MachineToken(
        id=claims.jti,
        subject=claims.sub,
        scopes=scopes,
        client_id=claims.client_id,
        expires_at=claims.exp,
    )


def _mismatch(token: str, token_type: TokenType, accepted: frozenset[str]) -> RequestState:
    return _signed_out(
        "token-type-mismatch",
        f"a {token_type} is not accepted here (accepted: {', '.join(sorted(accepted))})",
        token,
        token_type,
    )


async def _opaque(
    clerk: AsyncClerk,
    token: str,
    token_type: TokenType,
    clock_skew: float,
    cache: MachineTokenCache | None,
    instance: str,
) -> RequestState:
    async def ask_clerk() -> RequestState:
        return await _verify_opaque(clerk, token, token_type, clock_skew)

    if cache is None:
        return await ask_clerk()
    state = await cache.verify(MachineTokenCache.key(instance, token), ask_clerk)
    return dataclasses.replace(state, token=token)


def _expires_at(expiration_ms: float | None) -> float | None:
    # Clerk sends the expiry of a machine token in milliseconds since 1970.
    return None if expiration_ms is None else expiration_ms / 1000


async def _verify_opaque(
    clerk: AsyncClerk, token: str, token_type: TokenType, clock_skew: float
) -> RequestState:
    """Ask Clerk about an opaque machine token.

    Clerk's 4xx answers about the token mean it is not valid (``token-invalid``); an answer
    that is not about the token (401/403 for our key, 429, 5xx, network) is
    ``token-verification-failed``.
    """
    try:
        if token_type == "m2m_token":
            m2m = await clerk.m2m.verify_token(token=token)
            revoked, expired = m2m.revoked, m2m.expired
            machine = MachineToken(
                id=m2m.id,
                subject=m2m.subject,
                scopes=tuple(m2m.scopes or ()),
                claims=m2m.claims,
                expires_at=_expires_at(m2m.expiration),
            )
        elif token_type == "api_key":
            key = await clerk.api_keys.verify(secret=token)
            revoked, expired = key.revoked, key.expired
            machine = MachineToken(
                id=key.id,
                subject=key.subject,
                scopes=tuple(key.scopes),
                claims=key.claims,
                expires_at=_expires_at(key.expiration),
            )
        else:
            oat = await clerk.oauth_access_tokens.verify(access_token=token)
            revoked = bool(oat.revoked) or oat.active is False
            expired = bool(oat.expired)
            machine = MachineToken(
                id=oat.id,
                subject=oat.subject,
                scopes=tuple(oat.scopes or ()),
                client_id=oat.client_id,
                expires_at=_expires_at(oat.expiration),
            )
    except ClerkAPIError as exc:
        if 400 <= exc.status < 500 and exc.status not in _NOT_THE_TOKENS_FAULT:
            return _signed_out(
                "token-invalid", f"Clerk refused the {token_type}: {exc}", token, token_type
            )
        return _signed_out("token-verification-failed", str(exc), token, token_type)
    except ClerkError as exc:
        return _signed_out("token-verification-failed", str(exc), token, token_type)
    if revoked:
        return _signed_out("token-invalid", f"the {token_type} was revoked", token, token_type)
    if expired or (
        machine.expires_at is not None and machine.expires_at <= time.time() - clock_skew
    ):
        return _signed_out("token-expired", f"the {token_type} has expired", token, token_type)
    return RequestState(is_signed_in=True, token=token, token_type=token_type, machine=machine)
