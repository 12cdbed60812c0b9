"""A FastAPI dependency that yields the request's :class:`~clerk_async.auth.Auth` or answers 401.

.. code-block:: python

    require_user = ClerkAuth(clerk, authorized_parties=["https://example.com"])

    @app.get("/me")
    async def me(auth: Auth = Depends(require_user)) -> dict[str, str | None]:
        return {"user_id": auth.user_id}
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING

from fastapi import HTTPException, Request

from ..auth._request import Auth

if TYPE_CHECKING:
    from .._client import AsyncClerk
    from ..auth._request import AcceptsToken

__all__ = ["ClerkAuth"]


class ClerkAuth:
    """A dependency: authenticates the request with ``clerk.authenticate_request``.

    Signed-out requests are answered 401 (``detail`` is Clerk's reason string) unless
    ``auto_error`` is False, in which case the signed-out :class:`Auth` is returned.
    ``permission`` or ``role``, when given, must be granted by the active organization, or
    the request is answered 403.
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
    ) -> None:
        self.clerk = clerk
        self.authorized_parties = authorized_parties
        self.accepts_token: AcceptsToken = accepts_token
        self.jwt_key = jwt_key
        self.treat_pending_as_signed_out = treat_pending_as_signed_out
        self.permission = permission
        self.role = role
        self.auto_error = auto_error

    async def __call__(self, request: Request) -> Auth:
        state = await self.clerk.authenticate_request(
            request,
            authorized_parties=self.authorized_parties,
            accepts_token=self.accepts_token,
            jwt_key=self.jwt_key,
            treat_pending_as_signed_out=self.treat_pending_as_signed_out,
        )
        auth = state.to_auth()
        if not state.is_signed_in:
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
