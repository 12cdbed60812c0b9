"""FakeClerk: a small, stateful stand-in for Clerk's Backend API, served on 127.0.0.1.

It speaks real HTTP through aiohttp, so the SDK under test runs its whole request path
(connection pool, retries, decoding) exactly as it would against ``api.clerk.com``. Only the
operations most programs start with are modelled (users, organizations and the JWKS); every
other path answers a Clerk-shaped 404 naming the path, so a call the fake does not know fails
at once instead of hanging or returning something invented.

The JSON follows the ``User``, ``EmailAddress``, ``PhoneNumber``, ``Organization``,
``Organizations``, ``DeletedObject`` and ``TotalCount`` schemas of the vendored OpenAPI spec,
with every required field present. Errors have Clerk's shape::

    {"errors": [{"code": ..., "message": ..., "long_message": ..., "meta": {...}}],
     "clerk_trace_id": "..."}

Known simplifications: phone numbers are stored but never verified, web3 wallets, TOTP and
backup codes are accepted and ignored, a custom ``created_at`` in a request body is ignored
(records are always ordered by when the fake created them), and organization memberships
exist only for ``created_by``.
"""

from __future__ import annotations

import asyncio
import bisect
import hashlib
import re
import secrets
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from email import policy as email_policy
from email.parser import BytesParser
from types import MappingProxyType, TracebackType
from typing import Any

import msgspec
from aiohttp import web
from multidict import CIMultiDictProxy, MultiDict, MultiDictProxy, MultiMapping

__all__ = ["FakeClerk", "RecordedRequest", "Upload"]

JSON = dict[str, Any]
_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"  # ASCII order
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_IMAGE_HOST = "https://img.clerk.com/fake"

_PIONEERS = (
    ("Ada", "Lovelace"),
    ("Grace", "Hopper"),
    ("Alan", "Turing"),
    ("Edsger", "Dijkstra"),
    ("Barbara", "Liskov"),
    ("Donald", "Knuth"),
    ("Frances", "Allen"),
    ("Ken", "Thompson"),
    ("Margaret", "Hamilton"),
    ("Dennis", "Ritchie"),
    ("Radia", "Perlman"),
    ("John", "Backus"),
    ("Katherine", "Johnson"),
    ("Guido", "van Rossum"),
    ("Sophie", "Wilson"),
    ("Niklaus", "Wirth"),
)

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

# Body fields each modelled operation accepts, copied from the spec's request bodies, with the
# JSON type each must have; a trailing "?" allows null. Anything else is a 422
# ``form_param_unknown``, which is how Clerk answers a misspelt or removed field.
_Kinds = Mapping[str, str]
_CREATE_USER: _Kinds = {
    "external_id": "str?",
    "first_name": "str?",
    "last_name": "str?",
    "locale": "str?",
    "email_address": "strings",
    "email_address_identification_status": "strings",
    "phone_number": "strings",
    "phone_number_identification_status": "strings",
    "web3_wallet": "strings",
    "username": "str?",
    "password": "str?",
    "password_digest": "str?",
    "password_hasher": "str",
    "skip_password_checks": "bool?",
    "skip_password_requirement": "bool?",
    "totp_secret": "str?",
    "backup_codes": "strings",
    "public_metadata": "object",
    "private_metadata": "object",
    "unsafe_metadata": "object",
    "delete_self_enabled": "bool?",
    "legal_accepted_at": "str?",
    "skip_legal_checks": "bool?",
    "skip_user_requirement": "bool?",
    "create_organization_enabled": "bool?",
    "create_organizations_limit": "int?",
    "created_at": "str?",
    "bypass_client_trust": "bool?",
    "banned": "bool?",
    "locked": "bool?",
}
_UPDATE_USER: _Kinds = {
    "external_id": "str?",
    "first_name": "str?",
    "last_name": "str?",
    "locale": "str?",
    "primary_email_address_id": "str?",
    "notify_primary_email_address_changed": "bool?",
    "primary_phone_number_id": "str?",
    "primary_web3_wallet_id": "str?",
    "username": "str?",
    "profile_image_id": "str?",
    "password": "str?",
    "password_digest": "str",
    "password_hasher": "str",
    "skip_password_checks": "bool?",
    "sign_out_of_other_sessions": "bool?",
    "totp_secret": "str?",
    "backup_codes": "strings",
    "delete_self_enabled": "bool?",
    "create_organization_enabled": "bool?",
    "legal_accepted_at": "str?",
    "skip_legal_checks": "bool?",
    "create_organizations_limit": "int?",
    "created_at": "str?",
    "bypass_client_trust": "bool?",
}
_USER_METADATA: _Kinds = {
    "public_metadata": "object",
    "private_metadata": "object",
    "unsafe_metadata": "object",
}
_CREATE_ORGANIZATION: _Kinds = {
    "name": "str",
    "created_by": "str?",
    "private_metadata": "object?",
    "public_metadata": "object?",
    "slug": "str?",
    "max_allowed_memberships": "int?",
    "created_at": "str?",
    "role_set_key": "str?",
}
_UPDATE_ORGANIZATION: _Kinds = {
    "name": "str?",
    "slug": "str?",
    "max_allowed_memberships": "int?",
    "admin_delete_enabled": "bool?",
    "created_at": "str?",
    "role_set_key": "str?",
}
_ORGANIZATION_METADATA: _Kinds = {"public_metadata": "object", "private_metadata": "object"}

# What ``order_by`` may name for users, and how each orders a user.
_USER_ORDER_KEYS: dict[str, Callable[[JSON], Any]] = {
    "created_at": lambda user: user["created_at"],
    "updated_at": lambda user: user["updated_at"],
    "first_name": lambda user: user["first_name"],
    "last_name": lambda user: user["last_name"],
    "username": lambda user: user["username"],
    "email_address": lambda user: _primary(user, "email_addresses", "email_address"),
    "phone_number": lambda user: _primary(user, "phone_numbers", "phone_number"),
    "web3wallet": lambda user: None,
    "last_active_at": lambda user: user["last_active_at"],
    "last_sign_in_at": lambda user: user["last_sign_in_at"],
}
_ORGANIZATION_ORDER_KEYS = ("created_at", "name", "members_count")


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the fake received it, before any checks.

    Attributes:
        method: the HTTP method.
        path: the path, including the ``/v1`` prefix.
        query: the query string, with repeated names kept.
        headers: the request headers.
        body: the raw body (empty when there was none).
    """

    method: str
    path: str
    query: MultiDictProxy[str]
    headers: CIMultiDictProxy[str]
    body: bytes

    def json(self) -> Any:
        """The body decoded as JSON, or None when it is empty."""
        return msgspec.json.decode(self.body) if self.body else None


@dataclass(frozen=True)
class Upload:
    """A file received by a multipart operation (a profile image or an organization logo)."""

    target_id: str
    field: str
    filename: str | None
    content_type: str
    content: bytes


@dataclass
class _Failure:
    status: int
    code: str
    headers: Mapping[str, str]
    remaining: int
    when: Callable[[RecordedRequest], bool] | None


class _Reject(Exception):
    """An answer in Clerk's error shape, raised by a handler and rendered by the middleware."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        long_message: str | None = None,
        *,
        param: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.long_message = long_message or message
        self.meta: JSON = {"param_name": param} if param else {}
        self.headers = dict(headers or {})


class FakeClerk:
    """An in-process Backend API on 127.0.0.1, for demos, examples and tests.

    Use it as an async context manager; the server listens on a free port while the block
    runs::

        async with FakeClerk(users=100) as fake:
            async with AsyncClerk(bearer_auth=fake.secret_key, server_url=fake.url) as clerk:
                user = await clerk.users.create(email_address=["ada@example.com"])

    Args:
        secret_key: the only key accepted in ``Authorization: Bearer ...``.
        users: how many deterministic users to create before serving (see :meth:`seed_users`).
        delay: seconds each request waits before it is answered, so that concurrent calls
            overlap measurably; also settable later through the attribute of the same name.

    Attributes:
        requests: every request received, in arrival order; clear it freely.
        max_in_flight: the most requests that were being handled at the same moment.
        jwks: the public JWKs ``GET /v1/jwks`` returns.
        jwks_fetches: how many times ``GET /v1/jwks`` was answered.
        uploads: files received by the multipart operations.
        delay: see above.
    """

    def __init__(
        self, secret_key: str = "sk_test_fake", *, users: int = 0, delay: float = 0.0
    ) -> None:
        self.secret_key = secret_key
        self.delay = delay
        self.requests: list[RecordedRequest] = []
        self.uploads: list[Upload] = []
        self.jwks: list[JSON] = []
        self.jwks_fetches = 0
        self.max_in_flight = 0
        self._in_flight = 0
        self._failures: list[_Failure] = []
        self._runner: web.AppRunner | None = None
        self._url: str | None = None
        self._counter = 0
        self._clock = 0
        self._seeded_users = 0
        self._seeded_organizations = 0
        self._users: dict[str, JSON] = {}
        self._user_list: list[JSON] | None = None  # ascending by creation; rebuilt lazily
        self._emails: dict[str, str] = {}  # lowercased address -> user id
        self._phones: dict[str, str] = {}
        self._usernames: dict[str, str] = {}
        self._external_ids: dict[str, str] = {}
        self._organizations: dict[str, JSON] = {}
        self._slugs: dict[str, str] = {}
        self._members: dict[str, set[str]] = {}  # organization id -> user ids
        if users:
            self.seed_users(users)

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> FakeClerk:
        """Start serving on a free port of 127.0.0.1; :attr:`url` is valid afterwards."""
        if self._runner is not None:
            raise RuntimeError("this FakeClerk is already running")
        app = web.Application(middlewares=[self._middleware], client_max_size=12 * 1024 * 1024)
        self._add_routes(app)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        try:
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        host, port = runner.addresses[0][:2]
        self._runner = runner
        self._url = f"http://{host}:{port}/v1"
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

    @property
    def users(self) -> Mapping[str, JSON]:
        """The stored users by id, in creation order (a read-only view of the live state)."""
        return MappingProxyType(self._users)

    @property
    def organizations(self) -> Mapping[str, JSON]:
        """The stored organizations by id, in creation order (a read-only view)."""
        return MappingProxyType(self._organizations)

    # -- test controls -------------------------------------------------------------------------

    def seed_users(self, count: int) -> list[str]:
        """Create ``count`` users directly (no HTTP) and return their ids, oldest first.

        Seeded user number ``n`` (counting from 1 over the fake's life) takes the name of one
        of 16 computing pioneers in turn, the username ``userNNNNN`` and the verified address
        ``userNNNNN@example.com``. Ids sort in creation order.
        """
        ids = []
        for _ in range(count):
            self._seeded_users += 1
            n = self._seeded_users
            first_name, last_name = _PIONEERS[(n - 1) % len(_PIONEERS)]
            user = self._new_user(
                first_name=first_name,
                last_name=last_name,
                username=f"user{n:05d}",
                emails=[(f"user{n:05d}@example.com", False)],
            )
            ids.append(user["id"])
        return ids

    def seed_organizations(self, count: int) -> list[str]:
        """Create ``count`` organizations named ``Organization NNNNN`` and return their ids."""
        ids = []
        for _ in range(count):
            self._seeded_organizations += 1
            n = self._seeded_organizations
            organization = self._new_organization(name=f"Organization {n:05d}")
            ids.append(organization["id"])
        return ids

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

            fake.fail_next(500, when=lambda r: r.path == "/v1/users" and r.query.get("offset") == "200")
        """
        if times < 1:
            raise ValueError("times must be at least 1")
        self._failures.append(
            _Failure(
                status,
                code or _FAILURE_CODES.get(status, "fake_failure"),
                dict(headers or {}),
                times,
                when,
            )
        )

    # -- plumbing ------------------------------------------------------------------------------

    @web.middleware
    async def _middleware(self, request: web.Request, handler: _Handler) -> web.StreamResponse:
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
            self._authenticate(request)
            self._injected_failure(recorded)
            return await handler(request)
        except _Reject as reject:
            return _error_response(reject)
        except web.HTTPException as exc:
            if exc.status not in (404, 405):
                raise
            return _error_response(
                _Reject(
                    404,
                    "resource_not_found",
                    "not found",
                    f"FakeClerk does not implement {request.method} {request.path}; only users,"
                    " organizations and the JWKS are modelled.",
                )
            )
        finally:
            self._in_flight -= 1

    def _authenticate(self, request: web.Request) -> None:
        scheme, _, key = request.headers.get("Authorization", "").partition(" ")
        if scheme != "Bearer" or not key.strip():
            raise _Reject(
                401,
                "authorization_header_format_invalid",
                "Invalid Authorization header format",
                "The Authorization header must be 'Bearer <secret key>'.",
            )
        if not secrets.compare_digest(key.strip().encode(), self.secret_key.encode()):
            raise _Reject(
                401,
                "clerk_key_invalid",
                "Secret Key invalid",
                "The Secret Key sent in the Authorization header is not this instance's key.",
            )

    def _injected_failure(self, request: RecordedRequest) -> None:
        if not self._failures:
            return
        failure = self._failures[0]
        if failure.when is not None and not failure.when(request):
            return
        failure.remaining -= 1
        if failure.remaining == 0:
            self._failures.pop(0)
        raise _Reject(
            failure.status,
            failure.code,
            f"injected HTTP {failure.status}",
            f"FakeClerk.fail_next answered this request with HTTP {failure.status}.",
            headers=failure.headers,
        )

    def _add_routes(self, app: web.Application) -> None:
        # Static paths first: "/users/count" must not be taken for a user id.
        app.router.add_get("/v1/jwks", self._get_jwks)
        app.router.add_get("/v1/users/count", self._count_users)
        app.router.add_get("/v1/users", self._list_users)
        app.router.add_post("/v1/users", self._create_user)
        app.router.add_get("/v1/users/{user_id}", self._get_user)
        app.router.add_patch("/v1/users/{user_id}", self._update_user)
        app.router.add_delete("/v1/users/{user_id}", self._delete_user)
        app.router.add_patch("/v1/users/{user_id}/metadata", self._merge_user_metadata)
        app.router.add_put("/v1/users/{user_id}/metadata", self._replace_user_metadata)
        app.router.add_post("/v1/users/{user_id}/ban", self._ban_user)
        app.router.add_post("/v1/users/{user_id}/unban", self._unban_user)
        app.router.add_post("/v1/users/{user_id}/profile_image", self._set_profile_image)
        app.router.add_delete("/v1/users/{user_id}/profile_image", self._delete_profile_image)
        app.router.add_get("/v1/organizations", self._list_organizations)
        app.router.add_post("/v1/organizations", self._create_organization)
        app.router.add_get("/v1/organizations/{organization_id}", self._get_organization)
        app.router.add_patch("/v1/organizations/{organization_id}", self._update_organization)
        app.router.add_delete("/v1/organizations/{organization_id}", self._delete_organization)
        app.router.add_patch(
            "/v1/organizations/{organization_id}/metadata", self._merge_organization_metadata
        )
        app.router.add_put(
            "/v1/organizations/{organization_id}/metadata", self._replace_organization_metadata
        )
        app.router.add_put("/v1/organizations/{organization_id}/logo", self._upload_logo)
        app.router.add_delete("/v1/organizations/{organization_id}/logo", self._delete_logo)

    def _new_id(self, prefix: str) -> str:
        """``prefix_`` and 27 base62 characters; ids sort in creation order."""
        self._counter += 1
        head = "2" + _base62(self._counter).rjust(7, "0")
        digest = hashlib.blake2b(f"{prefix}{self._counter}".encode(), digest_size=16).digest()
        tail = _base62(int.from_bytes(digest, "big")).rjust(19, "0")[:19]
        return f"{prefix}_{head}{tail}"

    def _tick(self) -> int:
        """Now in Unix milliseconds, strictly increasing so creation order is total."""
        self._clock = max(int(time.time() * 1000), self._clock + 1)
        return self._clock

    # -- users: state ----------------------------------------------------------------------------

    def _new_user(
        self,
        *,
        first_name: str | None = None,
        last_name: str | None = None,
        username: str | None = None,
        external_id: str | None = None,
        locale: str | None = None,
        emails: Iterable[tuple[str, bool]] = (),
        phones: Iterable[tuple[str, bool]] = (),
        password: bool = False,
        public_metadata: JSON | None = None,
        private_metadata: JSON | None = None,
        unsafe_metadata: JSON | None = None,
        banned: bool = False,
        locked: bool = False,
        delete_self_enabled: bool = True,
        create_organization_enabled: bool = True,
        create_organizations_limit: int | None = None,
        bypass_client_trust: bool = False,
    ) -> JSON:
        now = self._tick()
        user_id = self._new_id("user")
        email_addresses = [self._identification("email_address", a, r, now) for a, r in emails]
        phone_numbers = [self._identification("phone_number", p, r, now) for p, r in phones]
        user: JSON = {
            "id": user_id,
            "object": "user",
            "external_id": external_id,
            "primary_email_address_id": email_addresses[0]["id"] if email_addresses else None,
            "primary_phone_number_id": phone_numbers[0]["id"] if phone_numbers else None,
            "primary_web3_wallet_id": None,
            "username": username,
            "first_name": first_name,
            "last_name": last_name,
            "locale": locale,
            "profile_image_url": f"{_IMAGE_HOST}/default/{user_id}",
            "image_url": f"{_IMAGE_HOST}/default/{user_id}",
            "has_image": False,
            "public_metadata": public_metadata or {},
            "private_metadata": private_metadata or {},
            "unsafe_metadata": unsafe_metadata or {},
            "email_addresses": email_addresses,
            "phone_numbers": phone_numbers,
            "web3_wallets": [],
            "passkeys": [],
            "password_enabled": password,
            "two_factor_enabled": False,
            "totp_enabled": False,
            "backup_code_enabled": False,
            "mfa_enabled_at": None,
            "mfa_disabled_at": None,
            "password_last_updated_at": now if password else None,
            "external_accounts": [],
            "saml_accounts": [],
            "enterprise_accounts": [],
            "last_sign_in_at": None,
            "banned": banned,
            "locked": locked,
            "deprovisioned": False,
            "lockout_expires_in_seconds": None,
            "verification_attempts_remaining": 100,
            "updated_at": now,
            "created_at": now,
            "delete_self_enabled": delete_self_enabled,
            "create_organization_enabled": create_organization_enabled,
            "create_organizations_limit": create_organizations_limit,
            "last_active_at": None,
            "legal_accepted_at": None,
            "bypass_client_trust": bypass_client_trust,
        }
        self._users[user_id] = user
        if self._user_list is not None:
            self._user_list.append(user)  # newest id sorts last, so the list stays ordered
        for address in email_addresses:
            self._emails[address["email_address"].lower()] = user_id
        for phone in phone_numbers:
            self._phones[phone["phone_number"]] = user_id
        if username:
            self._usernames[username.lower()] = user_id
        if external_id:
            self._external_ids[external_id] = user_id
        return user

    def _identification(self, kind: str, value: str, reserved: bool, now: int) -> JSON:
        verification = (
            None
            if reserved
            else {
                "object": "verification_admin",
                "status": "verified",
                "strategy": "admin",
                "attempts": None,
                "expire_at": None,
            }
        )
        identification: JSON = {
            "id": self._new_id("idn"),
            "object": kind,
            kind: value,
            "reserved": reserved,
            "verification": verification,
            "linked_to": [],
            "created_at": now,
            "updated_at": now,
        }
        if kind == "email_address":
            identification["matches_sso_connection"] = False
        else:
            identification.update(
                reserved_for_second_factor=False, default_second_factor=False, backup_codes=None
            )
        return identification

    def _users_ascending(self) -> list[JSON]:
        if self._user_list is None:
            self._user_list = list(self._users.values())
        return self._user_list

    def _user(self, request: web.Request) -> JSON:
        user = self._users.get(request.match_info["user_id"])
        if user is None:
            raise _not_found()
        return user

    def _touch(self, record: JSON) -> web.Response:
        record["updated_at"] = self._tick()
        return _json(record)

    # -- users: handlers -------------------------------------------------------------------------

    async def _list_users(self, request: web.Request) -> web.Response:
        query = request.query
        limit = _int_param(query, "limit", 10, 1, 500)
        offset = _int_param(query, "offset", 0, 0, None)
        field, descending = _order(query, "-created_at", _USER_ORDER_KEYS)
        cursor = query.get("starting_after")
        users = self._filter_users(query)
        if cursor is not None:
            if field != "created_at":
                raise _Reject(
                    422,
                    "form_param_value_invalid",
                    "is invalid",
                    "starting_after can only be combined with created_at ordering.",
                    param="starting_after",
                )
            if offset:
                raise _Reject(
                    422,
                    "form_param_value_invalid",
                    "is invalid",
                    "starting_after cannot be combined with a non-zero offset.",
                    param="offset",
                )
            # Ids sort in creation order, so even a deleted user's id is a usable cursor.
            if descending:
                end = bisect.bisect_left(users, cursor, key=_id)
                page = users[max(0, end - limit) : end][::-1]
            else:
                start = bisect.bisect_right(users, cursor, key=_id)
                page = users[start : start + limit]
        elif field == "created_at":
            if descending:
                end = len(users) - offset
                page = users[max(0, end - limit) : end][::-1] if end > 0 else []
            else:
                page = users[offset : offset + limit]
        else:
            page = _sorted(users, _USER_ORDER_KEYS[field], descending)[offset : offset + limit]
        return _json(page)

    async def _count_users(self, request: web.Request) -> web.Response:
        return _json(
            {"object": "total_count", "total_count": len(self._filter_users(request.query))}
        )

    def _filter_users(self, query: MultiMapping[str]) -> list[JSON]:
        """The users matching every filter of ``query``, oldest first."""
        tests: list[Callable[[JSON], bool]] = []
        emails = {value.lower() for value in query.getall("email_address", [])}
        if emails:
            tests.append(
                lambda u: any(e["email_address"].lower() in emails for e in u["email_addresses"])
            )
        phones = set(query.getall("phone_number", []))
        if phones:
            tests.append(lambda u: any(p["phone_number"] in phones for p in u["phone_numbers"]))
        usernames = {value.lower() for value in query.getall("username", [])}
        if usernames:
            tests.append(lambda u: (u["username"] or "").lower() in usernames)
        for name in ("user_id", "external_id"):
            selector = _include_exclude(query.getall(name, []))
            if selector is not None:
                tests.append(_field_test("id" if name == "user_id" else name, selector))
        organizations = _include_exclude(query.getall("organization_id", []))
        if organizations is not None:
            tests.append(lambda u: self._in_organizations(u["id"], organizations))
        for name, part in (
            ("query", "any"),
            ("email_address_query", "email"),
            ("phone_number_query", "phone"),
            ("username_query", "username"),
            ("name_query", "name"),
        ):
            text = query.get(name)
            if text:
                tests.append(_text_test(text, part))
        if "banned" in query:
            banned = _bool_param(query, "banned")
            tests.append(lambda u: u["banned"] is banned)
        for name in (
            "created_at_before",
            "created_at_after",
            "last_active_at_before",
            "last_active_at_after",
            "last_active_at_since",
            "last_sign_in_at_before",
            "last_sign_in_at_after",
        ):
            if name in query:
                field, _, relation = name.rpartition("_at_")
                bound = _int_param(query, name, 0, None, None)
                tests.append(_time_test(f"{field}_at", bound, before=relation == "before"))
        users = self._users_ascending()
        if not tests:
            return users
        return [user for user in users if all(test(user) for test in tests)]

    def _in_organizations(self, user_id: str, selector: Callable[[str], bool]) -> bool:
        return any(
            selector(org_id) for org_id, members in self._members.items() if user_id in members
        )

    async def _create_user(self, request: web.Request) -> web.Response:
        body = await _body(request, _CREATE_USER)
        emails = self._new_identifiers(
            body, "email_address", "email_address_identification_status", self._emails
        )
        phones = self._new_identifiers(
            body, "phone_number", "phone_number_identification_status", self._phones
        )
        username = body.get("username") or None
        if username is not None:
            self._check_username(username, None)
        external_id = body.get("external_id") or None
        if external_id is not None and external_id in self._external_ids:
            raise _taken("external_id", "That external ID is taken.")
        password = body.get("password")
        has_password = bool(password) or bool(body.get("password_digest"))
        if password and len(password) < 8 and not body.get("skip_password_checks"):
            raise _Reject(
                422,
                "form_password_length_too_short",
                "Passwords must be 8 characters or more.",
                param="password",
            )
        user = self._new_user(
            first_name=body.get("first_name"),
            last_name=body.get("last_name"),
            username=username,
            external_id=external_id,
            locale=body.get("locale"),
            emails=emails,
            phones=phones,
            password=has_password,
            public_metadata=_strip_nulls(body.get("public_metadata") or {}),
            private_metadata=_strip_nulls(body.get("private_metadata") or {}),
            unsafe_metadata=_strip_nulls(body.get("unsafe_metadata") or {}),
            banned=bool(body.get("banned")),
            locked=bool(body.get("locked")),
            delete_self_enabled=_flag(body, "delete_self_enabled", True),
            create_organization_enabled=_flag(body, "create_organization_enabled", True),
            create_organizations_limit=body.get("create_organizations_limit"),
            bypass_client_trust=bool(body.get("bypass_client_trust")),
        )
        return _json(user)

    def _new_identifiers(
        self, body: JSON, name: str, status_name: str, taken: Mapping[str, str]
    ) -> list[tuple[str, bool]]:
        values: list[str] = body.get(name) or []
        statuses: list[str] = body.get(status_name) or []
        if statuses and len(statuses) != len(values):
            raise _Reject(
                422,
                "form_param_value_invalid",
                "is invalid",
                f"{status_name} must have exactly one item per {name}.",
                param=status_name,
            )
        if any(status not in ("verified", "reserved") for status in statuses):
            raise _Reject(
                422,
                "form_param_value_invalid",
                "is invalid",
                f"{status_name} items must be 'verified' or 'reserved'.",
                param=status_name,
            )
        seen: set[str] = set()
        for value in values:
            if name == "email_address" and not _EMAIL.match(value):
                raise _Reject(
                    422,
                    "form_param_format_invalid",
                    "is invalid",
                    f"{value!r} is not a valid email address.",
                    param=name,
                )
            key = value.lower() if name == "email_address" else value
            if key in taken or key in seen:
                noun = "email address" if name == "email_address" else "phone number"
                raise _taken(name, f"That {noun} is taken. Please try another.")
            seen.add(key)
        return [
            (value, bool(statuses) and statuses[i] == "reserved") for i, value in enumerate(values)
        ]

    def _check_username(self, username: str, owner: str | None) -> None:
        if not 4 <= len(username) <= 64:
            raise _Reject(
                422,
                "form_username_invalid_length",
                "Username must be between 4 and 64 characters.",
                param="username",
            )
        holder = self._usernames.get(username.lower())
        if holder is not None and holder != owner:
            raise _taken("username", "That username is taken. Please try another.")

    async def _get_user(self, request: web.Request) -> web.Response:
        return _json(self._user(request))

    async def _update_user(self, request: web.Request) -> web.Response:
        user = self._user(request)
        body = await _body(request, _UPDATE_USER)
        if "username" in body:
            username = body["username"] or None
            if username is not None:
                self._check_username(username, user["id"])
            if user["username"]:
                self._usernames.pop(user["username"].lower(), None)
            if username is not None:
                self._usernames[username.lower()] = user["id"]
            user["username"] = username
        if "external_id" in body:
            external_id = body["external_id"] or None
            holder = self._external_ids.get(external_id) if external_id else None
            if holder is not None and holder != user["id"]:
                raise _taken("external_id", "That external ID is taken.")
            if user["external_id"]:
                self._external_ids.pop(user["external_id"], None)
            if external_id:
                self._external_ids[external_id] = user["id"]
            user["external_id"] = external_id
        for name, collection in (
            ("primary_email_address_id", "email_addresses"),
            ("primary_phone_number_id", "phone_numbers"),
        ):
            wanted = body.get(name)
            if wanted is None:
                continue
            match = next((i for i in user[collection] if i["id"] == wanted), None)
            if match is None or match["verification"] is None:
                raise _Reject(
                    422,
                    "form_param_value_invalid",
                    "is invalid",
                    f"{wanted} is not a verified identification of this user.",
                    param=name,
                )
            user[name] = wanted
        for name in ("first_name", "last_name", "locale", "create_organizations_limit"):
            if name in body:
                user[name] = body[name]
        for name in ("delete_self_enabled", "create_organization_enabled", "bypass_client_trust"):
            if body.get(name) is not None:
                user[name] = body[name]
        if body.get("password") or body.get("password_digest"):
            user["password_enabled"] = True
            user["password_last_updated_at"] = self._tick()
        return self._touch(user)

    async def _delete_user(self, request: web.Request) -> web.Response:
        user = self._user(request)
        del self._users[user["id"]]
        self._user_list = None
        for address in user["email_addresses"]:
            self._emails.pop(address["email_address"].lower(), None)
        for phone in user["phone_numbers"]:
            self._phones.pop(phone["phone_number"], None)
        if user["username"]:
            self._usernames.pop(user["username"].lower(), None)
        if user["external_id"]:
            self._external_ids.pop(user["external_id"], None)
        for members in self._members.values():
            members.discard(user["id"])
        return _json({"object": "user", "id": user["id"], "deleted": True})

    async def _merge_user_metadata(self, request: web.Request) -> web.Response:
        user = self._user(request)
        _merge_metadata(user, await _body(request, _USER_METADATA))
        return self._touch(user)

    async def _replace_user_metadata(self, request: web.Request) -> web.Response:
        user = self._user(request)
        _replace_metadata(user, await _body(request, _USER_METADATA))
        return self._touch(user)

    async def _ban_user(self, request: web.Request) -> web.Response:
        user = self._user(request)
        user["banned"] = True
        return self._touch(user)

    async def _unban_user(self, request: web.Request) -> web.Response:
        user = self._user(request)
        user["banned"] = False
        return self._touch(user)

    async def _set_profile_image(self, request: web.Request) -> web.Response:
        user = self._user(request)
        upload = await self._upload(request, user["id"])
        user["has_image"] = True
        user["image_url"] = user["profile_image_url"] = (
            f"{_IMAGE_HOST}/{user['id']}/{_digest(upload)}"
        )
        return self._touch(user)

    async def _delete_profile_image(self, request: web.Request) -> web.Response:
        user = self._user(request)
        user["has_image"] = False
        user["image_url"] = user["profile_image_url"] = f"{_IMAGE_HOST}/default/{user['id']}"
        return self._touch(user)

    async def _upload(self, request: web.Request, target_id: str) -> Upload:
        """Parse the multipart body (already read for the record) and keep its ``file`` part."""
        if request.content_type != "multipart/form-data":
            raise _Reject(
                400,
                "request_body_invalid",
                "multipart/form-data expected",
                f"This operation takes a multipart/form-data body, not {request.content_type!r}.",
            )
        header = f"Content-Type: {request.headers['Content-Type']}\r\n\r\n".encode()
        message = BytesParser(policy=email_policy.HTTP).parsebytes(header + await request.read())
        for part in message.iter_parts():
            if part.get_param("name", header="content-disposition") == "file":
                content = part.get_payload(decode=True)
                if not isinstance(content, bytes) or not content:
                    break
                upload = Upload(
                    target_id=target_id,
                    field="file",
                    filename=part.get_filename(),
                    content_type=part.get_content_type(),
                    content=content,
                )
                if not upload.content_type.startswith("image/"):
                    raise _Reject(
                        400,
                        "unsupported_content_type",
                        "Unsupported content type",
                        f"{upload.content_type} is not an image type.",
                        param="file",
                    )
                self.uploads.append(upload)
                return upload
        raise _Reject(
            422, "form_param_missing", "is missing", "A 'file' part is required.", param="file"
        )

    # -- organizations ---------------------------------------------------------------------------

    def _new_organization(
        self,
        *,
        name: str,
        slug: str | None = None,
        created_by: str | None = None,
        max_allowed_memberships: int = 5,
        public_metadata: JSON | None = None,
        private_metadata: JSON | None = None,
        role_set_key: str | None = None,
    ) -> JSON:
        now = self._tick()
        org_id = self._new_id("org")
        slug = slug or self._free_slug(name)
        organization: JSON = {
            "object": "organization",
            "id": org_id,
            "name": name,
            "slug": slug,
            "image_url": f"{_IMAGE_HOST}/default/{org_id}",
            "has_image": False,
            "max_allowed_memberships": max_allowed_memberships,
            "admin_delete_enabled": True,
            "public_metadata": public_metadata or {},
            "private_metadata": private_metadata or {},
            "pending_invitations_count": 0,
            "created_at": now,
            "updated_at": now,
            "last_active_at": now,
            "role_set_key": role_set_key,
        }
        if created_by:
            organization["created_by"] = created_by
        self._organizations[org_id] = organization
        self._slugs[slug] = org_id
        self._members[org_id] = {created_by} if created_by else set()
        return organization

    def _free_slug(self, name: str) -> str:
        base = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "organization"
        slug, n = base, 1
        while slug in self._slugs:
            n += 1
            slug = f"{base}-{n}"
        return slug

    def _organization(self, request: web.Request) -> JSON:
        key = request.match_info["organization_id"]
        organization = self._organizations.get(key) or self._organizations.get(
            self._slugs.get(key, "")
        )
        if organization is None:
            raise _not_found()
        return organization

    def _render_organization(self, organization: JSON, query: MultiMapping[str]) -> JSON:
        """Add the counts Clerk includes only on request."""
        extra: JSON = {}
        members = self._members[organization["id"]]
        if "include_members_count" in query and _bool_param(query, "include_members_count"):
            extra["members_count"] = len(members)
        if "include_missing_member_with_elevated_permissions" in query and _bool_param(
            query, "include_missing_member_with_elevated_permissions"
        ):
            # Members only come from created_by, who is an admin: none missing while they stay.
            extra["missing_member_with_elevated_permissions"] = not members
        return {**organization, **extra} if extra else organization

    async def _list_organizations(self, request: web.Request) -> web.Response:
        query = request.query
        limit = _int_param(query, "limit", 10, 1, 500)
        offset = _int_param(query, "offset", 0, 0, None)
        field, descending = _order(query, "-created_at", _ORGANIZATION_ORDER_KEYS)
        organizations = list(self._organizations.values())
        text = query.get("query")
        if text:
            needle = text.lower()
            organizations = [
                o
                for o in organizations
                if o["id"] == text or needle in o["name"].lower() or needle in o["slug"].lower()
            ]
        selector = _include_exclude(query.getall("organization_id", []))
        if selector is not None:
            organizations = [o for o in organizations if selector(o["id"])]
        users = _include_exclude(query.getall("user_id", []))
        if users is not None:
            organizations = [
                o for o in organizations if any(users(member) for member in self._members[o["id"]])
            ]
        if field == "members_count":
            ordered = _sorted(organizations, lambda o: len(self._members[o["id"]]), descending)
        elif field == "name":
            ordered = _sorted(organizations, lambda o: o["name"].lower(), descending)
        else:
            ordered = organizations[::-1] if descending else organizations
        page = [self._render_organization(o, query) for o in ordered[offset : offset + limit]]
        return _json({"data": page, "total_count": len(organizations)})

    async def _create_organization(self, request: web.Request) -> web.Response:
        body = await _body(request, _CREATE_ORGANIZATION)
        name = body.get("name")
        if not name:
            raise _Reject(
                422, "form_param_missing", "is missing", "name is required.", param="name"
            )
        _check_name(name)
        slug = body.get("slug")
        if slug is not None:
            self._check_slug(slug, None)
        created_by = body.get("created_by")
        if created_by and created_by not in self._users:
            raise _Reject(
                422,
                "form_param_value_invalid",
                "is invalid",
                f"created_by: no user has the id {created_by}.",
                param="created_by",
            )
        limit = body.get("max_allowed_memberships")
        if limit is not None and limit < 0:
            raise _Reject(
                422,
                "form_param_value_invalid",
                "is invalid",
                "max_allowed_memberships must be 0 or more.",
                param="max_allowed_memberships",
            )
        organization = self._new_organization(
            name=name,
            slug=slug,
            created_by=created_by,
            max_allowed_memberships=5 if limit is None else limit,
            public_metadata=_strip_nulls(body.get("public_metadata") or {}),
            private_metadata=_strip_nulls(body.get("private_metadata") or {}),
            role_set_key=body.get("role_set_key"),
        )
        return _json(organization)

    def _check_slug(self, slug: str, owner: str | None) -> None:
        if not _SLUG.match(slug):
            raise _Reject(
                422,
                "organization_slug_invalid",
                "is invalid",
                "A slug may contain only lowercase letters, digits and single dashes.",
                param="slug",
            )
        holder = self._slugs.get(slug)
        if holder is not None and holder != owner:
            raise _taken("slug", "That slug is taken. Please try another.")

    async def _get_organization(self, request: web.Request) -> web.Response:
        return _json(self._render_organization(self._organization(request), request.query))

    async def _update_organization(self, request: web.Request) -> web.Response:
        organization = self._organization(request)
        body = await _body(request, _UPDATE_ORGANIZATION)
        if body.get("name") is not None:
            _check_name(body["name"])
            organization["name"] = body["name"]
        if body.get("slug") is not None and body["slug"] != organization["slug"]:
            self._check_slug(body["slug"], organization["id"])
            del self._slugs[organization["slug"]]
            organization["slug"] = body["slug"]
            self._slugs[body["slug"]] = organization["id"]
        if body.get("max_allowed_memberships") is not None:
            if body["max_allowed_memberships"] < 0:
                raise _Reject(
                    422,
                    "form_param_value_invalid",
                    "is invalid",
                    "max_allowed_memberships must be 0 or more.",
                    param="max_allowed_memberships",
                )
            organization["max_allowed_memberships"] = body["max_allowed_memberships"]
        if body.get("admin_delete_enabled") is not None:
            organization["admin_delete_enabled"] = body["admin_delete_enabled"]
        if "role_set_key" in body:
            organization["role_set_key"] = body["role_set_key"]
        return self._touch(organization)

    async def _delete_organization(self, request: web.Request) -> web.Response:
        organization = self._organization(request)
        del self._organizations[organization["id"]]
        del self._slugs[organization["slug"]]
        del self._members[organization["id"]]
        return _json(
            {
                "object": "organization",
                "id": organization["id"],
                "slug": organization["slug"],
                "deleted": True,
            }
        )

    async def _merge_organization_metadata(self, request: web.Request) -> web.Response:
        organization = self._organization(request)
        _merge_metadata(organization, await _body(request, _ORGANIZATION_METADATA))
        return self._touch(organization)

    async def _replace_organization_metadata(self, request: web.Request) -> web.Response:
        organization = self._organization(request)
        _replace_metadata(organization, await _body(request, _ORGANIZATION_METADATA))
        return self._touch(organization)

    async def _upload_logo(self, request: web.Request) -> web.Response:
        organization = self._organization(request)
        upload = await self._upload(request, organization["id"])
        organization["has_image"] = True
        organization["image_url"] = f"{_IMAGE_HOST}/{organization['id']}/{_digest(upload)}"
        organization["updated_at"] = self._tick()
        return _json({**organization, "logo_url": organization["image_url"]})

    async def _delete_logo(self, request: web.Request) -> web.Response:
        organization = self._organization(request)
        organization["has_image"] = False
        organization["image_url"] = f"{_IMAGE_HOST}/default/{organization['id']}"
        return self._touch(organization)

    # -- jwks ------------------------------------------------------------------------------------

    async def _get_jwks(self, request: web.Request) -> web.Response:
        self.jwks_fetches += 1
        return _json({"keys": list(self.jwks)})


# -- helpers ---------------------------------------------------------------------------------------


_encode = msgspec.json.Encoder().encode


def _json(payload: object, status: int = 200) -> web.Response:
    return web.Response(body=_encode(payload), status=status, content_type="application/json")


def _error_response(reject: _Reject) -> web.Response:
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
    response = _json(body, reject.status)
    response.headers.update(reject.headers)
    return response


def _not_found() -> _Reject:
    return _Reject(404, "resource_not_found", "not found", "Resource not found")


def _taken(param: str, message: str) -> _Reject:
    return _Reject(422, "form_identifier_exists", message, param=param)


def _check_name(name: str) -> None:
    if len(name) > 256 or "://" in name or "<" in name:
        raise _Reject(
            422,
            "form_param_format_invalid",
            "is invalid",
            "An organization name may not contain URLs or HTML, nor exceed 256 characters.",
            param="name",
        )


def _id(record: JSON) -> str:
    return str(record["id"])


def _base62(number: int) -> str:
    digits = []
    while True:
        number, remainder = divmod(number, 62)
        digits.append(_ALPHABET[remainder])
        if not number:
            return "".join(reversed(digits))


def _digest(upload: Upload) -> str:
    return hashlib.sha256(upload.content).hexdigest()[:16]


def _primary(user: JSON, collection: str, field: str) -> str | None:
    items = user[collection]
    return str(items[0][field]) if items else None


def _searchable(user: JSON, part: str = "any") -> list[str]:
    values: list[str | None] = []
    if part in ("any", "email"):
        values += [e["email_address"] for e in user["email_addresses"]]
    if part in ("any", "phone"):
        values += [p["phone_number"] for p in user["phone_numbers"]]
    if part in ("any", "username"):
        values.append(user["username"])
    if part in ("any", "name"):
        values += [user["first_name"], user["last_name"]]
        values.append(" ".join(n for n in (user["first_name"], user["last_name"]) if n))
    if part == "any":
        values.append(user["id"])
    return [value for value in values if value]


def _field_test(field: str, selector: Callable[[str | None], bool]) -> Callable[[JSON], bool]:
    return lambda record: selector(record[field])


def _text_test(text: str, part: str) -> Callable[[JSON], bool]:
    needle = text.lower()
    return lambda user: any(needle in value.lower() for value in _searchable(user, part))


def _time_test(field: str, bound: int, *, before: bool) -> Callable[[JSON], bool]:
    def test(user: JSON) -> bool:
        value = user[field]
        return value is not None and (value < bound if before else value > bound)

    return test


def _sorted(records: list[JSON], key: Callable[[JSON], Any], descending: bool) -> list[JSON]:
    """Sort by ``key``, records without a value last in either direction, ties by creation."""
    present = [r for r in records if key(r) is not None]
    missing = [r for r in records if key(r) is None]
    present.sort(key=key, reverse=descending)
    return present + missing


def _include_exclude(values: list[str]) -> Callable[[str | None], bool] | None:
    """Clerk's ``+id``/``-id`` lists: keep the included (all when none are), drop the excluded."""
    if not values:
        return None
    include = {v.removeprefix("+") for v in values if not v.startswith("-")}
    exclude = {v[1:] for v in values if v.startswith("-")}

    def selected(value: str | None) -> bool:
        return (not include or value in include) and value not in exclude

    return selected


def _order(query: MultiMapping[str], default: str, fields: Iterable[str]) -> tuple[str, bool]:
    raw = query.get("order_by") or default  # Clerk keeps only the first order_by
    field = raw.lstrip("+-")
    if field not in fields:
        raise _Reject(
            422,
            "form_param_value_invalid",
            "is invalid",
            f"order_by cannot be {raw!r}; use one of {', '.join(sorted(fields))}, optionally"
            " prefixed with + or -.",
            param="order_by",
        )
    return field, raw.startswith("-")


def _int_param(
    query: MultiMapping[str], name: str, default: int, minimum: int | None, maximum: int | None
) -> int:
    raw = query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise _Reject(
            422,
            "form_param_format_invalid",
            "is invalid",
            f"{name} must be an integer.",
            param=name,
        ) from None
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        bounds = (
            f"between {minimum} and {maximum}" if maximum is not None else f"at least {minimum}"
        )
        raise _Reject(
            422, "form_param_value_invalid", "is invalid", f"{name} must be {bounds}.", param=name
        )
    return value


def _bool_param(query: MultiMapping[str], name: str) -> bool:
    raw = query.get(name, "").lower()
    if raw not in ("true", "false"):
        raise _Reject(
            422,
            "form_param_format_invalid",
            "is invalid",
            f"{name} must be true or false.",
            param=name,
        )
    return raw == "true"


def _flag(body: JSON, name: str, default: bool) -> bool:
    value = body.get(name)
    return default if value is None else bool(value)


_KIND_CHECKS: dict[str, Callable[[Any], bool]] = {
    "str": lambda v: isinstance(v, str),
    "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "bool": lambda v: isinstance(v, bool),
    "object": lambda v: isinstance(v, dict),
    "strings": lambda v: isinstance(v, list) and all(isinstance(item, str) for item in v),
}


async def _body(request: web.Request, fields: _Kinds) -> JSON:
    """The JSON object body, checked against ``fields``; an empty body counts as ``{}``."""
    raw = await request.read()
    if not raw.strip():
        return {}
    if request.content_type != "application/json":
        raise _Reject(
            400,
            "request_body_invalid",
            "Request body invalid",
            f"Expected an application/json body, got {request.content_type!r}.",
        )
    try:
        body = msgspec.json.decode(raw)
    except msgspec.DecodeError as exc:
        raise _Reject(
            400, "request_body_invalid", "Request body invalid", f"Malformed JSON: {exc}"
        ) from None
    if not isinstance(body, dict):
        raise _Reject(
            400, "request_body_invalid", "Request body invalid", "Expected a JSON object."
        )
    for name, value in body.items():
        kind = fields.get(name)
        if kind is None:
            raise _Reject(
                422,
                "form_param_unknown",
                "is unknown",
                f"{name} is not a valid parameter for this request.",
                param=name,
            )
        if value is None:
            if not kind.endswith("?"):
                raise _Reject(
                    422,
                    "form_param_nil",
                    "must not be null",
                    f"{name} must not be null.",
                    param=name,
                )
        elif not _KIND_CHECKS[kind.rstrip("?")](value):
            raise _Reject(
                422,
                "form_param_format_invalid",
                "is invalid",
                f"{name} must be of type {kind.rstrip('?')}.",
                param=name,
            )
    return body


def _merge_metadata(record: JSON, body: JSON) -> None:
    """PATCH .../metadata: each given metadata object is deep-merged into the stored one."""
    for name, patch in body.items():
        record[name] = _deep_merge(record[name] or {}, patch)


def _replace_metadata(record: JSON, body: JSON) -> None:
    """PUT .../metadata: each given metadata object replaces the stored one."""
    for name, value in body.items():
        record[name] = _strip_nulls(value)


def _deep_merge(base: JSON, patch: JSON) -> JSON:
    """Clerk's metadata merge: objects merge key by key at every depth; null removes a key."""
    merged = dict(base)
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict):
            current = merged.get(key)
            merged[key] = _deep_merge(current if isinstance(current, dict) else {}, value)
        else:
            merged[key] = value
    return merged


def _strip_nulls(value: JSON) -> JSON:
    return _deep_merge({}, value)
