"""FakeClerk: a small, stateful stand-in for Clerk's Backend API, served on 127.0.0.1.

It speaks real HTTP through aiohttp, so the SDK under test runs its whole request path
(connection pool, retries, decoding) exactly as it would against ``api.clerk.com``. The
modelled operations are listed in docs/testing.md (generated from :meth:`FakeClerk.routes`);
every other operation answers a Clerk-shaped 404 naming it, so a call the fake does not know
fails at once instead of hanging or returning something invented.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from types import MappingProxyType, TracebackType
from typing import Any

import aiohttp
import msgspec
from aiohttp import web
from multidict import MultiDict, MultiDictProxy

from ._controls import FailureQueue, RecordedRequest
from ._handlers._base import Handler, Route, json
from ._handlers._email_addresses import EmailAddressHandlers
from ._handlers._invitations import InvitationHandlers
from ._handlers._machine import MachineHandlers
from ._handlers._memberships import MembershipHandlers
from ._handlers._organizations import OrganizationHandlers
from ._handlers._sessions import SessionHandlers
from ._handlers._uploads import Uploads
from ._handlers._users import UserHandlers
from ._rate_limit import FixedWindow
from ._reject import Reject
from ._router import ModelledRoute, add_routes, resolve, unmodelled_message
from ._store import JSON, Store
from ._tokens import SigningKey, session_claims
from ._webhooks import new_webhook_secret, sign_webhook

__all__ = ["FakeClerk", "WebhookDelivery"]

_UNLIMITED_PATHS = frozenset({"/v1/jwks"})  # Clerk does not rate-limit the JWKS


@dataclass(frozen=True)
class WebhookDelivery:
    """What an endpoint answered to :meth:`FakeClerk.send_webhook`.

    Attributes:
        status: the HTTP status of the answer.
        body: the raw answer body.
        msg_id: the ``svix-id`` the delivery carried.
        payload: the exact bytes that were sent and signed.
    """

    status: int
    body: bytes
    msg_id: str
    payload: bytes

    def json(self) -> Any:
        """The answer body decoded as JSON."""
        return msgspec.json.decode(self.body)


class FakeClerk:
    """An in-process Backend API on 127.0.0.1, for tests, demos and examples.

    Use it as an async context manager; the server listens on a free port while the block
    runs::

        async with FakeClerk(users=100) as fake:
            async with AsyncClerk(fake.secret_key, server_url=fake.url) as clerk:
                user = await clerk.users.create(email_address=["ada@example.com"])
                token = fake.session_token(user.id)

    Args:
        secret_key: the only key accepted in ``Authorization: Bearer ...``.
        users: how many deterministic users to create before serving (see :meth:`seed_users`).
        organizations: how many organizations to create (see :meth:`seed_organizations`).
        delay: seconds each request waits before it is answered, so that concurrent calls
            overlap measurably; also settable later through the attribute of the same name.
        rate_limit: ``(requests, seconds)``: a fixed window per secret key, as Clerk
            enforces; once exceeded, requests get 429 with ``Retry-After``. ``/jwks`` is
            never limited.
        webhook_secret: the ``whsec_`` secret :meth:`send_webhook` signs with (a fresh one
            when omitted).

    Attributes:
        requests: every request received, in arrival order; clear it freely.
        max_in_flight: the most requests that were being handled at the same moment.
        jwks: the public JWKs ``GET /v1/jwks`` returns; the fake's own key until replaced.
        jwks_fetches: how many times ``GET /v1/jwks`` was answered.
        uploads: files received by the multipart operations.
        roles: the organization roles the instance knows, each with its permissions;
            ``org:admin`` and ``org:member`` to begin with. Add custom roles here.
        delay: see above.
    """

    def __init__(
        self,
        secret_key: str = "sk_test_fake",
        *,
        users: int = 0,
        organizations: int = 0,
        delay: float = 0.0,
        rate_limit: tuple[int, float] | None = None,
        webhook_secret: str | None = None,
    ) -> None:
        self.secret_key = secret_key
        self.delay = delay
        self.requests: list[RecordedRequest] = []
        self.uploads = Uploads()
        self.jwks_fetches = 0
        self.max_in_flight = 0
        self.webhook_secret = webhook_secret or new_webhook_secret()
        self._jwks: list[JSON] | None = None
        self._in_flight = 0
        self._failures = FailureQueue()
        self._rate_limit = FixedWindow(*rate_limit) if rate_limit is not None else None
        self._runner: web.AppRunner | None = None
        self._url: str | None = None
        self._store = Store()
        self.roles = self._store.roles
        self._routes: list[Route] = [
            Route("jwks.get_jwks", self._get_jwks),
            *UserHandlers(self._store, self.uploads).routes(),
            *OrganizationHandlers(self._store, self.uploads).routes(),
            *MembershipHandlers(self._store).routes(),
            *SessionHandlers(self._store, self._token_for_session).routes(),
            *InvitationHandlers(self._store).routes(),
            *EmailAddressHandlers(self._store).routes(),
            *MachineHandlers(self._store).routes(),
        ]
        if users:
            self.seed_users(users)
        if organizations:
            self.seed_organizations(organizations)

    def __repr__(self) -> str:
        state = self._url or "not running"
        return f"FakeClerk({state}, users={len(self._store.users)})"

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self, *, host: str = "127.0.0.1", port: int = 0) -> FakeClerk:
        """Start serving (on a free port unless ``port`` is given); :attr:`url` is valid
        afterwards."""
        if self._runner is not None:
            raise RuntimeError("this FakeClerk is already running")
        app = web.Application(middlewares=[self._middleware], client_max_size=12 * 1024 * 1024)
        add_routes(app, self._routes)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        try:
            site = web.TCPSite(runner, host, port)
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        bound_host, bound_port = runner.addresses[0][:2]
        self._runner = runner
        self._url = f"http://{bound_host}:{bound_port}/v1"
        return self

    async def close(self) -> None:
        """Stop serving and close every connection. Safe to call twice."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> FakeClerk:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    @property
    def url(self) -> str:
        """The base URL to pass as ``AsyncClerk(server_url=...)``, ending in ``/v1``."""
        if self._url is None:
            raise RuntimeError("FakeClerk is not running: use `async with FakeClerk() as fake:`")
        return self._url

    def routes(self) -> list[ModelledRoute]:
        """The modelled operations as ``(HTTP method, path template, SDK name)``, in the
        order they are matched."""
        return [entry for entry, _ in resolve(self._routes)]

    # -- state -------------------------------------------------------------------------------

    @property
    def users(self) -> Mapping[str, JSON]:
        """The stored users by id, in creation order (a read-only view of the live state)."""
        return MappingProxyType(self._store.users)

    @property
    def organizations(self) -> Mapping[str, JSON]:
        """The stored organizations by id, in creation order (a read-only view)."""
        return MappingProxyType(self._store.organizations)

    @property
    def sessions(self) -> Mapping[str, JSON]:
        """The stored sessions by id, in creation order (a read-only view)."""
        return MappingProxyType(self._store.sessions)

    def seed_users(self, count: int) -> list[str]:
        """Create ``count`` users directly (no HTTP) and return their ids, oldest first.

        Seeded user number ``n`` (counting from 1 over the fake's life) takes the name of one
        of 16 computing pioneers in turn, the username ``userNNNNN`` and the verified address
        ``userNNNNN@example.com``. Ids sort in creation order.
        """
        return self._store.seed_users(count)

    def seed_organizations(self, count: int) -> list[str]:
        """Create ``count`` organizations named ``Organization NNNNN`` and return their ids."""
        return self._store.seed_organizations(count)

    def add_membership(self, organization_id: str, user_id: str, role: str = "org:member") -> JSON:
        """Make a user a member of an organization directly (no HTTP); returns the membership
        as ``organization_memberships.create`` would.

        Raises:
            LookupError: when the user or the organization does not exist, the role is not in
                :attr:`roles`, or the user is already a member.
        """
        try:
            organization = self._store.organization(organization_id)
            membership = self._store.add_membership(organization, self._store.user(user_id), role)
        except Reject as exc:
            raise LookupError(exc.long_message) from None
        return self._store.render_membership(membership)

    # -- test controls -------------------------------------------------------------------------

    def fail_next(
        self,
        status: int,
        *,
        times: int = 1,
        code: str | None = None,
        headers: Mapping[str, str] | None = None,
        when: Callable[[RecordedRequest], bool] | None = None,
    ) -> None:
        """Answer the next ``times`` authenticated requests with ``status`` and Clerk's error
        body, instead of handling them; for example ``fail_next(429, headers={"Retry-After":
        "1"})``. Calls queue up: each is used up before the next one applies.

        With ``when``, only requests it accepts are failed (and counted); the others are
        handled as usual. For example, the third page of a user listing::

            fake.fail_next(
                500, when=lambda r: r.path == "/v1/users" and r.query.get("offset") == "200"
            )
        """
        self._failures.add(status, times, code, headers, when)

    # -- tokens --------------------------------------------------------------------------------

    @cached_property
    def _signing_key(self) -> SigningKey:
        # Made on first use: generating an RSA key costs about 0.1 s, and most fakes in a
        # test suite never sign anything.
        return SigningKey("ins_fake_" + secrets.token_hex(8))

    @property
    def jwks(self) -> list[JSON]:
        if self._jwks is None:
            self._jwks = [self._signing_key.jwk]
        return self._jwks

    @jwks.setter
    def jwks(self, keys: list[JSON]) -> None:
        self._jwks = keys

    @property
    def jwt_key(self) -> str:
        """The PEM public key matching the fake's signing key, for networkless verification
        (``AsyncClerk(..., jwt_key=fake.jwt_key)`` or ``verify_token(token, jwt_key=...)``)."""
        return self._signing_key.public_pem

    def session_token(
        self,
        user_id: str,
        *,
        session_id: str | None = None,
        org_id: str | None = None,
        org_role: str | None = None,
        org_permissions: Iterable[str] = (),
        claims: Mapping[str, Any] | None = None,
        expires_in: float = 60,
        not_before: float | None = None,
        issued_at: float | None = None,
        azp: str | None = None,
        version: int = 2,
    ) -> str:
        """A session token for ``user_id``, signed with the fake's key.

        A client pointed at the fake verifies it (``authenticate_request``, ``verify_token``,
        ``ClerkAuth``). Without ``session_id``, an active session is created for the user, so
        ``clerk.sessions.get(auth.session_id)`` finds it.

        Args:
            org_id: the active organization; its slug is filled in when the fake holds it.
            org_role: the role in it, such as ``"org:admin"``; defaults to the user's
                membership role when the fake holds the membership.
            org_permissions: ``org:<feature>:<action>`` keys; for a v2 token they are
                encoded in ``fea``, ``o.per`` and ``o.fpm`` as Clerk does.
            claims: extra or overriding claims (a JWT template's, or ``sts``, ``act``...).
            expires_in: seconds from ``issued_at`` to ``exp``; negative for an expired token.
            not_before: ``nbf`` in Unix seconds (a future time makes a not-yet-valid token).
            issued_at: ``iat`` in Unix seconds (now by default).
            azp: the authorized party (the origin of the frontend), checked by
                ``authorized_parties``.
            version: 2 (Clerk's current tokens) or 1 (``org_id``, ``org_role``... claims).
        """
        if session_id is None:
            session_id = self._store.new_session(user_id, org_id=org_id)["id"]
        org_slug = None
        if org_id is not None:
            organization = self._store.organizations.get(org_id)
            org_slug = organization["slug"] if organization else None
            membership = self._store.memberships.get(org_id, {}).get(user_id)
            if org_role is None and membership is not None:
                org_role = membership["role"]
        payload = session_claims(
            user_id,
            session_id,
            org_id=org_id,
            org_slug=org_slug,
            org_role=org_role,
            org_permissions=org_permissions,
            claims=claims,
            expires_in=expires_in,
            not_before=not_before,
            issued_at=issued_at,
            azp=azp,
            version=version,
        )
        return self._signing_key.sign(payload)

    def _token_for_session(self, session: dict[str, Any], lifetime: int) -> str:
        return self.session_token(
            str(session["user_id"]),
            session_id=str(session["id"]),
            org_id=session["last_active_organization_id"],
            expires_in=lifetime,
        )

    async def create_api_key(
        self,
        subject: str,
        *,
        scopes: Iterable[str] = (),
        claims: Mapping[str, Any] | None = None,
        name: str = "test key",
        expires_in: float | None = None,
    ) -> str:
        """A new API key (``ak_…``) for ``subject`` (a ``user_`` or ``org_`` id), accepted by
        ``authenticate_request(accepts_token="api_key")``; ``expires_in`` seconds makes it
        expire (negative: already expired)."""
        secret, _ = self._store.new_machine_token(
            "api_key",
            subject,
            scopes=scopes,
            claims=dict(claims) if claims else None,
            name=name,
            expires_in=expires_in,
        )
        return secret

    async def create_m2m_token(
        self,
        machine_id: str,
        *,
        scopes: Iterable[str] = (),
        claims: Mapping[str, Any] | None = None,
        expires_in: float | None = None,
    ) -> str:
        """A new opaque machine-to-machine token (``mt_…``) issued to ``machine_id``
        (``mch_…``); ``scopes`` are the machine ids it may call."""
        secret, _ = self._store.new_machine_token(
            "m2m_token",
            machine_id,
            scopes=scopes,
            claims=dict(claims) if claims else None,
            expires_in=expires_in,
        )
        return secret

    async def create_oauth_token(
        self,
        user_id: str,
        *,
        client_id: str = "client_fake",
        scopes: Iterable[str] = (),
        expires_in: float | None = None,
    ) -> str:
        """A new opaque OAuth access token (``oat_…``) a user granted to ``client_id``."""
        secret, _ = self._store.new_machine_token(
            "oauth_token", user_id, scopes=scopes, client_id=client_id, expires_in=expires_in
        )
        return secret

    async def revoke_token(self, secret: str, reason: str | None = None) -> None:
        """Revoke a machine token made by this fake; verifying it then reports it revoked.

        Raises:
            LookupError: when this fake did not issue ``secret``.
        """
        record = self._store.machine_tokens.get(secret)
        if record is None:
            raise LookupError("this FakeClerk did not issue that token")
        self._store.revoke_machine_token(record["id"], reason)

    # -- webhooks ------------------------------------------------------------------------------

    async def send_webhook(
        self,
        url: str,
        event_type: str,
        data: Mapping[str, Any],
        *,
        timeout: float = 10.0,
        msg_id: str | None = None,
        timestamp: int | None = None,
    ) -> WebhookDelivery:
        """POST a signed event to ``url``, as Clerk would deliver it.

        The body is ``{"object": "event", "type": event_type, "data": data, ...}`` and the
        ``svix-id``, ``svix-timestamp`` and ``svix-signature`` headers are signed with
        :attr:`webhook_secret`. Returns the endpoint's answer; it does not retry.

        Raises:
            aiohttp.ClientError: when the endpoint cannot be reached.
            TimeoutError: when it does not answer within ``timeout`` seconds.
        """
        event = {
            "object": "event",
            "type": event_type,
            "instance_id": "ins_fake",
            "timestamp": int(time.time() * 1000),
            "data": dict(data),
            "event_attributes": {"http_request": {"client_ip": "127.0.0.1", "user_agent": ""}},
        }
        body, headers = sign_webhook(event, self.webhook_secret, msg_id=msg_id, timestamp=timestamp)
        headers["Content-Type"] = "application/json"
        client_timeout = aiohttp.ClientTimeout(total=timeout)
        async with (
            aiohttp.ClientSession(timeout=client_timeout) as session,
            session.post(url, data=body, headers=headers) as response,
        ):
            answer = await response.read()
            return WebhookDelivery(response.status, answer, headers["svix-id"], body)

    # -- plumbing ------------------------------------------------------------------------------

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        body = await request.read()
        recorded = RecordedRequest(
            request.method,
            request.path,
            MultiDictProxy(MultiDict(request.query)),
            request.headers,
            body,
        )
        self.requests.append(recorded)
        self._in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self._in_flight)
        try:
            if self.delay > 0:
                await asyncio.sleep(self.delay)
            key = self._authenticate(request)
            if self._rate_limit is not None and request.path not in _UNLIMITED_PATHS:
                self._rate_limit.admit(key)
            self._failures.check(recorded)
            return await handler(request)
        except Reject as reject:
            return _error_response(reject)
        except web.HTTPException as exc:
            if exc.status not in (404, 405):
                raise
            message = unmodelled_message(request.method, request.path)
            return _error_response(Reject(404, "resource_not_found", "not found", message))
        finally:
            self._in_flight -= 1

    def _authenticate(self, request: web.Request) -> str:
        scheme, _, key = request.headers.get("Authorization", "").partition(" ")
        if scheme != "Bearer" or not key.strip():
            raise Reject(
                401,
                "authorization_header_format_invalid",
                "Invalid Authorization header format",
                "The Authorization header must be 'Bearer <secret key>'.",
            )
        if not secrets.compare_digest(key.strip().encode(), self.secret_key.encode()):
            raise Reject(
                401,
                "clerk_key_invalid",
                "Secret Key invalid",
                "The Secret Key sent in the Authorization header is not this instance's key.",
            )
        return key.strip()

    async def _get_jwks(self, request: web.Request) -> web.Response:
        self.jwks_fetches += 1
        return json({"keys": list(self.jwks)})


def _error_response(reject: Reject) -> web.Response:
    body = {
        "errors": [
            {
                "message": reject.message,
                "long_message": reject.long_message,
                "code": reject.code,
                "meta": reject.meta,
            }
        ],
        "clerk_trace_id": secrets.token_hex(16),
    }
    response = json(body, reject.status)
    response.headers.update(reject.headers)
    return response
