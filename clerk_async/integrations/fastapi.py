"""FastAPI glue: an authentication dependency that documents itself, and webhook receiving.

.. code-block:: python

    require_user = ClerkAuth(clerk, authorized_parties=["https://example.com"])

    @app.get("/me")
    async def me(user_id: Annotated[str, Depends(require_user.user_id)]) -> dict[str, str]:
        return {"user_id": user_id}

    @app.get("/org")
    async def org(auth: Annotated[Auth, Depends(require_user)]) -> dict[str, str | None]:
        return {"org_id": auth.org_id}

    @app.post("/webhooks/clerk")
    async def hook(event: Annotated[Event, Depends(verified_webhook())]) -> None: ...
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Collection
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.openapi.models import HTTPBearer as HTTPBearerModel
from fastapi.security.base import SecurityBase

from ..auth._request import Auth
from ._failures import UNAVAILABLE_DETAIL, is_infrastructure_failure, report_infrastructure_failure
from ._webhooks import verified_webhook

if TYPE_CHECKING:
    from .._client import AsyncClerk
    from ..auth._machine_cache import MachineTokenCache
    from ..auth._request import AcceptsToken

__all__ = ["ClerkAuth", "verified_webhook"]


class ClerkAuth(SecurityBase):
    """A dependency: authenticates the request with ``clerk.authenticate_request``.

    It is an HTTP bearer security scheme to FastAPI, so the OpenAPI document declares it and
    the docs page's "Authorize" button sends the token. The ``__session`` cookie is read too.

    Signed-out requests are answered 401 (``detail`` is Clerk's reason string) unless
    ``auto_error`` is False, in which case the signed-out :class:`Auth` is returned.
    ``permission`` or ``role``, when given, must be granted by the active organization, or
    the request is answered 403.

    When no token can be checked at all (the JWKS cannot be loaded because the secret key is
    wrong or Clerk is unreachable, or Clerk cannot be asked about a machine token), the
    cause is logged at WARNING on the ``clerk_async.integrations`` logger and the request is
    answered ``infrastructure_failure_status`` (503 by default; 401 treats it as signed out).

    A ``machine_token_cache`` (:class:`~clerk_async.auth.MachineTokenCache`) keeps opaque
    machine tokens from costing one Backend API call per request.

    Attributes:
        user_id: a dependency yielding the signed-in user's id as ``str``; 401 when signed
            out, 403 when the token is a machine's rather than a user's session.
    """

    def __init__(
        self,
        clerk: AsyncClerk,
        *,
        authorized_parties: Collection[str] | None = None,
        accepts_token: AcceptsToken = "session_token",
        jwt_key: str | None = None,
        treat_pending_as_signed_out: bool = True,
        permission: str | None = None,
        role: str | None = None,
        auto_error: bool = True,
        infrastructure_failure_status: int = 503,
        scheme_name: str = "ClerkAuth",
        machine_token_cache: MachineTokenCache | None = None,
    ) -> None:
        self.clerk = clerk
        self.authorized_parties = authorized_parties
        self.accepts_token: AcceptsToken = accepts_token
        self.jwt_key = jwt_key
        self.treat_pending_as_signed_out = treat_pending_as_signed_out
        self.permission = permission
        self.role = role
        self.auto_error = auto_error
        self.infrastructure_failure_status = infrastructure_failure_status
        self.machine_token_cache = machine_token_cache
        self.model = HTTPBearerModel(
            bearerFormat="JWT", description="A Clerk session token (or machine token)."
        )
        self.scheme_name = scheme_name
        self.user_id: Callable[..., Awaitable[str]] = self._user_id_dependency()

    async def __call__(self, request: Request) -> Auth:
        state = await self.clerk.authenticate_request(
            request,
            authorized_parties=self.authorized_parties,
            accepts_token=self.accepts_token,
            jwt_key=self.jwt_key,
            treat_pending_as_signed_out=self.treat_pending_as_signed_out,
            machine_token_cache=self.machine_token_cache,
        )
        auth = state.to_auth()
        if not state.is_signed_in:
            if is_infrastructure_failure(state):
                report_infrastructure_failure(state, request.url.path)
                if self.infrastructure_failure_status != 401:
                    raise HTTPException(self.infrastructure_failure_status, UNAVAILABLE_DETAIL)
            if self.auto_error:
                raise HTTPException(
                    status_code=401,
                    detail=state.reason,
                    headers={"WWW-Authenticate": "Bearer"},
                )
            return auth
        if (self.permission is not None or self.role is not None) and not auth.has(
            permission=self.permission, role=self.role
        ):
            raise HTTPException(status_code=403, detail="forbidden")
        return auth

    def _user_id_dependency(self) -> Callable[..., Awaitable[str]]:
        async def user_id(auth: Auth) -> str:
            if not auth.is_authenticated:
                raise HTTPException(401, "signed-out", headers={"WWW-Authenticate": "Bearer"})
            if auth.user_id is None:
                raise HTTPException(403, "a user's session token is required, not a machine's")
            return auth.user_id

        # FastAPI reads the signature; naming this instance there makes it a sub-dependency.
        parameter = inspect.Parameter(
            "auth",
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
            annotation=Annotated[Auth, Depends(self)],
        )
        user_id.__signature__ = inspect.Signature([parameter], return_annotation=str)  # type: ignore[attr-defined]
        return user_id
